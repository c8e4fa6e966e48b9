//! The model's gradients against three references: Burn's autodiff, central finite differences
//! of an independent float64 recomputation of the loss, and each other, for both readout modes.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use meanfield_model::{
    Activation, Init, MeanFieldNet, MeanFieldNetConfig, Readout, closed_form_gradients,
    cross_entropy, net::to_vec, one_hot,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 7;
const P: usize = 5;
const C: usize = 3;
const M: usize = 4;

fn batch(seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..M * P).map(|_| rng.random_range(-1.0..1.0f32)).collect();
    let y = (0..M).map(|_| rng.random_range(0..C as u8)).collect();
    (x, y)
}

fn config(readout: Readout, activation: Activation) -> MeanFieldNetConfig {
    // Readout weights of order 1 so both layers' gradients are well above f32 round-off.
    MeanFieldNetConfig::new(N, P)
        .with_classes(C)
        .with_readout(readout)
        .with_hidden_init(Init::Normal(1.0))
        .with_readout_init(Init::Normal(1.0))
        .with_activation(activation)
}

fn model(readout: Readout, activation: Activation, device: &Device) -> MeanFieldNet {
    config(readout, activation).init(device, 3).unwrap()
}

/// The loss recomputed in f64 from the weights, written from the definition of f (no Burn).
fn loss_f64(w1: &[f64], w2: &[f64], x: &[f32], y: &[u8], act: Activation) -> f64 {
    let mut total = 0.0;
    for i in 0..M {
        let mut z = [0f64; C];
        for k in 0..N {
            let h: f64 = (0..P).map(|j| w1[k * P + j] * x[i * P + j] as f64).sum();
            let a = match act {
                Activation::Relu => h.max(0.0),
                Activation::Sigmoid => 1.0 / (1.0 + (-h).exp()),
                Activation::Tanh => h.tanh(),
            };
            for c in 0..C {
                z[c] += w2[k * C + c] * a / N as f64;
            }
        }
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total += lse - z[y[i] as usize];
    }
    total / M as f64
}

fn assert_close(got: &[f32], expected: &[f32], rel: f32, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= rel * scale,
            "{what}[{i}]: {g} vs {e} (tolerance {rel} × max |expected| = {})",
            rel * scale
        );
    }
}

#[test]
fn closed_form_matches_autodiff_for_every_activation_and_readout() {
    let (x, y) = batch(1);
    for readout in [Readout::Trainable, Readout::Fixed] {
        for act in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            let plain = Device::flex();
            let net = model(readout, act, &plain);
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [M, P]), &plain);
            let closed = closed_form_gradients(&net, xt, one_hot(&y, C, &plain));

            let ad = Device::flex().autodiff();
            let net_ad = model(readout, act, &ad).train();
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [M, P]), &ad);
            let loss = cross_entropy(net_ad.forward(xt), one_hot(&y, C, &ad));
            let grads = loss.backward();
            let g1 = net_ad.hidden.val().grad(&grads).expect("W1 has a gradient");
            // f32 products of length ≤ 7: agreement to 1e-5 of the largest entry.
            assert_close(&to_vec(closed.hidden), &to_vec(g1), 1e-5, "grad W1");
            let g2 = net_ad.readout.val().grad(&grads);
            match readout {
                Readout::Trainable => assert_close(
                    &to_vec(closed.readout.expect("trainable readout has a gradient")),
                    &to_vec(g2.expect("autodiff gradient of W2")),
                    1e-5,
                    "grad W2",
                ),
                Readout::Fixed => {
                    assert!(closed.readout.is_none());
                    assert!(g2.is_none(), "a fixed readout must get no gradient");
                }
            }
        }
    }
}

#[test]
fn closed_form_matches_finite_differences_in_f64() {
    let (x, y) = batch(2);
    for readout in [Readout::Trainable, Readout::Fixed] {
        for act in [Activation::Tanh, Activation::Relu] {
            let device = Device::flex();
            let net = model(readout, act, &device);
            let (w1, w2) = net.weights_to_vec();
            let w1: Vec<f64> = w1.iter().map(|&v| v as f64).collect();
            let w2: Vec<f64> = w2.iter().map(|&v| v as f64).collect();
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [M, P]), &device);
            let g = closed_form_gradients(&net, xt, one_hot(&y, C, &device));
            let g1 = to_vec(g.hidden);
            // Central differences with h = 1e-6 in f64: truncation O(h²) ~ 1e-12 (smooth case;
            // for ReLU no pre-activation is within h·|x| of its kink at these random weights),
            // round-off ~ 1e-16/h = 1e-10. The f32 closed form is good to ~1e-7 relative.
            let h = 1e-6;
            for idx in 0..N * P {
                let mut plus = w1.clone();
                plus[idx] += h;
                let mut minus = w1.clone();
                minus[idx] -= h;
                let fd = (loss_f64(&plus, &w2, &x, &y, act) - loss_f64(&minus, &w2, &x, &y, act))
                    / (2.0 * h);
                assert!(
                    (g1[idx] as f64 - fd).abs() < 1e-6 + 1e-4 * fd.abs(),
                    "{readout:?} {act:?} dW1[{idx}]: closed form {} vs finite difference {fd}",
                    g1[idx]
                );
            }
            if let Some(g2) = g.readout {
                let g2 = to_vec(g2);
                for idx in 0..N * C {
                    let mut plus = w2.clone();
                    plus[idx] += h;
                    let mut minus = w2.clone();
                    minus[idx] -= h;
                    let fd = (loss_f64(&w1, &plus, &x, &y, act)
                        - loss_f64(&w1, &minus, &x, &y, act))
                        / (2.0 * h);
                    assert!(
                        (g2[idx] as f64 - fd).abs() < 1e-6 + 1e-4 * fd.abs(),
                        "{act:?} dW2[{idx}]: closed form {} vs finite difference {fd}",
                        g2[idx]
                    );
                }
            }
        }
    }
}

/// With PyTorch's init the logits are O(1/N) (readout U(±1/sqrt N), 1/N output), so the loss
/// starts at ln C = ln 10 ≈ 2.302585 (docs/paper.md, "Model").
#[test]
fn initial_loss_with_pytorch_init_is_ln_10() {
    let device = Device::flex();
    let net = MeanFieldNetConfig::new(1000, 784).init(&device, 0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let m = 100;
    // Standardised inputs, like normalised MNIST pixels.
    let x: Vec<f32> = (0..m * 784)
        .map(|_| rng.random_range(-1.7..1.7f32))
        .collect();
    let y: Vec<u8> = (0..m).map(|_| rng.random_range(0..10u8)).collect();
    let xt = Tensor::<2>::from_data(TensorData::new(x, [m, 784]), &device);
    let loss: f32 = cross_entropy(net.forward(xt), one_hot(&y, 10, &device)).into_scalar();
    assert!(
        (loss as f64 - 10f64.ln()).abs() < 1e-3,
        "initial loss {loss}, expected ln 10 = {}",
        10f64.ln()
    );
}

#[test]
fn forward_matches_f64_recomputation() {
    let (x, y) = batch(4);
    let device = Device::flex();
    for act in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        let net = model(Readout::Trainable, act, &device);
        let (w1, w2) = net.weights_to_vec();
        let w1: Vec<f64> = w1.iter().map(|&v| v as f64).collect();
        let w2: Vec<f64> = w2.iter().map(|&v| v as f64).collect();
        let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [M, P]), &device);
        let loss: f32 = cross_entropy(net.forward(xt), one_hot(&y, C, &device)).into_scalar();
        let expected = loss_f64(&w1, &w2, &x, &y, act);
        assert!(
            (loss as f64 - expected).abs() < 1e-5,
            "{act:?}: {loss} vs {expected}"
        );
    }
}

#[test]
fn fixed_readout_rejects_width_dependent_law() {
    let err = MeanFieldNetConfig::new(10, 5)
        .with_readout(Readout::Fixed)
        .init(&Device::flex(), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`readout_init`"), "{err}");
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let device = Device::flex();
    let cfg = MeanFieldNetConfig::new(20, 6);
    let a = cfg.init(&device, 1).unwrap().weights_to_vec();
    let b = cfg.init(&device, 1).unwrap().weights_to_vec();
    let c = cfg.init(&device, 2).unwrap().weights_to_vec();
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
}
