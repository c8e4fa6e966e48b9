//! Initial laws of the weights.
//!
//! - `pytorch`: U(±1/sqrt(fan_in)), PyTorch's default for a bias-free linear layer and the
//!   authors' code: fan_in = p for W1, N for the readout.
//! - `normal:<std>`: N(0, std²) per entry. `uniform:<a>`: U(−a, a). `const:<c>`: every entry c
//!   (Figure 2 uses `const:0.01` for both layers).
//!
//! Weights are drawn on the CPU from ChaCha8 streams of the run's initial-weight seed, one
//! stream per particle ([`crate::MeanFieldNetConfig::sample_particles`]), so a seed gives the
//! same initial weights on every backend and at every width (the first N particles).

use crate::ModelError;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    Pytorch,
    Normal(f64),
    Uniform(f64),
    Const(f64),
}

impl Init {
    /// Whether the law depends on the layer's fan-in (and so, for the readout, on N).
    pub fn depends_on_fan_in(&self) -> bool {
        matches!(self, Init::Pytorch)
    }

    /// Draws `rows × cols` values, row-major.
    pub fn sample(
        &self,
        rows: usize,
        cols: usize,
        fan_in: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<f32> {
        let n = rows * cols;
        match *self {
            // a·U(−1, 1): the same draws scaled, so laws that differ only in a (the pytorch
            // readout at two widths) stay coupled draw for draw.
            Init::Pytorch => {
                let a = 1.0 / (fan_in as f64).sqrt();
                (0..n)
                    .map(|_| (a * rng.random_range(-1.0..1.0f64)) as f32)
                    .collect()
            }
            Init::Uniform(a) if a > 0.0 => (0..n)
                .map(|_| (a * rng.random_range(-1.0..1.0f64)) as f32)
                .collect(),
            Init::Uniform(_) => vec![0.0; n],
            Init::Normal(std) => {
                let law = Normal::new(0.0, std).expect("std validated at parse time");
                (0..n).map(|_| law.sample(rng) as f32).collect()
            }
            Init::Const(c) => vec![c as f32; n],
        }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Pytorch => write!(f, "pytorch"),
            Init::Normal(s) => write!(f, "normal:{s}"),
            Init::Uniform(a) => write!(f, "uniform:{a}"),
            Init::Const(c) => write!(f, "const:{c}"),
        }
    }
}

impl FromStr for Init {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let value = |what: &str| -> Result<f64, ModelError> {
            let arg = arg.ok_or_else(|| ModelError::BadInitParameter {
                spec: s.to_string(),
                reason: format!("`{kind}` needs a {what}, e.g. `{kind}:0.01`"),
            })?;
            let v: f64 = arg.parse().map_err(|_| ModelError::BadInitParameter {
                spec: s.to_string(),
                reason: format!("{arg:?} is not a number"),
            })?;
            // The weights are float32: a parameter beyond its range would start at infinity.
            if v.is_finite() && v.abs() <= f32::MAX as f64 {
                Ok(v)
            } else {
                Err(ModelError::BadInitParameter {
                    spec: s.to_string(),
                    reason: format!(
                        "the parameter must be a finite float32 (|x| ≤ {:e})",
                        f32::MAX
                    ),
                })
            }
        };
        let nonneg = |v: f64, what: &str| {
            if v >= 0.0 {
                Ok(v)
            } else {
                Err(ModelError::BadInitParameter {
                    spec: s.to_string(),
                    reason: format!("the {what} must be ≥ 0"),
                })
            }
        };
        match kind {
            "pytorch" if arg.is_none() => Ok(Init::Pytorch),
            "normal" => Ok(Init::Normal(nonneg(
                value("standard deviation")?,
                "standard deviation",
            )?)),
            "uniform" => Ok(Init::Uniform(nonneg(value("half-width")?, "half-width")?)),
            "const" => Ok(Init::Const(value("value")?)),
            _ => Err(ModelError::UnknownInit(s.to_string())),
        }
    }
}

impl TryFrom<String> for Init {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Init> for String {
    fn from(i: Init) -> String {
        i.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in ["pytorch", "normal:0.5", "uniform:1", "const:0.01"] {
            let i: Init = s.parse().unwrap();
            assert_eq!(i.to_string(), s);
        }
        for bad in [
            "gauss",
            "normal",
            "normal:x",
            "uniform:-1",
            "const:inf",
            "pytorch:2",
        ] {
            assert!(bad.parse::<Init>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn pytorch_law_has_the_right_support_and_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let v = Init::Pytorch.sample(400, 100, 784, &mut rng);
        let a = 1.0 / 28.0;
        assert!(v.iter().all(|x| x.abs() <= a as f32));
        // Var U(-a, a) = a²/3; 40000 draws: relative error of the sample variance ~ 0.6%.
        let var = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((var / (a * a / 3.0) - 1.0).abs() < 0.03, "variance {var}");
    }
}
