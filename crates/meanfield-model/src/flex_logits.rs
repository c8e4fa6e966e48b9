//! The logits product `A W2` ([M, N] × [N, C], depth N) on Flex, split over threads by depth
//! block, with the bits of Flex's own (`gemm`) product.
//!
//! **Why.** Through Burn's matmul this product runs on one thread: `gemm` splits its work over
//! the output's columns only when a depth block holds at least 48·48·256 multiply-adds, and a
//! [100, 10] output with depth blocks of ~512 holds 0.5 M. At N = 10^5 it took 5.6 ms of a 98 ms
//! step with the other core idle (docs/performance.md).
//!
//! **Same bits.** `gemm` (`gemm-common` 0.19) cuts the depth into blocks of `kc` (from
//! [`gemm_common::cache::kernel_params`]: the L1 cache's geometry and the depth only) and forms
//! each output element as `acc_0`, then `fma(1, acc_b, out) = out + acc_b` for b = 1, 2, …, each
//! `acc_b` an FMA chain over its block from zero. Here each block's `acc_b` is one `gemm` call on
//! that block alone (one block, so that chain exactly), the blocks shared between threads, and the
//! sums taken afterwards in block order. [`applies`] admits only the shapes where `gemm` takes that
//! path with its AVX-512 kernel (whose tile enters `kernel_params`:
//! [`crate::flex_products::gemm_depth_block`]): more than 64 examples (the small-matrix path blocks
//! the depth otherwise), C ≥ 2 and M·C > 256 (its `gemv` and horizontal kernels), every block's
//! depth ≥ 3 (`gevv`, whose sums are not FMAs), forward strides (it reverses the depth for backward
//! ones). Tests (`tests/flex_logits.rs`) compare with Burn's matmul bit for bit.

use crate::flex_products::{
    Strided, applies as on_flex, gemm_depth_block, gemm_on_avx512, product_into,
};
use burn::tensor::{Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

/// Whether [`logits`] takes `act_t` (Aᵀ, [N, M]) and `w2` ([N, C]) and gives Burn's bits:
/// f32 on Flex, `gemm` on its AVX-512 kernels, more than 64 examples, C ≥ 2 and M·C > 256,
/// forward strides (`gemm` reverses the depth for a backward one), and at least two depth
/// blocks, the last of at least 3 (module docs).
pub fn applies(act_t: &Tensor<2>, w2: &Tensor<2>) -> bool {
    let ([n, m], [n2, c]) = (act_t.dims(), w2.dims());
    n == n2
        && on_flex(&[act_t, w2])
        && [act_t, w2].into_iter().all(Strided::forward_in)
        && takes(n, m, c)
}

/// The shape conditions of [`applies`]: depth `n`, `m` examples, `c` classes.
fn takes(n: usize, m: usize, c: usize) -> bool {
    if !(gemm_on_avx512() && m > 64 && c >= 2 && m * c > 256 && n >= 3) {
        return false;
    }
    let kc = depth_block(n, m, c).max(1);
    let blocks = n.div_ceil(kc);
    blocks >= 2 && n - kc * (blocks - 1) >= 3
}

/// The depth blocks `gemm` cuts `n` into for an [m, c] output (module docs).
fn depth_block(n: usize, m: usize, c: usize) -> usize {
    // `gemm` transposes a row-major output: its problem is [c, m] with depth n.
    gemm_depth_block(c, m, n)
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
                product_into(
                    [m, c, len],
                    (out.as_mut_ptr(), 1, c as isize),
                    (a_at.at(start, 0), a_at.row, a_at.col),
                    (w_at.at(start, 0), w_at.col, w_at.row),
                );
            }
        });
    drop((a, w));
    // The blocks' sums in order, into the first block, as gemm adds them (`fma(1, acc, out)`
    // is `out + acc`).
    let (sum, rest) = partial.split_at_mut(m * c);
    for block in rest.chunks(m * c) {
        for (s, b) in sum.iter_mut().zip(block) {
            *s += *b;
        }
    }
    partial.truncate(m * c);
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(partial, [m, c])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A last depth block of 1 or 2 (its own `gemm` call would go to `gevv`, whose sums are not
    /// FMAs) is refused; the widths around it are taken. Searched near 2^18, where such blocks
    /// occur with gemm's blocks of about 512.
    #[test]
    fn short_last_blocks_are_refused() {
        if !gemm_on_avx512() {
            return;
        }
        let (m, c) = (65, 5);
        let mut short = 0;
        for n in 200_000..270_000 {
            let kc = depth_block(n, m, c);
            let last = n - kc * (n.div_ceil(kc) - 1);
            assert_eq!(takes(n, m, c), last >= 3, "N {n}: last block {last}");
            short += usize::from(last < 3);
        }
        assert!(
            short > 0,
            "no width with a short last block in the range searched"
        );
    }
}
