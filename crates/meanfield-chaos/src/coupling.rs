//! The synchronous-coupling distance of Theorems 1 and 2: how far particle k of one run is from
//! particle k of another run started at the same point, along a shared time grid.
//!
//! For two runs whose particles are given at the same times t_0, …, t_J (each a matrix
//! [rows, dim], row k = particle k), over the particles both runs have (k < min(rows)):
//!
//! - `per_time[j]` = mean_k |W^k_{t_j} − V^k_{t_j}|², the coupling error at time t_j;
//! - `sup` = mean_k max_j |W^k_{t_j} − V^k_{t_j}|², the theorems' E sup_t |·|² with the sup
//!   taken over the grid and the expectation over the (exchangeable) particles.
//!
//! Symmetric in its two runs; zero for identical trajectories. Sums are in f64.
//!
//! D is a mean of squares: it estimates a finite number only when the particles' sup
//! displacements max_j |Δ_k(t_j)| have a finite second moment. `tail` is Hill's index of those
//! displacements ([`crate::tail`]); when its interval is not above 2, D cannot converge.

use crate::ChaosError;
use serde::{Deserialize, Serialize};

/// The distance between two coupled trajectories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouplingDistance {
    /// mean_k |Δ_k(t_j)|² for each time of the grid.
    pub per_time: Vec<f64>,
    /// mean_k max_j |Δ_k(t_j)|².
    pub sup: f64,
    /// Particles compared.
    pub particles: usize,
    /// Hill's tail index of max_j |Δ_k(t_j)| across the particles (k = ⌊√n⌋), with its 95%
    /// interval; `None` below 20 particles or when too few of them moved apart.
    #[serde(default)]
    pub tail: Option<crate::tail::HillPoint>,
    /// max_j |Δ_k(t_j)|² for each particle k (their mean is `sup`; bootstraps resample them).
    #[serde(default, skip_serializing)]
    pub per_particle: Vec<f64>,
}

impl CouplingDistance {
    /// False when the displacements' tail index interval is not above 2 (D cannot converge).
    pub fn d_meaningful(&self) -> bool {
        self.tail
            .as_ref()
            .is_none_or(|t| crate::tail::verdict(t).w2_meaningful())
    }
}

/// The coupling distance between trajectories `a` and `b`: `a[j]` and `b[j]` are the particles
/// at time t_j, row-major with `dim` coordinates per particle.
pub fn coupling_distance(
    a: &[Vec<f32>],
    b: &[Vec<f32>],
    dim: usize,
) -> Result<CouplingDistance, ChaosError> {
    if a.is_empty() || b.is_empty() {
        return Err(ChaosError::Empty {
            what: "a trajectory (no snapshot times)",
        });
    }
    if a.len() != b.len() {
        return Err(ChaosError::Times {
            left: a.len(),
            right: b.len(),
        });
    }
    let rows = |m: &Vec<f32>| -> Result<usize, ChaosError> {
        if dim == 0 || !m.len().is_multiple_of(dim) {
            return Err(ChaosError::Ragged {
                values: m.len(),
                dim,
            });
        }
        if let Some(index) = m.iter().position(|v| !v.is_finite()) {
            return Err(ChaosError::NotFinite {
                what: "a snapshot",
                index,
            });
        }
        Ok(m.len() / dim)
    };
    let mut particles = usize::MAX;
    for m in a.iter().chain(b) {
        particles = particles.min(rows(m)?);
    }
    if particles == 0 {
        return Err(ChaosError::Empty {
            what: "a snapshot (no particles)",
        });
    }
    let mut sup = vec![0.0f64; particles];
    let mut per_time = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        let mut total = 0.0;
        for (k, best) in sup.iter_mut().enumerate() {
            let d: f64 = x[k * dim..(k + 1) * dim]
                .iter()
                .zip(&y[k * dim..(k + 1) * dim])
                .map(|(u, v)| (*u as f64 - *v as f64).powi(2))
                .sum();
            total += d;
            *best = best.max(d);
        }
        per_time.push(total / particles as f64);
    }
    let norms: Vec<f64> = sup.iter().map(|d| d.sqrt()).collect();
    let tail = (particles >= 20)
        .then(|| crate::tail::hill_upper(&norms, crate::tail::default_k(particles)).ok())
        .flatten();
    Ok(CouplingDistance {
        per_time,
        sup: sup.iter().sum::<f64>() / particles as f64,
        particles,
        tail,
        per_particle: sup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: two particles in R², two times.
    /// t0: a = [(0,0), (1,1)], b = [(0,0), (1,2)] → |Δ|² = 0, 1 → mean 0.5;
    /// t1: a = [(1,0), (0,0)], b = [(0,2), (0,0)] → |Δ|² = 1 + 4 = 5, 0 → mean 2.5;
    /// sup per particle: 5, 1 → mean 3.
    #[test]
    fn hand_computed_case_and_symmetry() {
        let a = vec![vec![0.0, 0.0, 1.0, 1.0], vec![1.0, 0.0, 0.0, 0.0]];
        let b = vec![vec![0.0, 0.0, 1.0, 2.0], vec![0.0, 2.0, 0.0, 0.0]];
        let d = coupling_distance(&a, &b, 2).unwrap();
        assert_eq!(d.per_time, vec![0.5, 2.5]);
        assert_eq!(d.sup, 3.0);
        assert_eq!(d.particles, 2);
        assert_eq!(coupling_distance(&b, &a, 2).unwrap(), d);
        let same = coupling_distance(&a, &a, 2).unwrap();
        assert_eq!((same.sup, same.per_time), (0.0, vec![0.0, 0.0]));
    }

    /// Runs of different widths compare their common particles (the first min(N) rows).
    #[test]
    fn compares_the_common_particles_and_rejects_bad_input() {
        let a = vec![vec![1.0, 1.0]];
        let b = vec![vec![1.0, 3.0, 7.0, 7.0]];
        let d = coupling_distance(&a, &b, 2).unwrap();
        assert_eq!((d.particles, d.sup), (1, 4.0));
        assert!(matches!(
            coupling_distance(&a, &[vec![1.0, 1.0], vec![1.0, 1.0]], 2),
            Err(ChaosError::Times { left: 1, right: 2 })
        ));
        assert!(coupling_distance(&a, &[vec![1.0, 1.0, 1.0]], 2).is_err());
        assert!(coupling_distance(&a, &[vec![f32::NAN, 1.0]], 2).is_err());
        assert!(coupling_distance(&[], &[], 2).is_err());
    }
}
