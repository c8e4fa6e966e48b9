//! The largest buffer a device holds, and what of a run must fit in one.
//!
//! A GPU binds each tensor of a kernel as one storage buffer, and an adapter caps its size
//! (wgpu's `maxStorageBufferBindingSize`, at most `maxBufferSize`: 128 MiB on Mesa's software
//! Vulkan adapter, commonly 2–4 GiB on real GPUs). Burn allocates a tensor in one buffer, so a
//! tensor above the limit cannot exist there: W1 alone is 4·N·p bytes, 156.8 MB at N = 50000 on
//! MNIST. This module reads the limit ([`limit`]) and refuses, before anything is allocated, a
//! run whose block of particles would not fit ([`check`]), naming the limit, the particles per
//! process that fit and the ways out; the training set is kept on the device and evaluation
//! chunks are sized under the same limit ([`crate::batches::Placement`],
//! [`crate::evaluate::evaluate_in`]).

use crate::diffusion::DiffusionStep;
use crate::{Backend, Dynamics, TrainConfig, TrainError};
use burn::tensor::Device;

/// The device's own limit on one buffer, in bytes; `None` on the CPU backends (whose tensors
/// are host memory).
pub fn device_limit(device: &Device) -> Option<u64> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    {
        #[allow(irrefutable_let_patterns)]
        if let burn_dispatch::DispatchDevice::Cube(cube) = device.as_dispatch() {
            return Some(cube.client().properties().memory.max_page_size);
        }
    }
    let _ = device;
    None
}

/// The limit a run works under, and where it comes from: the lower of the setting's
/// `max_buffer_bytes` (a lower limit, to try a GPU's on a CPU) and the device's own
/// ([`device_limit`]).
pub fn limit(config: &TrainConfig, device: &Device) -> Option<(u64, String)> {
    let own = device_limit(device).map(|b| (b, format!("the {} device's limit", config.backend)));
    let set = config
        .max_buffer_bytes
        .map(|b| (b, "`max_buffer_bytes`".to_string()));
    match (set, own) {
        (Some(s), Some(o)) => Some(if s.0 < o.0 { s } else { o }),
        (s, o) => s.or(o),
    }
}

/// The most blocks a run is split into in one process (one thread each): every step
/// exchanges the logits among all of them, which costs more than the step beyond a few dozen
/// threads (measured: 50 blocks spent 85% of their time exchanging, 200 blocks 97%).
pub const MAX_BLOCKS: usize = 64;

/// The examples of one step: the batch (M), or for the particle diffusion the rows its drift
/// and noise sets gather (the training set of `examples` when a set is full, then the drawn
/// examples; [`DiffusionStep::rows`]).
fn step_rows(config: &TrainConfig, examples: usize) -> usize {
    match config.dynamics {
        Dynamics::Sgd => config.batch,
        Dynamics::Diffusion => {
            DiffusionStep::new(config.drift_set, config.noise_set, config.batch, examples).rows()
        }
    }
}

/// The bytes of the largest tensor a run holds per particle row: W1's row (p floats), the
/// step's pre-activations over its examples (M, or the diffusion's rows, over which it also
/// holds each particle's weights).
pub fn row_bytes(config: &TrainConfig, p: usize, examples: usize) -> u64 {
    4 * p.max(step_rows(config, examples)) as u64
}

/// The bytes of the step's examples, [rows, p]: one tensor however the particles are split.
pub fn batch_bytes(config: &TrainConfig, p: usize, examples: usize) -> u64 {
    4 * (step_rows(config, examples) * p) as u64
}

/// "1 row", "2 rows".
fn count(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// What lowers the need or raises the limit, whatever else applies.
fn common_ways(config: &TrainConfig) -> Vec<String> {
    let mut ways = Vec::new();
    if let Some(set) = config.max_buffer_bytes {
        ways.push(format!(
            "a larger `max_buffer_bytes` than {set} (or none; the device's own limit, if it has one, still applies)"
        ));
    }
    if config.dynamics == Dynamics::Diffusion {
        ways.push("smaller `drift_set` and `noise_set` (a drawn set instead of full)".into());
    }
    if config.max_buffer_bytes.is_none()
        && config.backend != Backend::Flex
        && config.backend != Backend::Ndarray
    {
        ways.push("`backend` flex (the CPU has no such limit)".into());
    }
    ways
}

/// Refuses a block of `rows` particles (a process's share of the run's width, `processes` of
/// them) whose largest tensor would not fit in one buffer of `limit` bytes.
pub fn check(
    config: &TrainConfig,
    p: usize,
    examples: usize,
    rows: usize,
    processes: usize,
    (limit, source): (u64, String),
) -> Result<(), TrainError> {
    let width = config.net_width();
    let batch = batch_bytes(config, p, examples);
    if batch > limit {
        let mut ways = vec![match config.dynamics {
            Dynamics::Sgd => "a smaller `batch`".to_string(),
            Dynamics::Diffusion => "drawn `drift_set` and `noise_set` of fewer examples".into(),
        }];
        ways.extend(
            common_ways(config)
                .into_iter()
                .filter(|w| !w.contains("drift_set")),
        );
        return Err(TrainError::BufferTooSmall {
            width,
            details: format!(
                "the step's examples ({} of p = {p} floats) take {batch} bytes in one tensor, however the particles are split, and one buffer of this device holds at most {limit} bytes ({source}). Ways out: {}",
                count((batch / 4 / p as u64).max(1), "row"),
                ways.join("; or ")
            ),
        });
    }
    let per_row = row_bytes(config, p, examples);
    let bytes = per_row * rows as u64;
    if bytes <= limit {
        return Ok(());
    }
    let fits = (limit / per_row) as usize;
    let what = if per_row == 4 * p as u64 {
        format!("W1 ({} of p = {p} floats)", count(rows as u64, "row"))
    } else {
        format!(
            "the step's largest tensor ({} of {} floats)",
            count(rows as u64, "row"),
            per_row / 4
        )
    };
    let mut ways = Vec::new();
    if fits > 0 {
        let needed = width.div_ceil(fits);
        ways.push(format!(
            "shard the run over S ≥ {needed} processes, each holding at most {fits} particles (`mpirun -n {needed} experiments …`, built with --features mpi; docs/cluster.md), on one device or several"
        ));
        ways.push(format!("a smaller `width` (N ≤ {fits} in one process)"));
    }
    ways.extend(common_ways(config));
    let per_process = if processes > 1 {
        format!(" in each of {processes} processes")
    } else {
        String::new()
    };
    Err(TrainError::BufferTooSmall {
        width,
        details: format!(
            "{what} takes {bytes} bytes{per_process}, and one buffer of this device holds at most {limit} bytes ({source}). At most {fits} particles per process fit. Ways out: {}",
            ways.join("; or ")
        ),
    })
}

/// Refuses a split into `blocks` blocks of at most `fits` particles in one process where the
/// split cannot give the run: more than [`MAX_BLOCKS`], or a setting the blocks (the shards of
/// [`crate::shard`]) cannot compute.
pub fn check_blocks(
    config: &TrainConfig,
    blocks: usize,
    fits: usize,
    (limit, source): (u64, String),
) -> Result<(), TrainError> {
    let why = if blocks > MAX_BLOCKS {
        format!(
            "that is {blocks} blocks of at most {fits} particles, more than the {MAX_BLOCKS} one process splits a run into (every step exchanges the logits among all blocks, which then costs more than the step)"
        )
    } else if let Some(obstacle) = crate::shard::split_obstacle(config) {
        format!(
            "it would be split into {blocks} blocks of at most {fits} particles, and {obstacle}"
        )
    } else {
        return Ok(());
    };
    let mut ways = common_ways(config);
    if blocks > MAX_BLOCKS {
        // MPI shards refuse autodiff and the Langevin noise as blocks do.
        ways.push(format!(
            "shard the run over S ≥ {blocks} processes of at most {fits} particles each (`mpirun -n {blocks} experiments …`, built with --features mpi; docs/cluster.md)"
        ));
    }
    ways.push(format!("a smaller `width` (N ≤ {fits} in one block)"));
    Err(TrainError::BufferTooSmall {
        width: config.net_width(),
        details: format!(
            "one buffer of this device holds at most {limit} bytes ({source}): {why}. Ways out: {}",
            ways.join("; or ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// N = 50000 on MNIST (p = 784) under llvmpipe's 128 MiB: W1 is 156.8 MB, 42799 rows fit
    /// (134217728 / 3136, by hand), two processes are enough; N = 40000 (125.4 MB) fits.
    #[test]
    fn a_block_beyond_one_buffer_is_refused_with_what_fits() {
        let limit = || (134_217_728, "test".to_string());
        let config = |width| TrainConfig {
            width,
            ..TrainConfig::default()
        };
        assert!(check(&config(40_000), 784, 60_000, 40_000, 1, limit()).is_ok());
        let e = check(&config(50_000), 784, 60_000, 50_000, 1, limit())
            .unwrap_err()
            .to_string();
        assert!(e.contains("156800000 bytes"), "{e}");
        assert!(e.contains("At most 42799 particles"), "{e}");
        assert!(e.contains("S ≥ 2 processes"), "{e}");
        // Half the rows in each of two processes fit.
        assert!(check(&config(50_000), 784, 60_000, 25_000, 2, limit()).is_ok());
        // The diffusion over the whole training set: its 60000 examples then the 100 drawn
        // for the noise set (batch) are the step's rows, 60100 floats per particle row, and
        // 60100 · 784 floats of examples, 188473600 bytes, one tensor above the limit however
        // the particles are split.
        let diffusion = TrainConfig {
            width: 1000,
            dynamics: Dynamics::Diffusion,
            drift_set: "full".parse().unwrap(),
            ..TrainConfig::default()
        };
        assert_eq!(row_bytes(&diffusion, 784, 60_000), 240_400);
        assert_eq!(batch_bytes(&diffusion, 784, 60_000), 188_473_600);
        let e = check(&diffusion, 784, 60_000, 1, 1, limit())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("188473600 bytes") && e.contains("drift_set"),
            "{e}"
        );
    }

    /// Splits the blocks cannot give are refused, naming the limit and a way out: more than
    /// [`MAX_BLOCKS`], autodiff, the Langevin noise; 64 blocks of closed-form SGD are fine.
    #[test]
    fn splits_the_blocks_cannot_give_are_refused() {
        let limit = || (1 << 20, "`max_buffer_bytes`".to_string());
        let config = TrainConfig {
            width: 1000,
            max_buffer_bytes: Some(1 << 20),
            ..TrainConfig::default()
        };
        assert!(check_blocks(&config, MAX_BLOCKS, 10, limit()).is_ok());
        let e = check_blocks(&config, MAX_BLOCKS + 1, 10, limit())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("65 blocks") && e.contains("S ≥ 65 processes"),
            "{e}"
        );
        assert!(
            e.contains("a larger `max_buffer_bytes` than 1048576"),
            "{e}"
        );
        let autodiff = TrainConfig {
            engine: crate::Engine::Autodiff,
            ..config.clone()
        };
        let e = check_blocks(&autodiff, 2, 500, limit())
            .unwrap_err()
            .to_string();
        assert!(e.contains("closed-form") && !e.contains("mpirun"), "{e}");
        let langevin = TrainConfig {
            temperature: 0.01,
            ..config
        };
        let e = check_blocks(&langevin, 2, 500, limit())
            .unwrap_err()
            .to_string();
        assert!(e.contains("temperature"), "{e}");
    }

    /// The setting's limit wins over the device's; a CPU device has none of its own.
    #[test]
    fn the_setting_sets_the_limit() {
        let device = Device::flex();
        assert_eq!(device_limit(&device), None);
        assert_eq!(limit(&TrainConfig::default(), &device), None);
        let forced = TrainConfig {
            max_buffer_bytes: Some(1 << 24),
            ..TrainConfig::default()
        };
        assert_eq!(limit(&forced, &device).map(|l| l.0), Some(1 << 24));
    }
}
