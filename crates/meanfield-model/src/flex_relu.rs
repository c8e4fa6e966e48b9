//! ReLU on Flex over both threads ([`relu`]), and its backward `grad ⊙ 1[h > 0]` in one pass,
//! in place on `grad` ([`relu_backward`]).
//!
//! Through Burn's tensor API it is three passes over the [N, M] buffers, each with its own
//! allocation: the comparison `h > 0` (a bool tensor), its conversion to a 0/1 float mask, and
//! the product with `grad` (20 ms at N = 10^5, M = 100 on a 2-core machine, [`crate::activation`]).
//! Here each element is `grad · m` with `m` the same 0.0 or 1.0 the mask holds, one IEEE
//! product as the tensor path's, so the bits are the same (signed zeros and NaN included:
//! `tests/activation_flex.rs`); it reads `h` and rewrites `grad`'s own storage.
//!
//! Like [`crate::flex_products`], this reaches below Burn's tensor API (Flex's primitive); other
//! backends, autodiff and layouts it does not take keep the tensor path.

use burn::tensor::Tensor;
use burn_flex::Flex;
use rayon::prelude::*;

/// Elements per task: large enough that a task's work outweighs its scheduling.
const CHUNK: usize = 1 << 16;

/// Whether [`relu_backward`] takes `h` and `grad`: f32 tensors of one shape on Flex without
/// autodiff, each contiguous from its first element.
pub fn takes<const D: usize>(h: &Tensor<D>, grad: &Tensor<D>) -> bool {
    crate::flex_products::applies(&[h, grad]) && h.dims() == grad.dims() && whole(h) && whole(grad)
}

/// Whether `t` lives on Flex contiguous from its first element (its storage, from 0, is it).
fn whole<const D: usize>(t: &Tensor<D>) -> bool {
    t.clone()
        .try_into_primitive::<Flex>()
        .is_ok_and(|p| p.is_contiguous() && p.layout().start_offset() == 0)
}

/// `grad ⊙ 1[h > 0]`, in place on `grad`'s storage (copied first if another handle shares it).
///
/// # Panics
/// When [`takes`] is false for `h` and `grad` (the caller takes the tensor path instead).
pub fn relu_backward<const D: usize>(h: &Tensor<D>, grad: Tensor<D>) -> Tensor<D> {
    assert!(
        takes(h, &grad),
        "ReLU backward on Flex: h and grad must be contiguous f32 tensors of one shape on Flex"
    );
    let hs = h
        .clone()
        .try_into_primitive::<Flex>()
        .expect("checked by `takes`: the tensor lives on Flex");
    let mut gs = grad
        .try_into_primitive::<Flex>()
        .expect("checked by `takes`: the tensor lives on Flex");
    let n = hs.layout().shape().num_elements();
    let pre = &hs.storage::<f32>()[..n];
    let out = &mut gs.storage_mut::<f32>()[..n];
    out.par_chunks_mut(CHUNK)
        .zip(pre.par_chunks(CHUNK))
        .for_each(|(g, h)| {
            for (g, h) in g.iter_mut().zip(h) {
                // The mask's own value times grad: the tensor path's product, bit for bit.
                *g *= if *h > 0.0 { 1.0 } else { 0.0 };
            }
        });
    drop(hs);
    Tensor::from_primitive::<Flex>(gs)
}

/// Flex's ReLU of one element (`burn_flex`'s `activation.rs`): `x` when it is NaN or above 0,
/// +0 otherwise (so −0 becomes +0).
pub(crate) fn relu_of(x: f32) -> f32 {
    if x.is_nan() || x > 0.0 { x } else { 0.0 }
}

/// Whether [`relu`] takes `h`: an f32 tensor on Flex without autodiff, contiguous from its
/// first element.
pub fn takes_forward<const D: usize>(h: &Tensor<D>) -> bool {
    crate::flex_products::applies(&[h]) && whole(h)
}

/// `relu(h)` into a new tensor, over the threads: Flex's own ReLU ([`relu_of`]: NaN kept, −0 to
/// +0), element for element, so the same bits; Flex runs it on one thread (an [N, M] pass of 2 ms
/// at N = 10^5, M = 100 on a 2-core AMD EPYC).
///
/// # Panics
/// When [`takes_forward`] is false (the caller takes the tensor path instead).
pub fn relu<const D: usize>(h: &Tensor<D>) -> Tensor<D> {
    assert!(
        takes_forward(h),
        "ReLU on Flex: h must be a contiguous f32 tensor on Flex"
    );
    let hs = h
        .clone()
        .try_into_primitive::<Flex>()
        .expect("checked by `takes_forward`: the tensor lives on Flex");
    let shape = hs.layout().shape().clone();
    let n = shape.num_elements();
    let src = &hs.storage::<f32>()[..n];
    let out: Vec<f32> = src
        .par_iter()
        .with_min_len(CHUNK)
        .map(|&x| relu_of(x))
        .collect();
    drop(hs);
    Tensor::from_primitive::<Flex>(burn_flex::FlexTensor::from_data(
        burn::tensor::TensorData::new(out, shape),
    ))
}
