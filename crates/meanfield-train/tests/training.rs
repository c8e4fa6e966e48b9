//! The training step and loop through the library: one step against a hand computation in f64,
//! the two engines against each other, the fixed readout staying fixed, and learning on the
//! synthetic task.

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_model::{Activation, Init, MeanFieldNetConfig, Readout, one_hot};
use meanfield_optim::ScaledSgd;
use meanfield_train::engine::{HiddenUpdate, StepEngine};
use meanfield_train::trainer::{RunOptions, train};
use meanfield_train::{Engine, TrainConfig};

const N: usize = 3;
const P: usize = 2;
const C: usize = 2;

fn hand_weights() -> (Vec<f32>, Vec<f32>) {
    // W1 [3, 2], W2 [3, 2]; neuron 2 has a negative pre-activation on the first example.
    (
        vec![0.5, -0.25, 1.0, 0.75, -1.0, 0.5],
        vec![1.0, -1.0, 0.5, 2.0, -1.5, 0.25],
    )
}

/// Eq. (2) for one step, written out in f64 loops from the definitions (docs/paper.md): logits
/// z = (1/N) Σ_k a_k relu(w_k·x), loss = mean_i CE(z_i, y_i), W ← W − lr ∇W.
fn hand_step(lr: f64, x: &[f64], y: &[usize], trainable: bool) -> (Vec<f64>, Vec<f64>) {
    let (w1, w2) = hand_weights();
    let w1: Vec<f64> = w1.iter().map(|&v| v as f64).collect();
    let w2: Vec<f64> = w2.iter().map(|&v| v as f64).collect();
    let m = y.len();
    let (mut g1, mut g2) = (vec![0.0; N * P], vec![0.0; N * C]);
    for i in 0..m {
        let xi = &x[i * P..(i + 1) * P];
        let h: Vec<f64> = (0..N)
            .map(|k| w1[k * P] * xi[0] + w1[k * P + 1] * xi[1])
            .collect();
        let a: Vec<f64> = h.iter().map(|v| v.max(0.0)).collect();
        let z: Vec<f64> = (0..C)
            .map(|c| (0..N).map(|k| w2[k * C + c] * a[k]).sum::<f64>() / N as f64)
            .collect();
        let s: f64 = z.iter().map(|v| v.exp()).sum();
        // ∂loss/∂z_c = (softmax_c − 1[c = y]) / M
        let dz: Vec<f64> = (0..C)
            .map(|c| ((z[c].exp() / s) - (c == y[i]) as u8 as f64) / m as f64)
            .collect();
        for k in 0..N {
            for c in 0..C {
                g2[k * C + c] += dz[c] * a[k] / N as f64;
            }
            let da: f64 = (0..C).map(|c| dz[c] * w2[k * C + c] / N as f64).sum();
            let dh = if h[k] > 0.0 { da } else { 0.0 };
            for j in 0..P {
                g1[k * P + j] += dh * xi[j];
            }
        }
    }
    let new1 = w1.iter().zip(&g1).map(|(w, g)| w - lr * g).collect();
    let new2 = if trainable {
        w2.iter().zip(&g2).map(|(w, g)| w - lr * g).collect()
    } else {
        w2
    };
    (new1, new2)
}

fn engine(kind: Engine, readout: Readout, device: &Device) -> StepEngine {
    let (h, r) = hand_weights();
    let model = MeanFieldNetConfig::new(N, P)
        .with_classes(C)
        .with_readout(readout)
        .with_readout_init(Init::Uniform(1.0))
        .with_activation(Activation::Relu)
        .init_with(device, h, r)
        .unwrap();
    StepEngine::new(kind, model, ScaledSgd::new(0.0, N))
}

#[test]
fn one_step_matches_hand_computation_for_both_engines_and_readouts() {
    let x = [1.0f32, 2.0, -0.5, 1.5];
    let y = [1u8, 0];
    let lr = 3.0; // γ N^β with γ = 1, N = 3, β = 1
    for kind in [Engine::ClosedForm, Engine::Autodiff] {
        for readout in [Readout::Trainable, Readout::Fixed] {
            let plain = Device::flex();
            let mut e = engine(kind, readout, &plain);
            let bd = e.batch_device(&plain);
            let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [2, P]), &bd);
            e.step(lr, xt, one_hot(&y, C, &bd), None);
            let (w1, w2) = e.model().weights_to_vec();
            let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let (e1, e2) = hand_step(lr, &xf, &[1, 0], readout == Readout::Trainable);
            for (got, want) in w1.iter().zip(&e1).chain(w2.iter().zip(&e2)) {
                // f32 arithmetic on O(1) values: 1e-5 absolute.
                assert!(
                    (*got as f64 - want).abs() < 1e-5,
                    "{kind:?} {readout:?}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn fixed_readout_stays_bit_identical_and_engines_agree() {
    let device = Device::flex();
    let cfg = MeanFieldNetConfig::new(50, 8)
        .with_readout(Readout::Fixed)
        .with_readout_init(Init::Uniform(1.0))
        .with_hidden_init(Init::Normal(1.0));
    let x: Vec<f32> = (0..16 * 8)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let y: Vec<u8> = (0..16).map(|i| (i % 10) as u8).collect();
    let mut results = Vec::new();
    for kind in [Engine::ClosedForm, Engine::Autodiff] {
        let model = cfg.init(&device, 9).unwrap();
        let (h0, r0) = model.weights_to_vec();
        let mut e = StepEngine::new(kind, model, ScaledSgd::new(0.1, 50));
        let bd = e.batch_device(&device);
        for _ in 0..5 {
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [16, 8]), &bd);
            e.step(50.0, xt, one_hot(&y, 10, &bd), None);
        }
        let (h, r) = e.model().weights_to_vec();
        assert_eq!(r, r0, "{kind:?}: the fixed readout changed");
        assert_ne!(h, h0, "{kind:?}: the hidden weights did not move");
        results.push(h);
    }
    let scale = results[0].iter().fold(0f32, |m, v| m.max(v.abs()));
    for (a, b) in results[0].iter().zip(&results[1]) {
        assert!(
            (a - b).abs() < 1e-5 * scale,
            "closed form {a} vs autodiff {b}"
        );
    }
}

/// The synthetic teacher task is learnable: chance is about 10–20% (the teacher's classes are
/// unbalanced); a few hundred steps reach far above it.
#[test]
fn learns_the_synthetic_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TrainConfig::from_preset("synthetic").unwrap();
    config.out = Some(dir.path().join("run"));
    config.steps = Some(400);
    let outcome = train(&config, RunOptions::quiet()).unwrap();
    let s = outcome.summary();
    let initial =
        meanfield_train::metrics::read(&dir.path().join("run/metrics.csv")).unwrap()[0].clone();
    assert!(
        s.last.test_accuracy > 0.6 && s.last.test_accuracy > initial.test_accuracy.unwrap() + 0.3,
        "test accuracy {} (initial {:?})",
        s.last.test_accuracy,
        initial.test_accuracy
    );
    assert!(s.last.train_loss < initial.train_loss.unwrap() - 0.5);
    // A second call with the same setting reuses the finished run.
    let again = train(&config, RunOptions::quiet()).unwrap();
    assert!(matches!(again, meanfield_train::Outcome::Reused { .. }));
}

/// Figure 2's one-particle reduction: when every particle starts at the same point, an explicit
/// N-neuron run keeps all rows identical, and they equal the single particle of the reduced run
/// (width-1 network, per-particle step γN^(β−1)). Both β of the figure, with a trainable and a
/// fixed readout, and with the penalty on (it is per particle too). The tolerance covers the
/// float32 rounding of the explicit run's mean over N identical terms (relative ~1e-7 a step).
#[test]
fn one_particle_reduction_equals_the_explicit_run() {
    use meanfield_train::weights;
    let dir = tempfile::tempdir().unwrap();
    for (beta, readout, penalty) in [(0.75, "trainable", 0.0), (1.0, "fixed", 0.1)] {
        let mut config = TrainConfig::from_preset("synthetic").unwrap();
        config.width = 300;
        config.beta = beta;
        config.readout = readout.parse().unwrap();
        config.penalty = penalty;
        config.init = Init::Const(0.01);
        config.readout_init = Init::Const(0.01);
        config.steps = Some(60);
        config.out = Some(dir.path().join(format!("explicit-{beta}")));
        let explicit = train(&config, RunOptions::quiet()).unwrap();
        let reduced_config = TrainConfig {
            identical_particles: true,
            out: Some(dir.path().join(format!("reduced-{beta}"))),
            ..config.clone()
        };
        let reduced = train(&reduced_config, RunOptions::quiet()).unwrap();
        let (p, c) = (config.synthetic.dim, config.synthetic.classes);
        let h = weights::load(&explicit.dir().join(weights::HIDDEN), [300, p]).unwrap();
        let r = weights::load(&explicit.dir().join(weights::READOUT), [300, c]).unwrap();
        let h1 = weights::load(&reduced.dir().join(weights::HIDDEN), [1, p]).unwrap();
        let r1 = weights::load(&reduced.dir().join(weights::READOUT), [1, c]).unwrap();
        // The particles moved (the test is not comparing two initialisations).
        let moved = h1.iter().map(|v| (v - 0.01).abs()).fold(0.0f32, f32::max);
        assert!(moved > 1e-3, "β = {beta}: the particle moved only {moved}");
        for (rows, one, d) in [(&h, &h1, p), (&r, &r1, c)] {
            for row in rows.chunks_exact(d) {
                for (a, b) in row.iter().zip(one.iter()) {
                    assert!(
                        (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
                        "β = {beta}: explicit {a} vs reduced {b}"
                    );
                }
            }
        }
        // The same logits, so the same scores.
        let (e, s) = (explicit.summary().last, reduced.summary().last);
        assert!((e.train_loss - s.train_loss).abs() < 1e-4, "{e:?} vs {s:?}");
        assert_eq!(reduced.summary().width, 300);
    }
}

/// The reduction refuses settings where particles would not stay identical.
#[test]
fn one_particle_reduction_rejects_distinct_particles() {
    let mut config = TrainConfig {
        identical_particles: true,
        init: Init::Const(0.01),
        readout_init: Init::Const(0.01),
        ..TrainConfig::default()
    };
    assert!(config.validate().is_ok());
    config.init = Init::Pytorch;
    let e = config.validate().unwrap_err().to_string();
    assert!(
        e.contains("identical_particles") && e.contains("`init` is pytorch"),
        "{e}"
    );
    config.init = Init::Const(0.01);
    config.temperature = 0.5;
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains("noise"), "{e}");
}

/// The three W1 update paths give the same weights: whole (∇W1 formed with Burn's matmul,
/// then the step), blocked (blocks of 1, 7 and 64 rows over N = 50: the last block short, and
/// one block larger than N) and fused (one `gemm` call adding −lr·∇Hᵀx into W1, Flex's default),
/// with the penalty on and a trainable readout, over 5 steps. Same products per entry, so only
/// float rounding may differ: 1e-6 relative to the largest weight (measured differences are
/// below 1e-7).
#[test]
fn update_paths_agree() {
    let device = Device::flex();
    let cfg = MeanFieldNetConfig::new(50, 8).with_hidden_init(Init::Normal(1.0));
    let x: Vec<f32> = (0..16 * 8)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let y: Vec<u8> = (0..16).map(|i| (i % 10) as u8).collect();
    let run = |path: HiddenUpdate| {
        let mut e = StepEngine::new(
            Engine::ClosedForm,
            cfg.init(&device, 3).unwrap(),
            ScaledSgd::new(0.1, 50),
        );
        assert_eq!(
            e.hidden_update(),
            Some(HiddenUpdate::Fused),
            "Flex's default"
        );
        e.set_hidden_update(path);
        for _ in 0..5 {
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [16, 8]), &device);
            e.step(50.0, xt, one_hot(&y, 10, &device), None);
        }
        e.model().weights_to_vec()
    };
    let (whole_h, whole_r) = run(HiddenUpdate::Whole);
    let (init_h, _) = cfg.init(&device, 3).unwrap().weights_to_vec();
    assert_ne!(whole_h, init_h, "the weights did not move");
    let scale = whole_h.iter().fold(0f32, |m, v| m.max(v.abs()));
    let paths = [
        HiddenUpdate::Fused,
        HiddenUpdate::Blocks(1),
        HiddenUpdate::Blocks(7),
        HiddenUpdate::Blocks(64),
    ];
    for path in paths {
        let (h, r) = run(path);
        for (a, b) in h.iter().zip(&whole_h).chain(r.iter().zip(&whole_r)) {
            assert!((a - b).abs() <= 1e-6 * scale, "{path:?}: {a} vs {b}");
        }
    }
}

/// The block policy (chosen by measurement, README Performance): whole below 2^27 entries.
#[test]
fn block_policy() {
    use meanfield_train::engine::default_block_rows;
    assert_eq!(default_block_rows(100_000, 784), None);
    assert_eq!(default_block_rows(100_000, 3072), Some((1 << 25) / 3072));
    assert_eq!(default_block_rows(1_000_000, 784), Some((1 << 25) / 784));
    assert_eq!(default_block_rows(usize::MAX, 1 << 30), Some(1024));
}
