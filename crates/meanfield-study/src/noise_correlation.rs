//! How correlated SGD's noise is across particles, at a fixed state.
//!
//! At weights W, particle k's SGD noise on a batch B of M examples drawn from the set is
//! ν^k = (1/M) Σ_{i∈B} g_i^k − ḡ^k, with g_i^k = N·∇_{W^k} ℓ_i example i's gradient for particle
//! k and ḡ^k its mean over the set. Every particle sees the same batch, so ν^k and ν^l are
//! correlated; in the particle system (6) they are independent. The measure here is the trace
//! correlation
//!
//! ```text
//! ρ_kl = E⟨ν^k, ν^l⟩ / sqrt(E|ν^k|² E|ν^l|²) = S_kl / sqrt(S_kk S_ll),
//! S_kl = (1/n) Σ_i ⟨g_i^k, g_i^l⟩ − ⟨ḡ^k, ḡ^l⟩
//! ```
//! (M cancels), computed exactly over the n examples of the set, in f64, for the first P
//! particles; [`NoiseCorrelation`] holds its mean and mean absolute value over the pairs k < l.
//! With g_i^k = (e_ik x_i, act(h_ik) r_i) (e_ik = ⟨r_i, a_k⟩ act'(h_ik), r_i = softmax(z_i) − y_i,
//! the readout part only when it is trained), ⟨g_i^k, g_i^l⟩ = e_ik e_il |x_i|² +
//! act_ik act_il |r_i|².

use crate::StudyError;
use burn::tensor::{Device, Tensor, TensorData, activation};
use meanfield_model::net::to_vec;
use meanfield_model::{MeanFieldNet, Readout, one_hot};
use meanfield_train::data::Dataset;
use serde::{Deserialize, Serialize};

/// The cross-particle correlation of SGD's batch noise at one state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseCorrelation {
    /// Mean of ρ_kl over the pairs k < l of the first `particles`.
    pub mean: f64,
    /// Mean of |ρ_kl| over the same pairs.
    pub mean_abs: f64,
    pub particles: usize,
    pub examples: usize,
}

/// ρ at the weights of `model` over the examples of `set` (at most `examples` of them, the
/// first), for its first `particles` particles.
pub fn noise_correlation(
    model: &MeanFieldNet,
    set: &Dataset,
    particles: usize,
    examples: usize,
    device: &Device,
) -> Result<NoiseCorrelation, StudyError> {
    let n = examples.min(set.len());
    let p = set.dim;
    let pk = particles.min(model.width());
    if pk < 2 || n < 2 {
        return Err(StudyError::Invalid(format!(
            "a noise correlation needs at least 2 particles and 2 examples (got {pk} and {n})"
        )));
    }
    let (xs, ys) = set.gather(&(0..n).collect::<Vec<_>>());
    let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [n, p]), device);
    let trace = model.forward_trace(x);
    let c = model.classes();
    let residual = activation::softmax(trace.logits, 1) - one_hot(&ys, c, device);
    // act'(h) for the first P particles: the activation's backward of a gradient of ones.
    let pre = trace.pre.slice([0..n, 0..pk]);
    let act = trace.act.slice([0..n, 0..pk]);
    let slope = model
        .activation
        .backward(pre, act.clone(), Tensor::<2>::ones([n, pk], device));
    let w2 = model.readout.val().slice([0..pk, 0..c]);
    // e[i, k] = ⟨r_i, a_k⟩ act'(h_ik), [n, P].
    let e = to_vec(residual.clone().matmul(w2.transpose()) * slope);
    let act = to_vec(act);
    let r = to_vec(residual);
    let trainable = model.readout_mode == Readout::Trainable;
    let x_norm2: Vec<f64> = xs
        .chunks_exact(p)
        .map(|row| row.iter().map(|v| (*v as f64).powi(2)).sum())
        .collect();
    let r_norm2: Vec<f64> = r
        .chunks_exact(c)
        .map(|row| row.iter().map(|v| (*v as f64).powi(2)).sum())
        .collect();
    // ḡ^k: hidden part (1/n) Σ_i e_ik x_i, readout part (1/n) Σ_i act_ik r_i.
    let mut gbar = vec![0f64; pk * (p + c)];
    for i in 0..n {
        for k in 0..pk {
            let eik = e[i * pk + k] as f64 / n as f64;
            let row = &mut gbar[k * (p + c)..(k + 1) * (p + c)];
            if eik != 0.0 {
                for (g, xv) in row[..p].iter_mut().zip(&xs[i * p..(i + 1) * p]) {
                    *g += eik * *xv as f64;
                }
            }
            if trainable {
                let aik = act[i * pk + k] as f64 / n as f64;
                for (g, rv) in row[p..].iter_mut().zip(&r[i * c..(i + 1) * c]) {
                    *g += aik * *rv as f64;
                }
            }
        }
    }
    let mut s = vec![0f64; pk * pk];
    for i in 0..n {
        for k in 0..pk {
            let (ek, ak) = (e[i * pk + k] as f64, act[i * pk + k] as f64);
            for l in k..pk {
                let (el, al) = (e[i * pk + l] as f64, act[i * pk + l] as f64);
                let mut v = ek * el * x_norm2[i];
                if trainable {
                    v += ak * al * r_norm2[i];
                }
                s[k * pk + l] += v / n as f64;
            }
        }
    }
    for k in 0..pk {
        for l in k..pk {
            let dot: f64 = gbar[k * (p + c)..(k + 1) * (p + c)]
                .iter()
                .zip(&gbar[l * (p + c)..(l + 1) * (p + c)])
                .map(|(a, b)| a * b)
                .sum();
            s[k * pk + l] -= dot;
        }
    }
    let (mut sum, mut sum_abs, mut pairs) = (0.0, 0.0, 0usize);
    for k in 0..pk {
        for l in k + 1..pk {
            let denom = (s[k * pk + k] * s[l * pk + l]).sqrt();
            if denom > 0.0 {
                let rho = s[k * pk + l] / denom;
                sum += rho;
                sum_abs += rho.abs();
                pairs += 1;
            }
        }
    }
    if pairs == 0 {
        return Err(StudyError::Invalid(
            "no pair of particles has batch noise here (all gradients constant over the set)"
                .into(),
        ));
    }
    Ok(NoiseCorrelation {
        mean: sum / pairs as f64,
        mean_abs: sum_abs / pairs as f64,
        particles: pk,
        examples: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_model::{Activation, Init, MeanFieldNetConfig};

    const P: usize = 2;
    const C: usize = 2;
    const K: usize = 10;

    fn set() -> Dataset {
        let x: Vec<f32> = (0..K * P)
            .map(|j| ((j * 5 % 9) as f32 - 3.0) / 2.0)
            .collect();
        let y: Vec<u8> = (0..K).map(|i| (i % C) as u8).collect();
        Dataset::new(x, y, P, C).unwrap()
    }

    fn model(hidden: Vec<f32>, readout: Vec<f32>, readout_mode: Readout) -> MeanFieldNet {
        MeanFieldNetConfig::new(hidden.len() / P, P)
            .with_classes(C)
            .with_readout(readout_mode)
            .with_readout_init(Init::Uniform(1.0))
            .with_activation(Activation::Relu)
            .init_with(&Device::flex(), hidden, readout)
            .unwrap()
    }

    /// The brute-force reference: every g_i^k written out as a vector from the definitions in
    /// f64 (h = w·x, z = (1/N) Σ a relu(h), r = softmax(z) − e_y, g = ((Σ_c r_c a_kc) 1[h > 0] x,
    /// r relu(h))), then the covariance of the vectors over the set and the trace correlation.
    fn brute_force(hidden: &[f32], readout: &[f32], trainable: bool) -> f64 {
        let data = set();
        let n = hidden.len() / P;
        let d = if trainable { P + C } else { P };
        let g: Vec<Vec<Vec<f64>>> = (0..n)
            .map(|k| {
                (0..K)
                    .map(|i| {
                        let x: Vec<f64> = data.row(i).iter().map(|v| *v as f64).collect();
                        let h: Vec<f64> = (0..n)
                            .map(|l| (0..P).map(|j| hidden[l * P + j] as f64 * x[j]).sum())
                            .collect();
                        let z: Vec<f64> = (0..C)
                            .map(|c| {
                                (0..n)
                                    .map(|l| readout[l * C + c] as f64 * h[l].max(0.0))
                                    .sum::<f64>()
                                    / n as f64
                            })
                            .collect();
                        let s: f64 = z.iter().map(|v| v.exp()).sum();
                        let r: Vec<f64> = (0..C)
                            .map(|c| z[c].exp() / s - (c == data.labels[i] as usize) as u8 as f64)
                            .collect();
                        let back: f64 = (0..C).map(|c| r[c] * readout[k * C + c] as f64).sum();
                        let on = if h[k] > 0.0 { 1.0 } else { 0.0 };
                        let mut v: Vec<f64> = x.iter().map(|xj| back * on * xj).collect();
                        if trainable {
                            v.extend(r.iter().map(|rc| rc * h[k].max(0.0)));
                        }
                        v
                    })
                    .collect()
            })
            .collect();
        let cov = |k: usize, l: usize| {
            let mk: Vec<f64> = (0..d)
                .map(|a| g[k].iter().map(|v| v[a]).sum::<f64>() / K as f64)
                .collect();
            let ml: Vec<f64> = (0..d)
                .map(|a| g[l].iter().map(|v| v[a]).sum::<f64>() / K as f64)
                .collect();
            (0..K)
                .map(|i| {
                    (0..d)
                        .map(|a| (g[k][i][a] - mk[a]) * (g[l][i][a] - ml[a]))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / K as f64
        };
        let mut total = 0.0;
        let mut pairs = 0;
        for k in 0..n {
            for l in k + 1..n {
                total += cov(k, l) / (cov(k, k) * cov(l, l)).sqrt();
                pairs += 1;
            }
        }
        total / pairs as f64
    }

    #[test]
    fn matches_the_brute_force_trace_correlation() {
        let hidden = vec![0.5, -0.25, 0.55, -0.2, -1.0, 0.5, 0.3, 0.9];
        let readout = vec![1.0, -1.0, 0.9, -1.1, -1.5, 0.25, 0.4, 0.6];
        for mode in [Readout::Fixed, Readout::Trainable] {
            let got = noise_correlation(
                &model(hidden.clone(), readout.clone(), mode),
                &set(),
                4,
                K,
                &Device::flex(),
            )
            .unwrap();
            let expected = brute_force(&hidden, &readout, mode == Readout::Trainable);
            // f32 forward pass against f64 throughout: agreement to 1e-5.
            assert!(
                (got.mean - expected).abs() < 1e-5,
                "{mode}: {} vs brute force {expected}",
                got.mean
            );
            assert_eq!((got.particles, got.examples), (4, K));
        }
    }

    /// Identical particles share every batch gradient: ρ = 1 for every pair.
    #[test]
    fn identical_particles_are_perfectly_correlated() {
        let got = noise_correlation(
            &model(
                [0.5f32, -0.25].repeat(3),
                [1.0f32, -1.0].repeat(3),
                Readout::Trainable,
            ),
            &set(),
            3,
            K,
            &Device::flex(),
        )
        .unwrap();
        assert!(
            (got.mean - 1.0).abs() < 1e-9 && (got.mean_abs - 1.0).abs() < 1e-9,
            "{got:?}"
        );
    }
}
