//! The step's two large matrix products on the Flex (CPU) backend, below Burn's tensor API: the
//! forward (as `W1 xᵀ`) and the W1 update fused into its gradient product, each by this crate's
//! AVX-512 kernel where it applies ([`crate::flex_forward`], [`crate::flex_update`]) and by the
//! `gemm` crate, Flex's own matrix kernel, called directly elsewhere.
//!
//! **Fused update.** The closed-form step ends with `W1 ← a·W1 − lr·∇Hᵀx` (a = 1 − lr·λ/N, the
//! penalty's shrink). Through Burn's tensor API that is a matrix product writing the [N, p]
//! gradient, then an elementwise pass reading W1 and the gradient and writing W1: three extra
//! sweeps over an [N, p] buffer (1.2 GB of memory traffic a step at N = 10^5, p = 784). BLAS
//! libraries fuse the two (`C ← αC + βAB`, PyTorch's `addmm_`); Flex's own matrix kernel, the
//! `gemm` crate, takes the same form. [`add_transposed_product`] calls it on W1's storage: one
//! pass, no gradient buffer. On CPUs with AVX-512 the pass is [`crate::flex_update`]'s kernel
//! instead (same bits, W1 streamed row after row), and [`add_relu_transposed_product`] also
//! forms ReLU's ∇H inside it; the forward is [`crate::flex_forward`]'s kernel (same bits,
//! without `gemm`'s padding of the batch).
//!
//! **Split over the particles.** Both products are cut into blocks of W1's rows (particles), one
//! block per thread, each block one single-threaded call (`gemm`'s or the kernel's): one fork and
//! one join per product. Through Burn's matmul, `gemm`'s own threading packed W1 into its
//! microkernel's layout on every forward, on the calling thread alone when W1 is small (N ≲ 10^3 at
//! p = 784: 12% of the step's samples, the other core idle), and joined its threads once per depth
//! block.
//!
//! **The forward particle-major.** The forward is computed as `Hᵀ = W1 xᵀ` [N, M], in `gemm`'s own
//! (column-major) orientation with W1 as its right-hand side, which `gemm` reads in place (and so
//! does the kernel): W1 is never packed. The activations and their gradient stay particle-major too
//! ([`crate::gradient`]), so the elementwise passes run on contiguous memory and the fused update
//! reads ∇H in place as well. Measured on a 2-core Intel Xeon (docs/performance.md).
//!
//! **Same bits whatever the split.** A product element is the same sum in the same order
//! whichever block computes it: `gemm` blocks the depth by k alone, and every block keeps more
//! than 64 rows ([`MIN_BLOCK_ROWS`]), past `gemm`'s small-matrix path (both sides ≤ 64), which
//! blocks the depth differently. So the weights do not depend on the thread count (tests
//! `products_do_not_depend_on_the_split` here and `same_weights_with_one_or_two_threads`).
//!
//! This, [`crate::flex_forward`], [`crate::flex_update`], [`crate::flex_logits`] and
//! [`crate::flex_relu`] are where the project reaches below Burn's tensor API:
//! tensors are taken to Flex's primitive ([`Tensor::try_into_primitive`], Burn's extension
//! interface), multiplied, and wrapped back. Every other backend (ndarray, wgpu, cuda) and the autodiff engine keep the
//! plain tensor path; tests check that both give the same weights.

use crate::{flex_forward, flex_update};
use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

/// The fewest rows of W1 a block gets (see the module docs: more than 64 keeps every block on
/// `gemm`'s general path, so the split does not change the bits).
pub const MIN_BLOCK_ROWS: usize = 128;

/// Products of fewer multiply-adds run on one thread (Flex's own rule,
/// `burn_flex::ops::matmul`: threads from 192³ on).
const PARALLEL_WORK: usize = 192 * 192 * 192;

/// Whether `device` runs on the Flex backend without autodiff (where these products apply).
pub fn supports(device: &Device) -> bool {
    *device == Device::flex() && !device.is_autodiff()
}

/// Whether these products (and [`crate::flex_relu`]) take `tensors`: all f32 on Flex without
/// autodiff.
pub fn applies<const D: usize>(tensors: &[&Tensor<D>]) -> bool {
    tensors
        .iter()
        .all(|t| supports(&t.device()) && t.dtype() == DType::F32)
}

/// How many blocks a product over `rows` rows of W1 with `work` multiply-adds is cut into:
/// one per thread of the current rayon pool, each at least [`MIN_BLOCK_ROWS`] rows.
pub fn blocks_for(rows: usize, work: usize) -> usize {
    if work < PARALLEL_WORK {
        1
    } else {
        rayon::current_num_threads()
            .min(rows / MIN_BLOCK_ROWS)
            .max(1)
    }
}

/// `w xᵀ` [N, M] for `w` [N, p] and `x` [M, p]: the forward's pre-activations particle-major
/// (`Hᵀ = W1 xᵀ`, each particle's M values contiguous), in [`blocks_for`] blocks of w's rows.
///
/// # Panics
/// When [`applies`] is false for `w` and `x` or the shapes do not fit.
pub fn product_transposed(w: &Tensor<2>, x: &Tensor<2>) -> Tensor<2> {
    let [m, p] = x.dims();
    let [n, _] = w.dims();
    product_transposed_in(w, x, blocks_for(n, n * p * m), Kernel::Fastest)
}

/// [`product_transposed`] in exactly `blocks` blocks (at least one, at most one per row), with
/// `kernel` (tests compare splits and kernels).
///
/// # Panics
/// As [`product_transposed`]; with [`Kernel::Own`], where [`crate::flex_forward`] does not take
/// a block.
pub fn product_transposed_in(
    w: &Tensor<2>,
    x: &Tensor<2>,
    blocks: usize,
    kernel: Kernel,
) -> Tensor<2> {
    forward_in(w, x, blocks, kernel, false).0
}

/// [`product_transposed`] and ReLU of it, `(Hᵀ, relu(Hᵀ))`, both written by
/// [`crate::flex_forward`]'s kernel as it finishes each element (Flex's ReLU, the same bits as
/// [`crate::flex_relu::relu`]): one pass over [N, M] less than the product and then ReLU.
/// `None` where that kernel does not take the operands ([`forward_kernel_applies`]: off Flex,
/// shapes that do not fit, or shapes it leaves to `gemm`); the caller then takes the two steps.
pub fn product_transposed_relu(w: &Tensor<2>, x: &Tensor<2>) -> Option<(Tensor<2>, Tensor<2>)> {
    let [m, p] = x.dims();
    let [n, _] = w.dims();
    product_transposed_relu_in(w, x, blocks_for(n, n * p * m))
}

/// [`product_transposed_relu`] in exactly `blocks` blocks (tests compare splits).
pub fn product_transposed_relu_in(
    w: &Tensor<2>,
    x: &Tensor<2>,
    blocks: usize,
) -> Option<(Tensor<2>, Tensor<2>)> {
    forward_kernel_applies(w, x, blocks).then(|| {
        let (h, relu) = forward_in(w, x, blocks, Kernel::Own, true);
        (h, relu.expect("asked for"))
    })
}

/// Whether [`crate::flex_forward`]'s kernel takes every block of `w xᵀ` cut in `blocks` blocks:
/// f32 on Flex, shapes that fit, forward strides (the kernel sums each depth block forward;
/// `gemm` reverses it for a negative stride along the depth), the shapes its `takes` admits and
/// x's rows contiguous (its packing loads them as vectors).
pub fn forward_kernel_applies(w: &Tensor<2>, x: &Tensor<2>, blocks: usize) -> bool {
    let ([m, p], [n, p2]) = (x.dims(), w.dims());
    if !(p == p2 && applies(&[w, x]) && Strided::forward_in(w) && Strided::forward_in(x)) {
        return false;
    }
    let (per, last) = block_sizes(n, blocks);
    let w_k = Strided::strides(w).1;
    flex_forward::takes(per, p, m, w_k)
        && flex_forward::takes(last, p, m, w_k)
        && Strided::strides(x).1 == 1
}

/// `w xᵀ` [N, M] in `blocks` blocks, with ReLU of it when `relu` (the kernel only).
fn forward_in(
    w: &Tensor<2>,
    x: &Tensor<2>,
    blocks: usize,
    kernel: Kernel,
    relu: bool,
) -> (Tensor<2>, Option<Tensor<2>>) {
    assert!(
        applies(&[w, x]),
        "Flex product: W1 and x must be f32 tensors on Flex"
    );
    let [m, p] = x.dims();
    let [n, p2] = w.dims();
    assert_eq!(
        p, p2,
        "Flex product: W1 [{n}, {p2}] and x [{m}, {p}] do not fit"
    );
    let own = forward_kernel_applies(w, x, blocks);
    assert!(
        own || kernel != Kernel::Own,
        "forward: the AVX-512 kernel does not take W1 [{n}, {p}] in {blocks} blocks, M = {m} \
         (Kernel::Fastest falls back to gemm)"
    );
    let use_kernel = own && kernel != Kernel::Gemm;
    // Only the kernel writes ReLU's output (its buffer is exposed below).
    assert!(!relu || use_kernel, "forward with ReLU: the kernel only");
    let (ws, xs) = (primitive(w.clone()), primitive(x.clone()));
    let (w_at, x_at) = (Strided::of(&ws), Strided::of(&xs));
    // The outputs are written whole by the blocks below, so they are not zeroed first, and
    // they are handed to Flex as f32 elements: `FlexTensor::empty` zeroes a byte vector and
    // then copies it into 16-byte-aligned storage, two extra passes over [N, M]
    // (docs/performance.md).
    let mut out = Vec::<f32>::with_capacity(n * m);
    let mut out_relu = Vec::<f32>::with_capacity(if relu { n * m } else { 0 });
    let (dst, dst_relu) = (Address(out.as_mut_ptr()), Address(out_relu.as_mut_ptr()));
    let packed = use_kernel.then(|| {
        // SAFETY: every (i, k) is inside x, which `xs` holds; its row stride is forward and its
        // columns contiguous (`forward_kernel_applies`).
        unsafe { flex_forward::Packed::new(m, p, x_at.ptr(), x_at.row as usize) }
    });
    for_blocks(n, blocks, |rows| {
        if let Some(packed) = &packed {
            // SAFETY: the blocks' row ranges of the outputs are disjoint (n·m elements each,
            // `out_relu` only when `relu`); w is live (`ws` held to the end of the function)
            // with every row read inside its storage; `takes` holds for every block.
            unsafe {
                flex_forward::rows(
                    w_at.ptr().offset(rows.start as isize * w_at.row),
                    w_at.row as usize,
                    rows.len(),
                    packed,
                    flex_forward::Out {
                        h: dst.get().add(rows.start * m),
                        relu: if relu {
                            dst_relu.get().add(rows.start * m)
                        } else {
                            std::ptr::null_mut()
                        },
                    },
                );
            }
            return;
        }
        // Rows `rows` of Hᵀ, i.e. columns of H = x w[rows]ᵀ [m, rows.len()], column-major in
        // the [n, m] output (column stride m, row stride 1): `gemm`'s own orientation, so it
        // does not transpose the problem, and w is its right-hand side, read in place (its
        // k-stride is 1) instead of packed on every call. As gemm operands: lhs = x [m, p],
        // rhs = w[rows]ᵀ [p, rows.len()] (its row stride is w's column stride).
        // SAFETY: the blocks' row ranges of the output are disjoint, so no two calls write the
        // same element of `out` (n·m elements); w and x are live (`ws`, `xs` are held to the
        // end of the function) and their layouts give every (i, j) inside their storage.
        unsafe {
            product_into(
                [m, rows.len(), p],
                (dst.get().add(rows.start * m), m as isize, 1),
                (x_at.ptr(), x_at.col, x_at.row),
                (
                    w_at.ptr().offset(rows.start as isize * w_at.row),
                    w_at.row,
                    w_at.col,
                ),
            );
        }
    });
    drop((ws, xs));
    // SAFETY: the blocks cover rows 0..n, and each call (gemm's with `read_dst` false, or the
    // kernel's) writes every element of its rows of the [n, m] outputs without reading it.
    unsafe {
        out.set_len(n * m);
        if relu {
            out_relu.set_len(n * m);
        }
    }
    let tensor = |v: Vec<f32>| {
        Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(v, [n, m])))
    };
    (tensor(out), relu.then(|| tensor(out_relu)))
}

/// `w ← a·w + b·dᵀ x` in place, for `w` [N, p], `d` [M, N], `x` [M, p] (the fused W1 update:
/// `d` = ∇H), in [`blocks_for`] blocks of w's rows.
///
/// # Panics
/// When [`applies`] is false (the caller takes the tensor path instead) or the shapes do not fit.
pub fn add_transposed_product(
    w: Tensor<2>,
    d: &Tensor<2>,
    x: &Tensor<2>,
    a: f32,
    b: f32,
) -> Tensor<2> {
    let [n, p] = w.dims();
    let m = x.dims()[0];
    add_transposed_product_in(w, d, x, a, b, blocks_for(n, n * p * m), Kernel::Fastest)
}

/// Which kernel computes the forward or the fused update: the same bits either way (tests
/// compare them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// This crate's AVX-512 kernel ([`crate::flex_forward`], [`crate::flex_update`]) where it
    /// applies (the shapes its `takes` admits), `gemm` elsewhere: what the step uses.
    Fastest,
    /// `gemm` alone.
    Gemm,
    /// This crate's kernel alone (tests: it panics where the kernel does not apply).
    Own,
}

/// [`add_transposed_product`] in exactly `blocks` blocks, with `kernel` (tests compare splits
/// and kernels).
///
/// # Panics
/// As [`add_transposed_product`]; with [`Kernel::Own`], where the kernel does not take a
/// block.
pub fn add_transposed_product_in(
    w: Tensor<2>,
    d: &Tensor<2>,
    x: &Tensor<2>,
    a: f32,
    b: f32,
    blocks: usize,
    kernel: Kernel,
) -> Tensor<2> {
    assert!(
        applies(&[&w, d, x]),
        "fused update: W1, ∇H and x must be f32 tensors on Flex"
    );
    let [n, p] = w.dims();
    let [m, n2] = d.dims();
    let [m2, p2] = x.dims();
    assert!(
        n == n2 && m == m2 && p == p2,
        "fused update: W1 [{n}, {p}], ∇H [{m}, {n2}], x [{m2}, {p2}] do not fit"
    );
    if n == 0 || p == 0 || m == 0 {
        return w.mul_scalar(a);
    }
    let (ds, xs) = (primitive(d.clone()), primitive(x.clone()));
    let (d_at, x_at) = (Strided::of(&ds), Strided::of(&xs));
    let w = update_blocks(w, blocks, |start, block| {
        let rows = block.len() / p;
        // gemm reverses the depth for a negative stride along it (d's and x's row strides):
        // the kernel's chain runs forward, so it takes only forward strides.
        let own = flex_update::takes(rows, p, m, x_at.col) && d_at.forward() && x_at.forward();
        assert!(
            own || kernel != Kernel::Own,
            "fused update: the AVX-512 kernel does not take a block of {rows} rows, p = {p}, \
             M = {m} (Kernel::Fastest falls back to gemm)"
        );
        if own && kernel != Kernel::Gemm {
            // SAFETY: `block` is this block's rows of W1's own storage (from
            // `update_blocks`: unique, row-major, disjoint from the other blocks); d and x are live
            // (`ds`, `xs` are held to the end of the function), their layouts give every
            // d[i, start + j] and x[i, k] inside their storage, and neither aliases W1;
            // `takes` holds.
            unsafe {
                flex_update::add_rows(flex_update::Operands {
                    w: block.as_mut_ptr(),
                    rows,
                    p,
                    d: flex_update::Gradient::Given {
                        d: d_at.ptr().offset(start as isize * d_at.col),
                        d_i: d_at.row,
                        d_j: d_at.col,
                    },
                    x: x_at.ptr(),
                    x_i: x_at.row,
                    m,
                    a,
                    b,
                });
            }
            return;
        }
        // `gemm` computes dst := alpha·dst + beta·lhs·rhs for an [rows, k] lhs and a [k, p]
        // rhs, given each matrix's column and row strides. lhs = ∇H[:, rows]ᵀ: element
        // (i, j) is d[j, start + i], so its row stride is d's column stride and vice versa.
        // SAFETY: `block` is this block's rows of W1's own storage (from `update_blocks`:
        // unique, row-major, disjoint from the other blocks); d and x are live (`ds`, `xs` are
        // held to the end of the function), their layouts give every (i, j) inside their
        // storage, and neither aliases W1.
        unsafe {
            gemm::gemm(
                rows,
                p,
                m,
                block.as_mut_ptr(),
                1,
                p as isize,
                true,
                d_at.ptr().offset(start as isize * d_at.col),
                d_at.row,
                d_at.col,
                x_at.ptr(),
                x_at.col,
                x_at.row,
                a,
                b,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    });
    drop((ds, xs));
    w
}

/// The fused update with ReLU's ∇H formed inside the kernel, never stored:
/// `w ← a·w + b·Dᵀx` with `D = (G W2ᵀ) ⊙ 1[H > 0]` [M, N], for `w` [N, p], `h_t` = Hᵀ [N, M]
/// (the forward's particle-major pre-activations), `w2` [N, C], `g` [M, C] and `x` [M, p]: the
/// bits of `add_transposed_product(w, &relu_backward(h, w2·gᵀ)ᵀ, x, a, b)` (the step's stored
/// path: [`crate::gradient`]), without its two passes over an [N, M] buffer
/// ([`crate::flex_update::Gradient::Relu`]). `Err(w)`, untouched, where the kernel does not
/// apply ([`relu_update_applies`]); the caller then takes the stored path.
// Ok and Err both hold W1 (a `Tensor`): boxing Err would not make the `Result` smaller.
#[allow(clippy::result_large_err)]
pub fn add_relu_transposed_product(
    w: Tensor<2>,
    h_t: &Tensor<2>,
    w2: &Tensor<2>,
    g: &Tensor<2>,
    x: &Tensor<2>,
    a: f32,
    b: f32,
) -> Result<Tensor<2>, Tensor<2>> {
    let [n, p] = w.dims();
    let m = x.dims()[0];
    add_relu_transposed_product_in(w, h_t, w2, g, x, a, b, blocks_for(n, n * p * m))
}

/// Whether [`add_relu_transposed_product`] takes these operands in `blocks` blocks: f32 on
/// Flex, shapes that fit, h_t and x with contiguous rows and every stride forward, the AVX-512
/// kernel taking every block ([`flex_update::takes`]), `gemm` forming `W2 Gᵀ` in one FMA
/// chain on its microkernel path (3 ≤ C ≤ 512 and more than 256 elements), whose bits the
/// kernel reproduces. At p = 784 it saves the stored path's two passes (3.5–3.6 ms against
/// 4.0–4.6 on a 2-core AMD EPYC, N = 10^4); where x is taken in more than one panel
/// ([`flex_update::panels`]) it keeps each block's ∇H, [rows, M], between the panels.
pub fn relu_update_applies(
    w: &Tensor<2>,
    h_t: &Tensor<2>,
    w2: &Tensor<2>,
    g: &Tensor<2>,
    x: &Tensor<2>,
    blocks: usize,
) -> bool {
    let ([n, p], [n2, m], [n3, c], [m2, c2], [m3, p2]) =
        (w.dims(), h_t.dims(), w2.dims(), g.dims(), x.dims());
    let fits = n == n2 && n == n3 && m == m2 && m == m3 && c == c2 && p == p2;
    if !(fits && applies(&[w, h_t, w2, g, x])) {
        return false;
    }
    let (per, last) = block_sizes(n, blocks);
    [h_t, w2, g, x].into_iter().all(Strided::forward_in)
        && Strided::strides(h_t).1 == 1
        && Strided::strides(x).1 == 1
        && (3..=512).contains(&c)
        && m * n > 256
        && flex_update::takes(per, p, m, 1)
        && flex_update::takes(last, p, m, 1)
}

/// [`add_relu_transposed_product`] in exactly `blocks` blocks (tests compare splits).
// Ok and Err both hold W1 (a `Tensor`): boxing Err would not make the `Result` smaller.
#[allow(clippy::too_many_arguments, clippy::result_large_err)]
pub fn add_relu_transposed_product_in(
    w: Tensor<2>,
    h_t: &Tensor<2>,
    w2: &Tensor<2>,
    g: &Tensor<2>,
    x: &Tensor<2>,
    a: f32,
    b: f32,
    blocks: usize,
) -> Result<Tensor<2>, Tensor<2>> {
    if !relu_update_applies(&w, h_t, w2, g, x, blocks) {
        return Err(w);
    }
    let p = w.dims()[1];
    let [m, c] = g.dims();
    let (hs, w2s, xs, gs) = (
        primitive(h_t.clone()),
        primitive(w2.clone()),
        primitive(x.clone()),
        primitive(g.clone()),
    );
    let (h_at, w2_at, x_at, g_at) = (
        Strided::of(&hs),
        Strided::of(&w2s),
        Strided::of(&xs),
        Strided::of(&gs),
    );
    // Gᵀ [C, M], contiguous: the kernel reads each class's M values as vectors.
    // SAFETY: every (i, k) is inside g, which `gs` holds.
    let g_t: Vec<f32> = (0..c * m)
        .map(|e| unsafe { *g_at.at(e % m, e / m) })
        .collect();
    let w = update_blocks(w, blocks, |start, block| {
        let start = start as isize;
        // SAFETY: `block` is this block's rows of W1's own storage (from `update_blocks`:
        // unique, disjoint from the other blocks); h_t, w2 and x are live (`hs`, `w2s`, `xs`
        // held to the end of the function) with every element the kernel reads inside
        // them (shapes checked by `relu_update_applies`), as is `g_t` (C·M floats); none
        // aliases W1; `takes` holds for every block.
        unsafe {
            flex_update::add_rows(flex_update::Operands {
                w: block.as_mut_ptr(),
                rows: block.len() / p,
                p,
                d: flex_update::Gradient::Relu {
                    h: h_at.ptr().offset(start * h_at.row),
                    h_j: h_at.row,
                    w2: w2_at.ptr().offset(start * w2_at.row),
                    w2_j: w2_at.row,
                    w2_c: w2_at.col,
                    g_t: g_t.as_ptr(),
                    classes: c,
                },
                x: x_at.ptr(),
                x_i: x_at.row,
                m,
                a,
                b,
            });
        }
    });
    drop((hs, w2s, xs, gs));
    Ok(w)
}

/// `dst = lhs · rhs` for an [m, k] lhs and a [k, n] rhs on the calling thread, through `gemm`
/// (the product Burn's matmul makes: `read_dst` false, α = 0, β = 1). Each operand is its
/// first element and its (column, row) strides, in `gemm`'s argument order.
///
/// # Safety
/// Every element of the three matrices lies in live memory for the given strides; dst is
/// writable, not read, and overlaps neither input nor any memory another thread touches.
pub(crate) unsafe fn product_into(
    [m, n, k]: [usize; 3],
    dst: (*mut f32, isize, isize),
    lhs: (*const f32, isize, isize),
    rhs: (*const f32, isize, isize),
) {
    // SAFETY: the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.0,
            dst.1,
            dst.2,
            false,
            lhs.0,
            lhs.1,
            lhs.2,
            rhs.0,
            rhs.1,
            rhs.2,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `gemm`'s AVX-512 f32 tile (rows × columns of its microkernel), an input of its depth
/// blocking.
const GEMM_TILE: (usize, usize) = (64, 6);

/// Whether `gemm` surely multiplies f32 with its AVX-512 kernels here (the tile [`GEMM_TILE`]
/// assumes): the workspace builds `gemm` with its `x86-v4` feature (Cargo.toml), and
/// `gemm-common` picks those kernels at run time where the CPU has AVX-512F; this asks for the
/// whole `x86-v4` level (AVX-512 F, BW, CD, DQ and VL), stricter, so a CPU with part of it
/// leaves every product to `gemm`. Elsewhere `gemm` picks other kernels, other tiles, and so
/// maybe other depth blocks.
pub(crate) fn gemm_on_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512cd")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The depth `gemm` (`gemm-common` 0.19) takes at a time for an [m, n] output (in its own,
/// column-major orientation) with depth k on its AVX-512 kernels
/// ([`gemm_common::cache::kernel_params`]: the L1 cache's geometry and the shape); where
/// [`gemm_on_avx512`] holds, the depth blocks its sums are cut into.
pub(crate) fn gemm_depth_block(m: usize, n: usize, k: usize) -> usize {
    gemm_common::cache::kernel_params(m, n, k, GEMM_TILE.0, GEMM_TILE.1, size_of::<f32>()).kc
}

/// Calls `f(start, rows)` in parallel on `blocks` blocks of W1's rows, `rows` the block's
/// row-major storage from row `start`, and returns W1. The storage is W1's own, written in
/// place: made contiguous from its first element (copied otherwise) and copied too if another
/// handle shares it (copy-on-write, so the write never shows through another tensor; the engine
/// hands over the only reference). Only its first N·p floats are handed out: a contiguous view
/// of a larger tensor's first rows has more storage behind it.
fn update_blocks(w: Tensor<2>, blocks: usize, f: impl Fn(usize, &mut [f32]) + Sync) -> Tensor<2> {
    let [n, p] = w.dims();
    let mut dst = primitive(w);
    if !(dst.is_contiguous() && dst.layout().start_offset() == 0) {
        dst = dst.to_contiguous();
    }
    let per = rows_per_block(n, blocks);
    dst.storage_mut::<f32>()[..n * p]
        .par_chunks_mut(per * p)
        .enumerate()
        .for_each(|(i, rows)| f(i * per, rows));
    Tensor::from_primitive::<Flex>(dst)
}

/// Rows in each block when `rows` rows are cut into `blocks` blocks (the last may be shorter).
fn rows_per_block(rows: usize, blocks: usize) -> usize {
    rows.div_ceil(blocks.clamp(1, rows.max(1))).max(1)
}

/// The rows of a full block and of the last one when `rows` rows are cut into `blocks` blocks.
fn block_sizes(rows: usize, blocks: usize) -> (usize, usize) {
    let per = rows_per_block(rows, blocks);
    (per, rows - per * (rows.div_ceil(per).max(1) - 1))
}

/// Calls `f` on `blocks` contiguous ranges covering `0..rows`, in parallel.
fn for_blocks(rows: usize, blocks: usize, f: impl Fn(std::ops::Range<usize>) + Sync) {
    let per = rows_per_block(rows, blocks);
    (0..rows.div_ceil(per))
        .into_par_iter()
        .for_each(|i| f(i * per..((i + 1) * per).min(rows)));
}

fn primitive(t: Tensor<2>) -> FlexTensor {
    t.try_into_primitive::<Flex>()
        .expect("checked by `applies`: the tensor lives on Flex")
}

/// The first element and the (row, column) strides of a 2-D f32 Flex tensor, as an address
/// that can cross threads (the tensor it points into is held by the caller).
#[derive(Clone, Copy)]
pub(crate) struct Strided {
    first: Address,
    pub(crate) row: isize,
    pub(crate) col: isize,
}

impl Strided {
    pub(crate) fn of(t: &FlexTensor) -> Self {
        let layout = t.layout();
        let strides = layout.strides();
        let storage = t.storage::<f32>();
        Strided {
            first: Address(storage[layout.start_offset()..].as_ptr().cast_mut()),
            row: strides[0],
            col: strides[1],
        }
    }

    /// The (row, column) strides of a 2-D Flex tensor.
    pub(crate) fn strides(t: &Tensor<2>) -> (isize, isize) {
        let s = primitive(t.clone()).layout().strides().to_vec();
        (s[0], s[1])
    }

    /// [`Self::forward`] for a 2-D Flex tensor.
    pub(crate) fn forward_in(t: &Tensor<2>) -> bool {
        let (row, col) = Self::strides(t);
        row >= 0 && col >= 0
    }

    pub(crate) fn ptr(self) -> *const f32 {
        self.first.get()
    }

    /// The address of element (i, j) (computed with wrapping arithmetic; valid to read while
    /// (i, j) is inside the tensor).
    pub(crate) fn at(self, i: usize, j: usize) -> *const f32 {
        self.ptr()
            .wrapping_offset(i as isize * self.row + j as isize * self.col)
    }

    /// Whether both strides are forward (≥ 0). `gemm` reverses a product's depth for a
    /// negative stride along it (Flex's `flip` makes such views), which the crate's kernels,
    /// whose chains run forward, do not.
    pub(crate) fn forward(self) -> bool {
        self.row >= 0 && self.col >= 0
    }
}

/// A pointer shared by the blocks of one product; each block reads or writes its own part.
#[derive(Clone, Copy)]
struct Address(*mut f32);

// SAFETY: an `Address` is only dereferenced inside the products above, while the tensor it
// points into is held, and every block writes a disjoint part of it.
unsafe impl Send for Address {}
unsafe impl Sync for Address {}

impl Address {
    fn get(self) -> *mut f32 {
        self.0
    }
}
