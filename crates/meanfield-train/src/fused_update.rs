//! The W1 update fused into the gradient product, on the Flex (CPU) backend.
//!
//! The closed-form step ends with `W1 ← a·W1 − lr·∇Hᵀx` (a = 1 − lr·λ/N, the penalty's shrink).
//! Through Burn's tensor API that is a matrix product writing the [N, p] gradient, then an
//! elementwise pass reading W1 and the gradient and writing W1: three extra sweeps over an
//! [N, p] buffer (1.2 GB of memory traffic a step at N = 10^5, p = 784). BLAS libraries fuse the
//! two (`C ← αC + βAB`, PyTorch's `addmm_`); Flex's own matrix kernel, the `gemm` crate, takes
//! the same form. Here it is called directly on W1's storage: one pass, no gradient buffer.
//!
//! This is the one place the project reaches below Burn's tensor API: the tensor is taken to
//! Flex's primitive ([`Tensor::try_into_primitive`], Burn's extension interface), updated in
//! place, and wrapped back. Every other backend (ndarray, wgpu, cuda) keeps the plain tensor
//! path; tests check that both give the same weights.

use burn::tensor::{DType, Device, Tensor};
use burn_flex::{Flex, FlexTensor};

/// Whether `device` runs on the Flex backend without autodiff (where [`fused_hidden_update`]
/// applies).
pub fn supports(device: &Device) -> bool {
    *device == Device::flex() && !device.is_autodiff()
}

/// Whether [`fused_hidden_update`] takes these tensors: all f32 on Flex (see [`supports`]).
pub fn applies(w: &Tensor<2>, d_pre: &Tensor<2>, x: &Tensor<2>) -> bool {
    let flex_f32 = |t: &Tensor<2>| supports(&t.device()) && t.dtype() == DType::F32;
    flex_f32(w) && flex_f32(d_pre) && flex_f32(x)
}

/// `w ← a·w + b·d_preᵀ x` in place, for `w` [N, p], `d_pre` [M, N], `x` [M, p].
///
/// # Panics
/// When [`applies`] is false (the caller takes the tensor path instead) or the shapes do not fit.
pub fn fused_hidden_update(
    w: Tensor<2>,
    d_pre: &Tensor<2>,
    x: &Tensor<2>,
    a: f32,
    b: f32,
) -> Tensor<2> {
    assert!(
        applies(&w, d_pre, x),
        "fused update: W1, ∇H and x must be f32 tensors on Flex"
    );
    let [n, p] = w.dims();
    let [m, n2] = d_pre.dims();
    let [m2, p2] = x.dims();
    assert!(
        n == n2 && m == m2 && p == p2,
        "fused update: W1 [{n}, {p}], ∇H [{m}, {n2}], x [{m2}, {p2}] do not fit"
    );
    let primitive = |t: Tensor<2>| {
        t.try_into_primitive::<Flex>()
            .expect("checked above: the tensor lives on Flex")
    };
    let mut dst = primitive(w);
    if !(dst.is_contiguous() && dst.layout().start_offset() == 0) {
        dst = dst.to_contiguous();
    }
    let lhs = primitive(d_pre.clone());
    let rhs = primitive(x.clone());
    let (d_ptr, d_row_stride, d_col_stride) = strided(&lhs);
    let (x_ptr, x_row_stride, x_col_stride) = strided(&rhs);
    // Copy-on-write: a W1 shared with another tensor is copied first, so the write below never
    // shows through another handle. The engine hands over the only reference (no copy).
    let out = dst.storage_mut::<f32>();
    debug_assert_eq!(out.len(), n * p);
    // `gemm` computes dst := alpha·dst + beta·lhs·rhs for an [n, k] lhs and a [k, p] rhs, given
    // each matrix's column and row strides. lhs = ∇Hᵀ: element (i, j) is d_pre[j, i], so its
    // row stride is d_pre's column stride and vice versa.
    // SAFETY: `out` is this tensor's own storage (unique after `storage_mut`) with n·p elements,
    // row-major; lhs and rhs point into live tensors (`lhs`, `rhs` are held to the end of the
    // call) whose layouts give every (i, j) inside their storage; no argument aliases `out`.
    unsafe {
        gemm::gemm(
            n,
            p,
            m,
            out.as_mut_ptr(),
            1,
            p as isize,
            true,
            d_ptr,
            d_row_stride,
            d_col_stride,
            x_ptr,
            x_col_stride,
            x_row_stride,
            a,
            b,
            false,
            false,
            false,
            parallelism(n, p, m),
        );
    }
    drop((lhs, rhs));
    Tensor::from_primitive::<Flex>(dst)
}

/// The first element and the (row, column) strides of a 2-D f32 Flex tensor.
fn strided(t: &FlexTensor) -> (*const f32, isize, isize) {
    let layout = t.layout();
    let strides = layout.strides();
    let storage = t.storage::<f32>();
    let first = storage[layout.start_offset()..].as_ptr();
    (first, strides[0], strides[1])
}

/// Flex's own rule (`burn_flex::ops::matmul`): threads from 192³ multiply-adds on.
fn parallelism(n: usize, p: usize, m: usize) -> gemm::Parallelism {
    if n.saturating_mul(p).saturating_mul(m) >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}
