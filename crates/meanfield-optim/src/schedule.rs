//! The step-size schedule of eq. (2) and the horizon `n_T`.
//!
//! ```text
//! step(n)      = γ N^β (n + 1/γ_{α,β}(N))^(-α)
//! γ_{α,β}(N)   = γ^(1/(1-α)) N^((β-1)/(1-α))
//! n_T          = floor(T / γ_{α,β}(N))
//! t(n)         = n · γ_{α,β}(N)          (continuous time reached after n steps)
//! ```
//! Everything is computed in f64; the value handed to the optimizer is cast at the last moment.

use crate::OptimError;
use serde::{Deserialize, Serialize};

/// Hyperparameters of the schedule. `validate` checks the paper's ranges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScheduleConfig {
    /// γ > 0, the base step.
    pub gamma: f64,
    /// α in [0, 1), the decay exponent (0: constant step).
    pub alpha: f64,
    /// β in [0, 1], the width exponent.
    pub beta: f64,
    /// N ≥ 1, the number of hidden neurons (particles).
    pub width: usize,
    /// T > 0, the continuous-time horizon.
    pub horizon: f64,
}

/// A validated schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    config: ScheduleConfig,
    time_step: f64,
}

fn check(
    flag: &'static str,
    value: f64,
    ok: bool,
    allowed: &'static str,
) -> Result<(), OptimError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(OptimError::OutOfRange {
            flag,
            value,
            allowed,
        })
    }
}

impl ScheduleConfig {
    /// Checks every range of the paper and builds the schedule.
    pub fn init(&self) -> Result<Schedule, OptimError> {
        check("`gamma`", self.gamma, self.gamma > 0.0, "finite and > 0")?;
        check(
            "`alpha`",
            self.alpha,
            (0.0..1.0).contains(&self.alpha),
            "in [0, 1)",
        )?;
        check(
            "`beta`",
            self.beta,
            (0.0..=1.0).contains(&self.beta),
            "in [0, 1]",
        )?;
        check(
            "`width`",
            self.width as f64,
            self.width >= 1,
            "an integer ≥ 1",
        )?;
        check(
            "`horizon`",
            self.horizon,
            self.horizon > 0.0,
            "finite and > 0",
        )?;
        let n = self.width as f64;
        let time_step = self.gamma.powf(1.0 / (1.0 - self.alpha))
            * n.powf((self.beta - 1.0) / (1.0 - self.alpha));
        Ok(Schedule {
            config: *self,
            time_step,
        })
    }
}

impl Schedule {
    /// The settings this schedule was built from.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// γ_{α,β}(N): the continuous time one step advances.
    pub fn time_step(&self) -> f64 {
        self.time_step
    }

    /// n_T = floor(T / γ_{α,β}(N)).
    ///
    /// A quotient within a relative 1e-9 of an integer is taken as that integer before the
    /// floor, so that a ratio that is an integer in exact arithmetic (β = 1, γ = 0.1, T = 10000
    /// → 100000) is not floored to one less by the rounding of `γ^(1/(1-α))`.
    pub fn horizon_steps(&self) -> u64 {
        self.steps_to(self.config.horizon)
    }

    /// ⌊t / γ_{α,β}(N)⌋, the last step at or before continuous time t ≥ 0, with the same
    /// tolerance as [`Self::horizon_steps`] (so t = T gives n_T).
    pub fn steps_to(&self, t: f64) -> u64 {
        let ratio = t / self.time_step;
        let nearest = ratio.round();
        if (ratio - nearest).abs() <= 1e-9 * nearest.max(1.0) {
            nearest as u64
        } else {
            ratio.floor() as u64
        }
    }

    /// The step size at step n (n = 0 is the first step).
    pub fn step_size(&self, n: u64) -> f64 {
        let c = self.config;
        let scale = c.gamma * (c.width as f64).powf(c.beta);
        if c.alpha == 0.0 {
            scale
        } else {
            scale * (n as f64 + 1.0 / self.time_step).powf(-c.alpha)
        }
    }

    /// The per-particle step η_n = step(n) / N: how far one neuron moves per unit of its O(1)
    /// mean-field drift (the gradient of the batch loss with respect to one particle is O(1/N)).
    pub fn particle_step(&self, n: u64) -> f64 {
        self.step_size(n) / self.config.width as f64
    }

    /// Continuous time after n steps: t = n · γ_{α,β}(N).
    pub fn time(&self, n: u64) -> f64 {
        n as f64 * self.time_step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(gamma: f64, alpha: f64, beta: f64, width: usize, horizon: f64) -> u64 {
        ScheduleConfig {
            gamma,
            alpha,
            beta,
            width,
            horizon,
        }
        .init()
        .unwrap()
        .horizon_steps()
    }

    // Expected step counts: docs/paper.md, "Experiments" (Figure 1 protocol) and Table 1.
    #[test]
    fn figure1_step_counts() {
        assert_eq!(steps(1.0, 0.0, 0.75, 500, 100.0), 472);
        assert_eq!(steps(1.0, 0.0, 0.75, 50_000, 100.0), 1495);
        assert_eq!(steps(1.0, 0.0, 0.5, 500, 100.0), 2236);
        assert_eq!(steps(1.0, 0.0, 0.5, 50_000, 100.0), 22360);
        for n in [1, 100, 500, 5000, 50_000, 1_000_000] {
            assert_eq!(steps(1.0, 0.0, 1.0, n, 100.0), 100, "beta = 1, N = {n}");
        }
    }

    #[test]
    fn table1_step_counts() {
        assert_eq!(steps(0.1, 0.0, 0.75, 5000, 10_000.0), 840_896);
        assert_eq!(steps(0.1, 0.0, 0.75, 10_000, 10_000.0), 1_000_000);
        assert_eq!(steps(0.1, 0.0, 0.75, 50_000, 10_000.0), 1_495_348);
        for n in [5000, 10_000, 50_000] {
            assert_eq!(steps(0.1, 0.0, 1.0, n, 10_000.0), 100_000);
        }
    }

    /// The schedule at α > 0 against values computed by hand at N = 1000 = 10^3, T = 100, γ = 1,
    /// where every quantity is a power of ten: γ_{α,β}(N) = 10^(3(β−1)/(1−α)), n_T = ⌊100 /
    /// γ_{α,β}⌋, step n = 10^(3β) (n + 1/γ_{α,β})^(−α).
    /// - β = 0.75, α = 0: γ_{α,β} = 10^−0.75, n_T = ⌊562.34⌋ = 562 (the README's run), every
    ///   step 10^2.25 = 177.83.
    /// - β = 0.75, α = 0.25: γ_{α,β} = 10^−1, n_T = 1000; step 0 = 10^2.25 · 10^−0.25 = 100,
    ///   step 9990 = 10^2.25 · (10^4)^−0.25 = 10^1.25.
    /// - β = 0.75, α = 0.5: γ_{α,β} = 10^−1.5, n_T = ⌊3162.28⌋ = 3162; step 0 = 10^2.25 ·
    ///   10^−0.75 = 10^1.5.
    /// - β = 0.5, α = 0.5: γ_{α,β} = 10^−3, n_T = 100000; step 0 = 10^1.5 · 10^−1.5 = 1, step
    ///   9000 = 10^1.5 · (10^4)^−0.5 = 10^−0.5.
    #[test]
    fn decaying_steps_by_hand() {
        // (α, β, log10 γ_{α,β}(N), n_T, [(step n, log10 of its size)]).
        type Case = (f64, f64, f64, u64, &'static [(u64, f64)]);
        let cases: [Case; 4] = [
            (0.0, 0.75, -0.75, 562, &[(0, 2.25), (561, 2.25)]),
            (0.25, 0.75, -1.0, 1000, &[(0, 2.0), (9990, 1.25)]),
            (0.5, 0.75, -1.5, 3162, &[(0, 1.5)]),
            (0.5, 0.5, -3.0, 100_000, &[(0, 0.0), (9000, -0.5)]),
        ];
        for (alpha, beta, log_time_step, n_t, steps) in cases {
            let s = ScheduleConfig {
                gamma: 1.0,
                alpha,
                beta,
                width: 1000,
                horizon: 100.0,
            }
            .init()
            .unwrap();
            let expected = 10f64.powf(log_time_step);
            assert!(
                (s.time_step() - expected).abs() <= 1e-12 * expected,
                "α = {alpha}, β = {beta}"
            );
            assert_eq!(s.horizon_steps(), n_t, "α = {alpha}, β = {beta}");
            for &(n, log_step) in steps {
                let expected = 10f64.powf(log_step);
                let got = s.step_size(n);
                assert!(
                    (got - expected).abs() <= 1e-12 * expected,
                    "α = {alpha}, β = {beta}, step {n}: {got}"
                );
            }
        }
    }

    /// Independent recomputation of eq. (2) for α > 0, written from the formula with exp/ln
    /// instead of powf, in f64.
    #[test]
    fn alpha_positive_matches_independent_formula() {
        for &(gamma, alpha, beta, width) in &[
            (1.0, 0.5, 0.75, 1000usize),
            (0.1, 0.25, 1.0, 500),
            (2.0, 0.9, 0.0, 64),
            (0.5, 0.3, 0.5, 10_000),
        ] {
            let s = ScheduleConfig {
                gamma,
                alpha,
                beta,
                width,
                horizon: 10.0,
            }
            .init()
            .unwrap();
            let n_f = width as f64;
            let g_ab = ((gamma.ln() + (beta - 1.0) * n_f.ln()) / (1.0 - alpha)).exp();
            assert!((s.time_step() - g_ab).abs() <= 1e-12 * g_ab);
            for step in [0u64, 1, 7, 1000, 123_456] {
                let expected =
                    (gamma.ln() + beta * n_f.ln() - alpha * (step as f64 + 1.0 / g_ab).ln()).exp();
                let got = s.step_size(step);
                assert!(
                    (got - expected).abs() <= 1e-12 * expected,
                    "step {step}: {got} vs {expected}"
                );
            }
            // n_T to the last unit where it is below 2^53 / 10^4 (beyond, f64 itself cannot
            // tell neighbouring counts apart and the two formulas may differ by rounding).
            let expected = (10.0 / g_ab).floor();
            let got = s.horizon_steps() as f64;
            assert!(
                (got - expected).abs() <= 1f64.max(1e-12 * expected),
                "n_T {got} vs {expected}"
            );
        }
    }

    #[test]
    fn alpha_zero_step_is_constant() {
        let s = ScheduleConfig {
            gamma: 1.0,
            alpha: 0.0,
            beta: 0.75,
            width: 10_000,
            horizon: 100.0,
        }
        .init()
        .unwrap();
        // γ N^β = 10^4^0.75 = 1000.
        assert!((s.step_size(0) - 1000.0).abs() < 1e-9);
        assert!((s.step_size(999) - 1000.0).abs() < 1e-9);
        assert!((s.particle_step(0) - 0.1).abs() < 1e-12);
        assert!((s.time(1000) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn rejects_out_of_range_values_naming_the_flag() {
        let good = ScheduleConfig {
            gamma: 1.0,
            alpha: 0.0,
            beta: 0.5,
            width: 10,
            horizon: 1.0,
        };
        let cases = [
            (ScheduleConfig { gamma: 0.0, ..good }, "`gamma`"),
            (
                ScheduleConfig {
                    gamma: f64::NAN,
                    ..good
                },
                "`gamma`",
            ),
            (ScheduleConfig { alpha: 1.0, ..good }, "`alpha`"),
            (
                ScheduleConfig {
                    alpha: -0.1,
                    ..good
                },
                "`alpha`",
            ),
            (ScheduleConfig { beta: 1.5, ..good }, "`beta`"),
            (
                ScheduleConfig {
                    beta: f64::INFINITY,
                    ..good
                },
                "`beta`",
            ),
            (ScheduleConfig { width: 0, ..good }, "`width`"),
            (
                ScheduleConfig {
                    horizon: -1.0,
                    ..good
                },
                "`horizon`",
            ),
        ];
        for (config, flag) in cases {
            let err = config.init().unwrap_err().to_string();
            assert!(err.contains(flag), "{err} should name {flag}");
        }
    }
}
