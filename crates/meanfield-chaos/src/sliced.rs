//! Sliced Wasserstein-2 distance between two particle clouds in R^d.
//!
//! SW2(μ, ν)² = E_θ W2(θ#μ, θ#ν)², θ uniform on the unit sphere, estimated with K directions
//! drawn from a seeded ChaCha8 stream (normalised Gaussian vectors). Each 1-D distance is exact
//! ([`crate::wasserstein`]). The estimate is √(mean over θ of W2²).

use crate::ChaosError;
use crate::wasserstein::{sort_checked, w2_squared_sorted};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// A cloud of particles: `rows` points of dimension `dim`, row-major.
/// Directions per sliced-W2 estimate where a caller gives none (the studies, `distance`, the
/// Python package).
pub const DEFAULT_PROJECTIONS: usize = 200;
/// Projection seeds where a caller gives none: the spread of the sliced W2 is over these.
pub const DEFAULT_PROJECTION_SEEDS: &[u64] = &[0, 1, 2];

#[derive(Debug, Clone, Copy)]
pub struct Cloud<'a> {
    pub values: &'a [f32],
    pub dim: usize,
}

impl<'a> Cloud<'a> {
    pub fn new(values: &'a [f32], dim: usize) -> Result<Self, ChaosError> {
        if dim == 0 || !values.len().is_multiple_of(dim) {
            return Err(ChaosError::Ragged {
                values: values.len(),
                dim,
            });
        }
        Ok(Self { values, dim })
    }

    pub fn rows(&self) -> usize {
        self.values.len() / self.dim
    }

    fn project(&self, theta: &[f64]) -> Vec<f64> {
        self.values
            .chunks_exact(self.dim)
            .map(|row| row.iter().zip(theta).map(|(x, t)| *x as f64 * t).sum())
            .collect()
    }
}

/// Joins two matrices with the same number of rows side by side ([N, p] and [N, C] → [N, p + C]):
/// a particle of a trainable-readout network is its hidden row and its readout row.
pub fn concat_columns(
    left: &[f32],
    left_dim: usize,
    right: &[f32],
    right_dim: usize,
) -> Result<Vec<f32>, ChaosError> {
    if left_dim == 0
        || right_dim == 0
        || !left.len().is_multiple_of(left_dim)
        || !right.len().is_multiple_of(right_dim)
        || left.len() / left_dim != right.len() / right_dim
    {
        return Err(ChaosError::Ragged {
            values: left.len() + right.len(),
            dim: left_dim + right_dim,
        });
    }
    Ok(left
        .chunks_exact(left_dim)
        .zip(right.chunks_exact(right_dim))
        .flat_map(|(a, b)| a.iter().chain(b).copied())
        .collect())
}

/// The most directions a sliced W2 takes: beyond 10^6 the Monte Carlo error (about
/// 1/√projections of the estimate) is below 0.1%, and the call would run for hours.
pub const MAX_PROJECTIONS: usize = 1_000_000;

/// Refuses more directions than [`MAX_PROJECTIONS`] (and none).
pub fn check_projections(projections: usize) -> Result<(), ChaosError> {
    if projections == 0 {
        return Err(ChaosError::NoProjections);
    }
    if projections > MAX_PROJECTIONS {
        return Err(ChaosError::Invalid(format!(
            "`projections` {projections}: at most {MAX_PROJECTIONS} (the estimate's Monte Carlo error is already below 0.1% there)"
        )));
    }
    Ok(())
}

/// Sliced W2 with `projections` directions from `seed`.
pub fn sliced_w2(a: Cloud, b: Cloud, projections: usize, seed: u64) -> Result<f64, ChaosError> {
    check_projections(projections)?;
    if a.dim != b.dim {
        return Err(ChaosError::Dimension {
            left: a.dim,
            right: b.dim,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0.0;
    for _ in 0..projections {
        let mut theta: Vec<f64> = (0..a.dim)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let norm = theta
            .iter()
            .map(|t| t * t)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        theta.iter_mut().for_each(|t| *t /= norm);
        let pa = sort_checked(&a.project(&theta), "the first cloud")?;
        let pb = sort_checked(&b.project(&theta), "the second cloud")?;
        total += w2_squared_sorted(&pa, &pb);
    }
    Ok((total / projections as f64).sqrt())
}

/// Mean and standard deviation of the sliced W2 over several projection seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlicedW2 {
    pub mean: f64,
    pub std: f64,
    pub seeds: usize,
}

/// Refuses a list of projection seeds that is empty or gives a seed twice (one set of
/// directions counted twice would shrink the spread).
pub fn check_projection_seeds(seeds: &[u64]) -> Result<(), ChaosError> {
    if seeds.is_empty() {
        return Err(ChaosError::Invalid(
            "`projection_seeds` is empty: give at least one seed".into(),
        ));
    }
    // A seed twice would count one set of directions twice and shrink the spread.
    if let Some((i, s)) = crate::first_repeat(seeds) {
        return Err(ChaosError::Invalid(format!(
            "`projection_seeds` gives seed {s} twice (at position {i}): give each seed once"
        )));
    }
    Ok(())
}

pub fn sliced_w2_seeds(
    a: Cloud,
    b: Cloud,
    projections: usize,
    seeds: &[u64],
) -> Result<SlicedW2, ChaosError> {
    check_projection_seeds(seeds)?;
    let values = seeds
        .iter()
        .map(|&s| sliced_w2(a, b, projections, s))
        .collect::<Result<Vec<f64>, _>>()?;
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Ok(SlicedW2 {
        mean,
        std: var.sqrt(),
        seeds: values.len(),
    })
}
