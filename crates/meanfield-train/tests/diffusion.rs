//! The particle diffusion (6) against references computed here in f64 from per-example
//! gradients: its noise has each particle's covariance Σ/M and no correlation across particles
//! (SGD's batch noise, at the same state, has the same marginals but is correlated), its
//! full-set drift is the full-data gradient, and a stopped run resumes exactly.

// The references index particles, examples and coordinates as the formulas do.
#![allow(clippy::needless_range_loop)]

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_data::{Dataset, Sampling};
use meanfield_model::{Activation, Init, MeanFieldNet, MeanFieldNetConfig, Readout};
use meanfield_optim::ScaledSgd;
use meanfield_train::diffusion::DiffusionStep;
use meanfield_train::engine::StepEngine;
use meanfield_train::trainer::{RunOptions, train};
use meanfield_train::{
    Backend, Dynamics, Engine, ExampleSet, Run, Stepper, StopHandle, TrainConfig, TrainError,
    weights,
};

#[allow(dead_code, reason = "helpers for the other test files too")]
mod support;
use support::assert_same_files;

const N: usize = 3;
const P: usize = 2;
const C: usize = 2;
/// Examples in the set (the noise and drift set are all of them).
const K: usize = 12;
/// The batch size M of the noise covariance Σ/M.
const M: usize = 4;
/// Coordinates of one particle: its hidden row, then its readout row.
const D: usize = P + C;

/// Particles 0 and 1 close together (so SGD's shared batch correlates their noise strongly),
/// particle 2 elsewhere.
fn state() -> (Vec<f32>, Vec<f32>) {
    (
        vec![0.5, -0.25, 0.55, -0.2, -1.0, 0.5],
        vec![1.0, -1.0, 0.9, -1.1, -1.5, 0.25],
    )
}

/// The K examples, [K, P] row-major, and their labels.
fn examples() -> (Vec<f32>, Vec<u8>) {
    let x: Vec<f32> = (0..K * P)
        .map(|j| ((j * 7 % 11) as f32 - 4.0) / 3.0)
        .collect();
    let y: Vec<u8> = (0..K).map(|i| (i % C) as u8).collect();
    (x, y)
}

fn data() -> Dataset {
    let (x, y) = examples();
    Dataset::new(x, y, P, C).unwrap()
}

fn model(device: &Device) -> MeanFieldNet {
    let (h, r) = state();
    MeanFieldNetConfig::new(N, P)
        .with_classes(C)
        .with_readout(Readout::Trainable)
        .with_readout_init(Init::Uniform(1.0))
        .with_activation(Activation::Relu)
        .init_with(device, h, r)
        .unwrap()
}

/// g[k][i] = N·∇_{(w_k, a_k)} ℓ_i in f64, from the definitions (docs/paper.md): with
/// h_k = w_k·x, z = (1/N) Σ_k a_k relu(h_k), r = softmax(z) − e_y, the hidden part is
/// (Σ_c r_c a_kc)·1[h_k > 0]·x and the readout part r_c·relu(h_k).
fn per_example_gradients() -> Vec<Vec<[f64; D]>> {
    let (xs, ys) = examples();
    let (w1, w2) = state();
    let (w1, w2): (Vec<f64>, Vec<f64>) = (
        w1.iter().map(|&v| v as f64).collect(),
        w2.iter().map(|&v| v as f64).collect(),
    );
    let mut g = vec![vec![[0.0; D]; K]; N];
    for i in 0..K {
        let x: Vec<f64> = xs[i * P..(i + 1) * P].iter().map(|&v| v as f64).collect();
        let h: Vec<f64> = (0..N)
            .map(|k| (0..P).map(|j| w1[k * P + j] * x[j]).sum())
            .collect();
        let z: Vec<f64> = (0..C)
            .map(|c| (0..N).map(|k| w2[k * C + c] * h[k].max(0.0)).sum::<f64>() / N as f64)
            .collect();
        let s: f64 = z.iter().map(|v| v.exp()).sum();
        let r: Vec<f64> = (0..C)
            .map(|c| z[c].exp() / s - (c == ys[i] as usize) as u8 as f64)
            .collect();
        for k in 0..N {
            let back: f64 = (0..C).map(|c| r[c] * w2[k * C + c]).sum();
            let active = if h[k] > 0.0 { 1.0 } else { 0.0 };
            for j in 0..P {
                g[k][i][j] = back * active * x[j];
            }
            for c in 0..C {
                g[k][i][P + c] = r[c] * h[k].max(0.0);
            }
        }
    }
    g
}

fn mean(g: &[[f64; D]]) -> [f64; D] {
    let mut m = [0.0; D];
    for gi in g {
        for a in 0..D {
            m[a] += gi[a] / g.len() as f64;
        }
    }
    m
}

/// Cov over the set between particle k's and particle l's gradients (1/K normalisation: the
/// set is the population here), divided by M: Σ/M for k = l, SGD's cross-covariance for k ≠ l.
fn set_covariance(g: &[Vec<[f64; D]>], k: usize, l: usize) -> [[f64; D]; D] {
    let (mk, ml) = (mean(&g[k]), mean(&g[l]));
    let mut cov = [[0.0; D]; D];
    for i in 0..K {
        for a in 0..D {
            for b in 0..D {
                cov[a][b] += (g[k][i][a] - mk[a]) * (g[l][i][b] - ml[b]) / (K * M) as f64;
            }
        }
    }
    cov
}

/// The setting of every step below: β = 1, γ = 1, α = 0, so lr = N and each particle's step is
/// η = lr/N = 1; its increment is −(mean gradient + noise).
fn config(dynamics: Dynamics) -> TrainConfig {
    TrainConfig {
        width: N,
        batch: M,
        beta: 1.0,
        gamma: 1.0,
        readout: Readout::Trainable,
        readout_init: Init::Uniform(1.0),
        sampling: Sampling::Iid,
        dynamics,
        drift_set: if dynamics.is_sgd() {
            ExampleSet::Batch
        } else {
            ExampleSet::Full
        },
        noise_set: if dynamics.is_sgd() {
            ExampleSet::Batch
        } else {
            ExampleSet::Full
        },
        ..TrainConfig::default()
    }
}

/// `draws` noises ν_k = −Δ_k − ḡ_k of one step from the frozen state, per particle
/// ([draw][particle][coordinate]): the diffusion at steps 0..draws (each its own multipliers),
/// SGD with data seeds 0..draws (each its own batch).
fn noises(dynamics: Dynamics, draws: u64, g: &[Vec<[f64; D]>]) -> Vec<[[f64; D]; N]> {
    let device = Device::flex();
    let train = std::sync::Arc::new(data());
    let start = model(&device);
    let (w1, w2) = start.weights_to_vec();
    let gbar: Vec<[f64; D]> = (0..N).map(|k| mean(&g[k])).collect();
    (0..draws)
        .map(|d| {
            let mut config = config(dynamics);
            let mut stepper = if dynamics.is_sgd() {
                config.data_seed = Some(d);
                Stepper::new(&config, start.clone(), train.clone(), &device).unwrap()
            } else {
                let mut s = Stepper::new(&config, start.clone(), train.clone(), &device).unwrap();
                let sampler = s.sampler_state();
                s.restore(d, sampler);
                s
            };
            stepper.step();
            let (v1, v2) = stepper.model().weights_to_vec();
            let mut nu = [[0.0; D]; N];
            for k in 0..N {
                for j in 0..P {
                    nu[k][j] = -(v1[k * P + j] as f64 - w1[k * P + j] as f64) - gbar[k][j];
                }
                for c in 0..C {
                    nu[k][P + c] = -(v2[k * C + c] as f64 - w2[k * C + c] as f64) - gbar[k][P + c];
                }
            }
            nu
        })
        .collect()
}

/// The sample second moment of (ν_k[a], ν_l[b]) over the draws and its Monte Carlo standard
/// error (the products' sample standard deviation over √draws).
fn moment(nu: &[[[f64; D]; N]], k: usize, a: usize, l: usize, b: usize) -> (f64, f64) {
    let v: Vec<f64> = nu.iter().map(|x| x[k][a] * x[l][b]).collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (m, (var / v.len() as f64).sqrt())
}

/// Tolerance: 5 Monte Carlo standard errors per entry (a two-sided normal tail of 6e-7; about
/// 150 entries are checked, so a correct sampler fails with probability < 1e-4, and the draws
/// are seeded, so the test is deterministic).
const SE: f64 = 5.0;

#[test]
fn diffusion_noise_has_covariance_sigma_over_m_and_is_independent_across_particles() {
    let g = per_example_gradients();
    let draws = 4000;
    let nu = noises(Dynamics::Diffusion, draws, &g);
    let mut largest_cross_in_se: f64 = 0.0;
    for k in 0..N {
        let expected = set_covariance(&g, k, k);
        for a in 0..D {
            // The noise has mean 0: the drift is the set's mean gradient.
            let (m, se) = {
                let v: Vec<f64> = nu.iter().map(|x| x[k][a]).collect();
                let m = v.iter().sum::<f64>() / v.len() as f64;
                (m, (expected[a][a] / draws as f64).sqrt())
            };
            assert!(
                m.abs() <= SE * se.max(1e-7),
                "particle {k} coordinate {a}: mean {m}"
            );
            for b in 0..D {
                let (c, se) = moment(&nu, k, a, k, b);
                assert!(
                    (c - expected[a][b]).abs() <= SE * se + 1e-7,
                    "particle {k} ({a}, {b}): sample {c}, Σ/M {}, SE {se}",
                    expected[a][b]
                );
            }
        }
        for l in k + 1..N {
            for a in 0..D {
                for b in 0..D {
                    let (c, se) = moment(&nu, k, a, l, b);
                    assert!(
                        c.abs() <= SE * se + 1e-7,
                        "particles {k}, {l} ({a}, {b}): {c}"
                    );
                    largest_cross_in_se = largest_cross_in_se.max(c.abs() / se.max(1e-12));
                }
            }
        }
    }
    eprintln!("largest diffusion cross-covariance: {largest_cross_in_se:.2} standard errors");
}

#[test]
fn sgd_batch_noise_has_the_same_marginals_but_is_correlated_across_particles() {
    let g = per_example_gradients();
    let nu = noises(Dynamics::Sgd, 4000, &g);
    let mut strongest: f64 = 0.0;
    for (k, l) in [(0, 0), (1, 1), (0, 1), (0, 2), (1, 2)] {
        let expected = set_covariance(&g, k, l);
        for a in 0..D {
            for b in 0..D {
                let (c, se) = moment(&nu, k, a, l, b);
                assert!(
                    (c - expected[a][b]).abs() <= SE * se + 1e-7,
                    "particles {k}, {l} ({a}, {b}): sample {c}, reference {}",
                    expected[a][b]
                );
                if k != l {
                    strongest = strongest.max(c.abs() / se);
                }
            }
        }
    }
    // Not zero: the shared batch correlates particles (for the diffusion this is < 5).
    assert!(
        strongest > 20.0,
        "SGD's cross-particle covariance is only {strongest:.1} standard errors from 0"
    );
}

/// With the noise scaled to zero a diffusion step on the full set is one step of full-batch
/// gradient descent: the f64 mean gradient (to f32 rounding), and SGD's step on the whole set
/// as one batch.
#[test]
fn full_set_drift_is_full_batch_gradient_descent() {
    // Flex (the fused W1 update) and ndarray (the tensor path): every backend steps it.
    for device in [Device::flex(), Backend::Ndarray.device().unwrap()] {
        full_set_drift_on(device, 0.0);
    }
    // The penalty composes as for SGD: W ← (1 − lr·λ/N)·W − lr·∇ (here lr/N = 1).
    full_set_drift_on(Device::flex(), 0.5);
}

fn full_set_drift_on(device: Device, penalty: f64) {
    let (xs, ys) = examples();
    let g = per_example_gradients();
    let step = DiffusionStep::new(ExampleSet::Full, ExampleSet::Full, M, K);
    let q = Tensor::<2>::from_data(
        TensorData::new(step.weights(0, N, 0.0), [N, step.rows()]),
        &device,
    )
    .transpose();
    let x = Tensor::<2>::from_data(TensorData::new(xs, [K, P]), &device);
    let targets = meanfield_model::one_hot(&ys, C, &device);
    let lr = N as f64;
    let mut diffusion = StepEngine::new(
        Engine::ClosedForm,
        model(&device),
        ScaledSgd::new(penalty, N),
    );
    diffusion.step(lr, x.clone(), targets.clone(), Some(q));
    let mut sgd = StepEngine::new(
        Engine::ClosedForm,
        model(&device),
        ScaledSgd::new(penalty, N),
    );
    sgd.step(lr, x, targets, None);
    let (d1, d2) = diffusion.model().weights_to_vec();
    let (s1, s2) = sgd.model().weights_to_vec();
    let (w1, w2) = state();
    for k in 0..N {
        let gbar = mean(&g[k]);
        for j in 0..P {
            let i = k * P + j;
            let expected = w1[i] as f64 * (1.0 - penalty) - gbar[j];
            assert!(
                (d1[i] as f64 - expected).abs() < 1e-5,
                "hidden {i}: {} vs {expected}",
                d1[i]
            );
            assert!(
                (d1[i] - s1[i]).abs() < 1e-5,
                "hidden {i}: diffusion {} SGD {}",
                d1[i],
                s1[i]
            );
        }
        for c in 0..C {
            let i = k * C + c;
            let expected = w2[i] as f64 * (1.0 - penalty) - gbar[P + c];
            assert!(
                (d2[i] as f64 - expected).abs() < 1e-5,
                "readout {i}: {} vs {expected}",
                d2[i]
            );
            assert!((d2[i] - s2[i]).abs() < 1e-5, "readout {i}");
        }
    }
}

/// A diffusion run stopped mid-way and resumed ends with the same weights, average and metrics,
/// byte for byte, as one never stopped (the multipliers are keyed by the step: no state).
#[test]
fn stopped_and_resumed_diffusion_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let setting = |name: &str| {
        let mut c = TrainConfig::from_preset("synthetic").unwrap();
        c.synthetic.train = 300;
        c.synthetic.test = 50;
        c.width = 32;
        c.steps = Some(20);
        c.average_from = Some(5);
        c.checkpoint_every = 0;
        c.dynamics = Dynamics::Diffusion;
        c.drift_set = ExampleSet::Full;
        c.noise_set = ExampleSet::Drawn(40);
        c.validate().unwrap();
        c.out = Some(tmp.path().join(name));
        c
    };
    train(&setting("straight"), RunOptions::quiet()).unwrap();
    let stopped = setting("stopped");
    let mut run = Run::fresh(&stopped, true).unwrap();
    for _ in 0..8 {
        run.step().unwrap();
    }
    let stop = StopHandle::new();
    stop.request();
    assert!(matches!(
        run.fit(&stop),
        Err(TrainError::Interrupted { step: 9, .. })
    ));
    drop(run);
    train(&stopped, RunOptions::quiet()).unwrap();
    assert_same_files(
        &tmp.path().join("straight"),
        &tmp.path().join("stopped"),
        &[
            weights::HIDDEN,
            weights::READOUT,
            weights::HIDDEN_AVG,
            meanfield_train::layout::METRICS,
        ],
        "after the resume",
    );
    // And the diffusion moved the particles differently from SGD's run of the same setting.
    let mut sgd = setting("sgd");
    sgd.dynamics = Dynamics::Sgd;
    sgd.drift_set = ExampleSet::Batch;
    sgd.noise_set = ExampleSet::Batch;
    train(&sgd, RunOptions::quiet()).unwrap();
    assert!(
        std::fs::read(tmp.path().join("sgd").join(weights::HIDDEN)).unwrap()
            != std::fs::read(tmp.path().join("straight").join(weights::HIDDEN)).unwrap()
    );
}

/// The settings the diffusion cannot take are refused with the way out.
#[test]
fn diffusion_settings_are_checked() {
    let check = |edit: &dyn Fn(&mut TrainConfig)| {
        let mut c = TrainConfig {
            dynamics: Dynamics::Diffusion,
            ..TrainConfig::default()
        };
        edit(&mut c);
        c.validate().map_err(|e| e.to_string())
    };
    check(&|_| {}).unwrap();
    let e = check(&|c| c.engine = Engine::Autodiff).unwrap_err();
    assert!(e.contains("closed-form"), "{e}");
    let e = check(&|c| c.noise_set = ExampleSet::Drawn(1)).unwrap_err();
    assert!(e.contains("at least 2"), "{e}");
    let e = check(&|c| {
        c.dynamics = Dynamics::Sgd;
        c.drift_set = ExampleSet::Full;
    })
    .unwrap_err();
    assert!(e.contains("`dynamics` diffusion"), "{e}");
    // SGD's config.toml does not mention the diffusion (existing run names stay the same).
    let text = TrainConfig::default().to_toml();
    assert!(
        !text.contains("dynamics") && !text.contains("noise_set"),
        "{text}"
    );
}
