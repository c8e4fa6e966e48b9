//! A synthetic classification task that needs no files: a random teacher.
//!
//! Inputs x ~ N(0, I_p); the label is the arg-max over C classes of a fixed random two-layer
//! ReLU teacher `V relu(U x)` with `teacher_width` hidden units and N(0, 1) weights. The task is
//! learnable by the student network (it is of the same family) and fully determined by the seed.

use crate::{DataError, Dataset};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticConfig {
    /// p, the input dimension.
    pub dim: usize,
    /// C, the number of classes.
    pub classes: usize,
    /// Hidden units of the teacher.
    pub teacher_width: usize,
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Seed of the teacher and of the inputs (independent of the run's seed, so every run
    /// sees the same task).
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            dim: 32,
            classes: 10,
            teacher_width: 16,
            train: 10_000,
            test: 2_000,
            seed: 1234,
        }
    }
}

impl SyntheticConfig {
    /// Generates (train, test).
    pub fn generate(&self) -> Result<(Dataset, Dataset), DataError> {
        if self.dim == 0 || self.classes < 2 || self.classes > 256 || self.teacher_width == 0 {
            return Err(DataError::Invalid {
                what: "synthetic task",
                reason: format!(
                    "dim {} and teacher_width {} must be ≥ 1 and classes {} in 2..=256",
                    self.dim, self.teacher_width, self.classes
                ),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut normal =
            |n: usize| -> Vec<f32> { (0..n).map(|_| StandardNormal.sample(&mut rng)).collect() };
        let u = normal(self.teacher_width * self.dim);
        let v = normal(self.classes * self.teacher_width);
        let x_train = normal(self.train * self.dim);
        let x_test = normal(self.test * self.dim);
        let label = |x: &[f32]| -> u8 {
            let h: Vec<f32> = (0..self.teacher_width)
                .map(|j| {
                    let s: f32 = (0..self.dim).map(|i| u[j * self.dim + i] * x[i]).sum();
                    s.max(0.0)
                })
                .collect();
            let mut best = (0usize, f32::NEG_INFINITY);
            for c in 0..self.classes {
                let z: f32 = (0..self.teacher_width)
                    .map(|j| v[c * self.teacher_width + j] * h[j])
                    .sum();
                if z > best.1 {
                    best = (c, z);
                }
            }
            best.0 as u8
        };
        let make = |x: Vec<f32>| {
            let y = x.chunks_exact(self.dim).map(label).collect();
            Dataset::new(x, y, self.dim, self.classes)
        };
        Ok((make(x_train)?, make(x_test)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_uses_several_classes() {
        let cfg = SyntheticConfig {
            train: 500,
            test: 100,
            ..Default::default()
        };
        let (a, _) = cfg.generate().unwrap();
        let (b, _) = cfg.generate().unwrap();
        assert_eq!(a, b);
        let mut seen = [false; 10];
        for &y in &a.labels {
            seen[y as usize] = true;
        }
        assert!(seen.iter().filter(|s| **s).count() >= 3, "labels {seen:?}");
    }
}
