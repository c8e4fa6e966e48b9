//! ReLU on Flex over the threads (`meanfield_model::flex_relu::relu`) against Flex's own, and
//! ReLU's backward on Flex in one pass (`meanfield_model::flex_relu`) against the tensor path it
//! replaces, `grad * (h > 0).float()`: the same bits on values that probe every case of the
//! product (signed zeros, subnormals, infinities, NaN in either input), across several of its
//! parallel chunks; a `grad` shared with another handle is left as it was; layouts it does not
//! take are refused and go the tensor path.

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_model::Activation;
use meanfield_model::flex_relu::{relu, relu_backward, takes, takes_forward};
use meanfield_model::net::to_vec;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Values drawn among the awkward cases and ordinary ones.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let special = [
        0.0,
        -0.0,
        f32::MIN_POSITIVE / 4.0,
        -f32::MIN_POSITIVE / 4.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0,
        -1.0,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            if rng.random_range(0..4) == 0 {
                special[rng.random_range(0..special.len())]
            } else {
                rng.random_range(-2.0..2.0f32)
            }
        })
        .collect()
}

fn tensor(v: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(v, shape), &Device::flex())
}

fn bits(t: Tensor<2>) -> Vec<u32> {
    to_vec(t).iter().map(|v| v.to_bits()).collect()
}

#[test]
fn one_pass_gives_the_tensor_paths_bits() {
    // [N, M] with N·M over three of its 65536-element chunks, and a ragged last one.
    let shape = [2001, 100];
    let len = shape[0] * shape[1];
    let (h, grad) = (tensor(values(len, 1), shape), tensor(values(len, 2), shape));
    let want = bits(grad.clone() * h.clone().greater_elem(0.0).float());
    let kept = bits(grad.clone());
    // `grad` shared with another handle: written on a copy, the other handle unchanged.
    let shared = grad.clone();
    assert!(takes(&h, &grad), "f32 on Flex, contiguous: taken");
    let got = relu_backward(&h, grad);
    assert_eq!(bits(got), want);
    assert_eq!(bits(shared.clone()), kept);
    // The public path, Activation::Relu, takes it too.
    assert_eq!(
        bits(Activation::Relu.backward(h.clone(), h.clone(), shared)),
        want
    );
    // Some of the awkward cases are there (the draw is not all ordinary).
    let hv = to_vec(h);
    assert!(hv.iter().any(|v| v.is_nan()) && hv.iter().any(|v| *v == 0.0 && v.is_sign_negative()));
}

#[test]
fn layouts_it_does_not_take_go_the_tensor_path() {
    let shape = [300, 7];
    let grad = tensor(values(2100, 4), shape);
    // Not taken: a transposed (strided) h, a row slice (contiguous, but from an offset), h of
    // another shape.
    let h_t = tensor(values(2100, 5), [7, 300]).transpose();
    let sliced = tensor(values(2107, 6), [301, 7]).slice([1..301, 0..7]);
    let other = tensor(values(2100, 7), [700, 3]);
    for h in [&h_t, &sliced, &other] {
        assert!(!takes(h, &grad));
    }
    // Through Activation::Relu they still give the tensor path's bits.
    for h in [h_t, sliced] {
        let expected = bits(grad.clone() * h.clone().greater_elem(0.0).float());
        assert_eq!(
            bits(Activation::Relu.backward(h.clone(), h, grad.clone())),
            expected
        );
    }
}

#[test]
fn grad_and_h_one_tensor() {
    // The same tensor as both: read from it, written on a copy (copy-on-write), the tensor
    // path's bits, the caller's handle unchanged.
    let t = tensor(values(5000, 8), [500, 10]);
    let kept = bits(t.clone());
    let expected = bits(t.clone() * t.clone().greater_elem(0.0).float());
    assert!(takes(&t, &t));
    assert_eq!(bits(relu_backward(&t, t.clone())), expected);
    assert_eq!(bits(t), kept);
}

/// ReLU over the threads gives Flex's own ReLU's bits (NaN kept, −0 to +0, subnormals, ±∞)
/// across several of its chunks, leaves its input as it was, and refuses a transposed view.
#[test]
fn forward_gives_flexs_bits() {
    let shape = [2001, 100];
    let h = tensor(values(shape[0] * shape[1], 3), shape);
    let kept = bits(h.clone());
    let want = bits(burn::tensor::activation::relu(h.clone()));
    assert!(takes_forward(&h));
    assert_eq!(bits(relu(&h)), want);
    assert_eq!(bits(h.clone()), kept, "the input changed");
    assert_eq!(
        bits(Activation::Relu.forward(h.clone())),
        want,
        "Activation::forward takes the same path"
    );
    assert!(!takes_forward(&h.clone().transpose()));
    let t = h.clone().transpose();
    assert_eq!(
        bits(Activation::Relu.forward(t.clone())),
        bits(burn::tensor::activation::relu(t)),
        "a transposed view goes to Flex's own"
    );
}
