//! The logits product `A W2` ([M, N] × [N, C], depth N) on Flex, split over threads by depth
//! block, with the bits of Flex's own (`gemm`) product.
//!
//! **Why.** Through Burn's matmul this product runs on one thread: `gemm` splits its work over
//! the output's columns only when a depth block holds at least 48·48·256 multiply-adds, and a
//! [100, 10] output with depth blocks of ~512 holds 0.5 M. At N = 10^5 it took 5.6 ms of a 98 ms
//! step with the other core idle (docs/performance.md).
//!
//! **Same bits.** `gemm` (`gemm-common` 0.19) cuts the depth into blocks of `kc` (from
//! [`gemm_common::cache::kernel_params`]: the L1 cache's geometry and the depth only) and
//! forms each output element as `acc_0`, then `fma(1, acc_b, out) = out + acc_b` for
//! b = 1, 2, …, each `acc_b` an FMA chain over its block from zero. Here each block's `acc_b`
//! is one `gemm` call on that block alone (one block, so that chain exactly), the blocks shared
//! between threads, and the sums taken afterwards in block order. [`applies`] admits only the
//! shapes where `gemm` takes that path with its AVX-512 kernel (whose tile, 64 × 6, enters
//! `kernel_params`): more than 64 examples (the small-matrix path blocks the depth otherwise),
//! C ≥ 2 and M·C > 256 (its `gemv` and horizontal kernels), depth ≥ 3 (`gevv`). Tests
//! (`tests/flex_logits.rs`) compare with Burn's matmul bit for bit.

use crate::flex_products::applies as on_flex;
use burn::tensor::{Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

/// `gemm`'s AVX-512 f32 tile (rows × columns of its microkernel), an input of its depth
/// blocking.
const TILE: (usize, usize) = (64, 6);

/// Whether [`logits`] takes `act_t` (Aᵀ, [N, M]) and `w2` ([N, C]) and gives Burn's bits.
pub fn applies(act_t: &Tensor<2>, w2: &Tensor<2>) -> bool {
    let ([n, m], [n2, c]) = (act_t.dims(), w2.dims());
    n == n2
        && on_flex(&[act_t, w2])
        && crate::flex_update::available()
        && m > 64
        && c >= 2
        && m * c > 256
        && n >= 3
        && blocks(n, m, c) >= 2
}

/// The depth blocks `gemm` cuts `n` into for an [m, c] output (module docs).
fn depth_block(n: usize, m: usize, c: usize) -> usize {
    // `gemm` transposes a row-major output: its problem is [c, m] with depth n.
    gemm_common::cache::kernel_params(c, m, n, TILE.0, TILE.1, size_of::<f32>()).kc
}

fn blocks(n: usize, m: usize, c: usize) -> usize {
    n.div_ceil(depth_block(n, m, c).max(1))
}

/// `A W2` [M, C] for `act_t` = Aᵀ [N, M] and `w2` [N, C]: the bits of
/// `act_t.transpose().matmul(w2)`, the depth blocks computed on all threads.
///
/// # Panics
/// When [`applies`] is false.
pub fn logits(act_t: &Tensor<2>, w2: &Tensor<2>) -> Tensor<2> {
    assert!(
        applies(act_t, w2),
        "logits product on Flex: shapes or backend it does not take (check `applies`)"
    );
    let ([n, m], c) = (act_t.dims(), w2.dims()[1]);
    let kc = depth_block(n, m, c);
    let (a, w) = (
        act_t
            .clone()
            .try_into_primitive::<Flex>()
            .expect("checked: on Flex"),
        w2.clone()
            .try_into_primitive::<Flex>()
            .expect("checked: on Flex"),
    );
    let (a_at, w_at) = (Strided::of(&a), Strided::of(&w));
    let mut partial = vec![0.0f32; n.div_ceil(kc) * m * c];
    partial
        .par_chunks_mut(m * c)
        .enumerate()
        .for_each(|(b, out)| {
            let start = b * kc;
            let len = kc.min(n - start);
            // Burn's call (burn_flex::ops::matmul, `matmul_2d_strided`) on depth rows
            // start..start + len: out [m, c] row-major, lhs A [m, len] (A[i, j] = Aᵀ[j, i]),
            // rhs W2's rows.
            // SAFETY: `out` is this block's own [m, c]; a and w are held to the end of the
            // function and every (j, i) and (j, k) read lies inside them.
            unsafe {
                gemm::gemm(
                    m,
                    c,
                    len,
                    out.as_mut_ptr(),
                    1,
                    c as isize,
                    false,
                    a_at.at(start, 0),
                    a_at.row,
                    a_at.col,
                    w_at.at(start, 0),
                    w_at.col,
                    w_at.row,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
    drop((a, w));
    // The blocks' sums in order, as gemm adds them (`fma(1, acc, out)` is `out + acc`).
    let mut sum = partial[..m * c].to_vec();
    for block in partial.chunks(m * c).skip(1) {
        for (s, b) in sum.iter_mut().zip(block) {
            *s += *b;
        }
    }
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(sum, [m, c])))
}

/// A 2-D f32 Flex tensor's first element and strides.
struct Strided {
    first: *const f32,
    row: isize,
    col: isize,
}

// SAFETY: only read, while the tensor it points into is held (see `logits`).
unsafe impl Sync for Strided {}

impl Strided {
    fn of(t: &FlexTensor) -> Self {
        let layout = t.layout();
        Strided {
            first: t.storage::<f32>()[layout.start_offset()..].as_ptr(),
            row: layout.strides()[0],
            col: layout.strides()[1],
        }
    }

    /// The address of element (i, j).
    fn at(&self, i: usize, j: usize) -> *const f32 {
        self.first
            .wrapping_offset(i as isize * self.row + j as isize * self.col)
    }
}
