//! How much memory a run needs, checked before anything large is allocated, so a width that
//! cannot fit is refused with both numbers and the ways out instead of an allocation abort.
//!
//! The estimate, in bytes, with W = 4·N·(p + C) the weights (float32) and W1 = 4·N·p:
//! - the weights, W;
//! - the step's workspace: 0.6·W1 for the closed-form engine on Flex (the fused update; the peak
//!   measured at N = 10^6 on MNIST is 1.6·W1, docs/performance.md), 1.0·W1 for the closed-form
//!   engine elsewhere (the W1 gradient, whole or in blocks), 2.0·W1 for autodiff (the gradient
//!   and the graph's copies);
//! - for the particle diffusion, 28·N bytes per row of the step's examples (the weights q, the
//!   pre-activations, activations and their gradient, float32, and the multipliers, float64),
//!   the drift set's and the noise set's rows counted separately (an upper bound: drawn sets
//!   share their rows) and every example counted when a set is the full training set;
//! - the Polyak average, W, when averaging is on;
//! - the data, 4·p per training and test example.
//!
//! Checked against the memory available on the machine (Linux `MemAvailable`) for the CPU
//! backends. For wgpu and cuda the device's free memory is not asked (Burn 0.22 exposes no
//! query for it), so only the host side, the weights drawn there and the data, is checked.

use crate::{Backend, Dynamics, Engine, TrainConfig, TrainError};

/// The parts of the estimate, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryEstimate {
    pub weights: f64,
    pub workspace: f64,
    pub average: f64,
    pub data: f64,
}

impl MemoryEstimate {
    pub fn total(&self) -> f64 {
        self.weights + self.workspace + self.average + self.data
    }
}

/// The estimate for `config` on data of `examples` rows of `p` features and `classes` classes.
pub fn estimate(config: &TrainConfig, p: usize, classes: usize, examples: usize) -> MemoryEstimate {
    estimate_for(config, config.net_width(), p, classes, examples)
}

/// [`estimate`] for a process holding `particles` of the network (a shard's block).
fn estimate_for(
    config: &TrainConfig,
    particles: usize,
    p: usize,
    classes: usize,
    examples: usize,
) -> MemoryEstimate {
    let n = particles as f64;
    let w1 = 4.0 * n * p as f64;
    let weights = 4.0 * n * (p + classes) as f64;
    let workspace = match (config.engine, config.backend) {
        (Engine::ClosedForm, Backend::Flex) => 0.6 * w1,
        (Engine::ClosedForm, _) => w1,
        (Engine::Autodiff, _) => 2.0 * w1,
    } + match config.dynamics {
        Dynamics::Sgd => 0.0,
        Dynamics::Diffusion => {
            let rows = config.drift_set.size(config.batch, examples)
                + config.noise_set.size(config.batch, examples);
            28.0 * n * rows as f64
        }
    };
    MemoryEstimate {
        weights,
        workspace,
        average: if config.average_from.is_some() {
            weights
        } else {
            0.0
        },
        data: 4.0 * (examples * p) as f64,
    }
}

/// Bytes of memory available on this machine (Linux: `MemAvailable` of /proc/meminfo).
pub fn available() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = text
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

fn gb(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

/// Refuses a run that cannot fit in `available` bytes (when known), naming both numbers and the
/// ways out. With `shards` processes (a sharded run, [`crate::shard`]) the numbers are one
/// process's: its block of at most ⌈N/S⌉ particles, and the whole data set (every process
/// holds it).
pub fn check(
    config: &TrainConfig,
    p: usize,
    classes: usize,
    examples: usize,
    available: Option<f64>,
    shards: usize,
) -> Result<(), TrainError> {
    let Some(available) = available else {
        return Ok(());
    };
    let shards = shards.max(1);
    let particles = config.net_width().div_ceil(shards);
    let mut e = estimate_for(config, particles, p, classes, examples);
    if matches!(config.backend, Backend::Wgpu | Backend::Cuda) {
        // Host side only: the initial weights are drawn on the host, then the data.
        e = MemoryEstimate {
            workspace: 0.0,
            average: 0.0,
            ..e
        };
    }
    if e.total() <= available {
        return Ok(());
    }
    let per_particle = (e.total() - e.data) / particles as f64;
    let room = (available - e.data).max(0.0);
    let fits = (room / per_particle * shards as f64) as u64;
    let mut ways = vec![format!("a smaller `width` (about N ≤ {fits} fits here)")];
    if room > 0.0 {
        // Each process holds ⌈N/S⌉ particles and the whole data set.
        let needed = (per_particle * config.net_width() as f64 / room).ceil() as usize;
        if needed > shards && needed <= config.net_width() {
            ways.push(format!(
                "shard the run over S ≥ {needed} processes of this size, e.g. `mpirun -n {needed} experiments …` (build with --features mpi; docs/cluster.md)"
            ));
        }
    }
    if !config.identical_particles {
        ways.push(
            "`identical_particles = true` when every particle starts at the same point (both inits const:<c>, no noise): N particles then cost what one does"
                .into(),
        );
    }
    ways.push("a machine or device with more memory".into());
    Err(TrainError::TooLarge {
        width: config.width,
        per_process: if shards > 1 {
            format!(" for each of {shards} processes ({particles} particles each)")
        } else {
            String::new()
        },
        needed: format!(
            "{} (weights {}, step workspace {}, Polyak average {}, data {})",
            gb(e.total()),
            gb(e.weights),
            gb(e.workspace),
            gb(e.average),
            gb(e.data)
        ),
        available: gb(available),
        ways: ways.join("; or "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimate against its definition: N = 10^6 on MNIST (p = 784, C = 10), Flex
    /// closed-form, no average: W1 = 3.136 GB, weights 3.176 GB, workspace 0.6·W1 = 1.8816 GB
    /// (the measured peak 5.02 GB is 1.6·W1 = 5.0176 GB plus the process).
    #[test]
    fn estimate_and_refusal() {
        let config = TrainConfig {
            width: 1_000_000,
            ..TrainConfig::default()
        };
        let e = estimate(&config, 784, 10, 0);
        assert!((e.weights - 3.176e9).abs() < 1.0);
        assert!((e.workspace - 1.8816e9).abs() < 1.0);
        assert_eq!((e.average, e.data), (0.0, 0.0));
        assert!(check(&config, 784, 10, 0, Some(6e9), 1).is_ok());
        assert!(check(&config, 784, 10, 0, None, 1).is_ok());
        let err = check(&config, 784, 10, 0, Some(4e9), 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("N = 1000000")
                && err.contains("5.1 GB")
                && err.contains("4.0 GB")
                // 4e9 / 5.0576e9 per 10^6 particles = 790,888.6 particles.
                && err.contains("N ≤ 790888")
                && err.contains("identical_particles")
                // 5.0576e9 / 4e9 = 1.26: two processes of this size.
                && err.contains("S ≥ 2 processes"),
            "{err}"
        );
        // Sharded: one process's block of ⌈10^6/2⌉ particles, 2.53 GB, fits in 4 GB; over 3
        // processes of 1 GB each, 333,334 particles (1.69 GB) do not, and 6 would.
        assert!(check(&config, 784, 10, 0, Some(4e9), 2).is_ok());
        let err = check(&config, 784, 10, 0, Some(1e9), 3)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("for each of 3 processes (333334 particles each)")
                && err.contains("S ≥ 6 processes"),
            "{err}"
        );
    }
}
