//! The particle diffusion (6) of the paper, as Euler–Maruyama on SGD's own time grid.
//!
//! SGD moves particle k by `−η_n · (its gradient on one batch)`, and the batch is shared by all
//! particles, so their noises are correlated. The system (6) the theorems are about gives each
//! particle its own Brownian motion, with the covariance Σ(W^k, ν^N)/M of one particle's batch
//! noise. One step of its Euler–Maruyama scheme, with the same per-particle step η_n = lr/N, is
//!
//! ```text
//! W^k ← W^k + η_n · (h(W^k, ν^N) + noise^k),    noise^k ~ N(0, Σ(W^k, ν^N)/M) independent over k
//! ```
//!
//! - **Drift** h: minus the mean of g_i^k over the drift set, where g_i^k = N·∇_{W^k} ℓ_i is
//!   example i's gradient for particle k. The whole training set is exact; K drawn examples per
//!   step are cheaper but bring back a common noise of covariance Σ/K shared by all particles.
//! - **Noise**: `noise^k = (1/√(M·K)) Σ_i z_ik (g_i^k − ḡ^k)` over a noise set of K examples
//!   (ḡ^k their mean), z_ik ~ N(0, 1) independent. Given the set it is Gaussian with covariance
//!   Σ̂_K(W^k)/M, the set's covariance of particle k's gradients, without forming any p×p
//!   matrix. Σ_i z_ik (g_i^k − ḡ^k) = Σ_i (z_ik − z̄_k) g_i^k, so the multipliers are centred
//!   once per particle.
//!
//! Both are per-particle weighted sums of per-example gradients, so the whole step is one
//! gradient step on the weighted loss `Σ_i q_ik ℓ_i` ([`meanfield_model::weighted_factors`])
//! with `q_ik = 1[i ∈ drift]/K_d + 1[i ∈ noise]·(z_ik − z̄_k)/√(M·K_n)`: the same two matrix
//! products as an SGD step on a batch of the step's examples, through the same (fused) W1
//! update. The readout's noise, when it is trained, uses the same z_ik (the particle's
//! gradient is one vector (w_k, a_k)).
//!
//! **Coupling.** z_ik for step n comes from ChaCha8 stream k of a key that depends only on the
//! run's data seed and n ([`crate::stepper::DIFFUSION_STREAM`], [`crate::stepper::step_seed`]), the per-particle scheme of the initial weights: particle k gets the
//! same Brownian increments at every width that shares the data seed (the synchronous coupling
//! of the proofs; the coupling study's shared-noise mode), while runs with other data seeds get
//! independent ones (repetitions). The data seed is a run's noise: batch order, Langevin noise
//! and these multipliers; the initial-weight seed its starting particles. A resumed run draws
//! exactly what an uninterrupted one draws, with no state to save.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::{fmt, str::FromStr};

/// Which dynamics a run steps.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Dynamics {
    /// SGD, eq. (2): one batch per step, shared by every particle.
    #[default]
    Sgd,
    /// The particle system (6): each particle with its own Gaussian noise (this module).
    Diffusion,
}

impl Dynamics {
    pub fn is_sgd(&self) -> bool {
        *self == Dynamics::Sgd
    }
}

/// The examples a diffusion step averages its drift, or estimates its noise covariance, over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "SetText", into = "SetText")]
pub enum ExampleSet {
    /// M examples drawn per step (M the batch size).
    #[default]
    Batch,
    /// K examples drawn per step.
    Drawn(usize),
    /// The whole training set, every step.
    Full,
}

/// How an [`ExampleSet`] is written in a config: "batch", "full", or K (a number or its text).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum SetText {
    Size(usize),
    Text(String),
}

impl ExampleSet {
    pub fn is_batch(&self) -> bool {
        *self == ExampleSet::Batch
    }

    /// Examples drawn per step (0 for the full set), for batch size `batch`.
    pub fn drawn(&self, batch: usize) -> usize {
        match *self {
            ExampleSet::Batch => batch,
            ExampleSet::Drawn(k) => k,
            ExampleSet::Full => 0,
        }
    }

    /// Its size for batch size `batch` and a training set of `train_len` examples.
    pub fn size(&self, batch: usize, train_len: usize) -> usize {
        match self {
            ExampleSet::Full => train_len,
            _ => self.drawn(batch),
        }
    }
}

impl fmt::Display for ExampleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExampleSet::Batch => f.write_str("batch"),
            ExampleSet::Drawn(k) => write!(f, "{k}"),
            ExampleSet::Full => f.write_str("full"),
        }
    }
}

impl FromStr for ExampleSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "batch" => Ok(ExampleSet::Batch),
            "full" => Ok(ExampleSet::Full),
            k => k.parse().map(ExampleSet::Drawn).map_err(|_| {
                format!(
                    "{k:?} is not an example set: give `batch` (M drawn per step), `full` (the whole training set) or a number K of examples drawn per step"
                )
            }),
        }
    }
}

impl TryFrom<SetText> for ExampleSet {
    type Error = String;
    fn try_from(t: SetText) -> Result<Self, String> {
        match t {
            SetText::Size(k) => Ok(ExampleSet::Drawn(k)),
            SetText::Text(s) => s.parse(),
        }
    }
}

impl From<ExampleSet> for SetText {
    fn from(s: ExampleSet) -> SetText {
        match s {
            ExampleSet::Drawn(k) => SetText::Size(k),
            other => SetText::Text(other.to_string()),
        }
    }
}

/// The examples of one diffusion step and their weights: the rows gathered for the step are
/// the whole training set (when a set is full) followed by the examples drawn this step (as
/// many as the larger drawn set; a smaller one uses the first of them).
#[derive(Debug, Clone, PartialEq)]
pub struct DiffusionStep {
    drift: ExampleSet,
    noise: ExampleSet,
    batch: usize,
    train_len: usize,
}

impl DiffusionStep {
    /// For batch size M = `batch` (the noise covariance is Σ/M) and a training set of
    /// `train_len` examples.
    pub fn new(drift: ExampleSet, noise: ExampleSet, batch: usize, train_len: usize) -> Self {
        Self {
            drift,
            noise,
            batch,
            train_len,
        }
    }

    /// Examples drawn per step (0 when both sets are full).
    pub fn drawn(&self) -> usize {
        self.drift
            .drawn(self.batch)
            .max(self.noise.drawn(self.batch))
    }

    fn has_full(&self) -> bool {
        self.drift == ExampleSet::Full || self.noise == ExampleSet::Full
    }

    /// The rows of the step's examples that `set` uses.
    fn rows_of(&self, set: ExampleSet) -> Range<usize> {
        let full = if self.has_full() { self.train_len } else { 0 };
        match set {
            ExampleSet::Full => 0..self.train_len,
            _ => full..full + set.drawn(self.batch),
        }
    }

    /// The rows of the drift set (the step's logits for the metrics are these rows').
    pub fn drift_rows(&self) -> Range<usize> {
        self.rows_of(self.drift)
    }

    /// The training-set indices of the step's examples, given this step's `drawn` ones.
    pub fn indices(&self, drawn: Vec<usize>) -> Vec<usize> {
        if self.has_full() {
            (0..self.train_len).chain(drawn).collect()
        } else {
            drawn
        }
    }

    /// The step's rows (`indices().len()`).
    pub fn rows(&self) -> usize {
        (if self.has_full() { self.train_len } else { 0 }) + self.drawn()
    }

    /// The weights q for particles 0..`width`, particle-major ([N, rows]: particle k's weights
    /// on the step's rows are contiguous; the step takes q [rows, N] as the transposed view,
    /// the layout of its activations, [`meanfield_model::gradient`]), with the multipliers of
    /// the step's key `key` (the stepper's [`crate::stepper::step_seed`] of the run's diffusion
    /// stream and the step); `noise_scale` multiplies the noise (1 for the diffusion; 0 gives
    /// gradient descent on the drift set, which tests use).
    pub fn weights(&self, key: u64, width: usize, noise_scale: f64) -> Vec<f32> {
        self.weights_for(key, 0..width, noise_scale)
    }

    /// Particles `particles` of [`Self::weights`] (a shard's block), [particles.len(), rows]:
    /// particle k's weights depend only on k, so the blocks one after another are the whole.
    pub fn weights_for(&self, key: u64, particles: Range<usize>, noise_scale: f64) -> Vec<f32> {
        let rows = self.rows();
        let drift = self.rows_of(self.drift);
        let noise = self.rows_of(self.noise);
        let k_noise = noise.len();
        let scale = noise_scale / ((self.batch * k_noise) as f64).sqrt();
        let z = centred_multipliers_for(key, particles.clone(), k_noise);
        let drift_weight = 1.0 / drift.len() as f64;
        let mut q = vec![0f32; particles.len() * rows];
        if rows == 0 {
            return q;
        }
        q.par_chunks_mut(rows).enumerate().for_each(|(k, qk)| {
            let zk = &z[k * k_noise..(k + 1) * k_noise];
            for (i, v) in qk.iter_mut().enumerate() {
                let d = if drift.contains(&i) {
                    drift_weight
                } else {
                    0.0
                };
                let noise_term = if noise.contains(&i) {
                    scale * zk[i - noise.start]
                } else {
                    0.0
                };
                *v = (d + noise_term) as f32;
            }
        });
        q
    }
}

/// The multipliers z_ik − z̄_k of the step keyed `key` for particles 0..`width` and `count`
/// examples, particle-major ([width, count]): particle k's come from ChaCha8 stream k of `key`,
/// so they are the same for particle k at every width.
pub fn centred_multipliers(key: u64, width: usize, count: usize) -> Vec<f64> {
    centred_multipliers_for(key, 0..width, count)
}

/// [`centred_multipliers`] of particles `particles` only, [particles.len(), count].
pub fn centred_multipliers_for(key: u64, particles: Range<usize>, count: usize) -> Vec<f64> {
    let key = ChaCha8Rng::seed_from_u64(key);
    let mut z = vec![0f64; particles.len() * count];
    if count == 0 {
        return z;
    }
    z.par_chunks_mut(count).enumerate().for_each(|(j, zk)| {
        let mut rng = key.clone();
        rng.set_stream((particles.start + j) as u64);
        draw_centred(&mut rng, zk);
    });
    z
}

fn draw_centred(rng: &mut impl Rng, out: &mut [f64]) {
    for v in out.iter_mut() {
        *v = StandardNormal.sample(rng);
    }
    let mean = out.iter().sum::<f64>() / out.len() as f64;
    for v in out.iter_mut() {
        *v -= mean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stepper::step_seed;

    #[test]
    fn example_sets_parse_and_print() {
        for (text, set) in [
            ("batch", ExampleSet::Batch),
            ("full", ExampleSet::Full),
            ("250", ExampleSet::Drawn(250)),
        ] {
            assert_eq!(text.parse::<ExampleSet>().unwrap(), set);
            assert_eq!(set.to_string(), text);
        }
        assert!("all".parse::<ExampleSet>().unwrap_err().contains("full"));
    }

    /// Particle k's multipliers depend only on (seed, step, k): the first N of a wider run's
    /// are the narrower run's, bit for bit; another step gives others.
    #[test]
    fn multipliers_are_prefix_coupled_across_widths() {
        let narrow = centred_multipliers(step_seed(7, 3), 5, 4);
        let wide = centred_multipliers(step_seed(7, 3), 40, 4);
        assert_eq!(narrow[..], wide[..20]);
        assert_ne!(narrow, centred_multipliers(step_seed(7, 4), 5, 4));
        // A block of particles 2..5 alone is those rows of the whole.
        assert_eq!(
            centred_multipliers_for(step_seed(7, 3), 2..5, 4)[..],
            narrow[8..]
        );
        for k in 0..5 {
            let mean: f64 = narrow[k * 4..k * 4 + 4].iter().sum::<f64>() / 4.0;
            assert!(mean.abs() < 1e-12, "particle {k}'s multipliers are centred");
        }
    }

    /// Rows: the full set first, then the drawn examples; the weights are 1/K on the drift
    /// rows and only noise on the others.
    #[test]
    fn weights_lay_out_the_drift_and_noise_rows() {
        let step = DiffusionStep::new(ExampleSet::Full, ExampleSet::Drawn(3), 10, 6);
        assert_eq!((step.rows(), step.drawn()), (9, 3));
        assert_eq!(step.indices(vec![4, 1, 2]), vec![0, 1, 2, 3, 4, 5, 4, 1, 2]);
        // Particle-major: particle k's 9 weights are q[9k..9k + 9], the 6 drift rows first.
        let q = step.weights(0, 2, 0.0);
        for k in 0..2 {
            let qk = &q[9 * k..9 * k + 9];
            assert!(
                qk[..6].iter().all(|v| (*v - 1.0 / 6.0).abs() < 1e-7),
                "{qk:?}"
            );
            assert!(qk[6..].iter().all(|v| *v == 0.0), "{qk:?}");
        }
        let noisy = step.weights(0, 2, 1.0);
        for k in 0..2 {
            assert_eq!(noisy[9 * k..9 * k + 6], q[9 * k..9 * k + 6]);
            assert!(noisy[9 * k + 6..9 * k + 9].iter().any(|v| *v != 0.0));
        }
        let shared = DiffusionStep::new(ExampleSet::Batch, ExampleSet::Batch, 4, 100);
        assert_eq!((shared.rows(), shared.drift_rows()), (4, 0..4));
    }
}
