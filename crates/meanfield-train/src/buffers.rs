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

use crate::{Dynamics, TrainConfig, TrainError};
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

/// The limit a run works under, and where it comes from: the setting's `max_buffer_bytes`,
/// else the device's own ([`device_limit`]).
pub fn limit(config: &TrainConfig, device: &Device) -> Option<(u64, String)> {
    match config.max_buffer_bytes {
        Some(b) => Some((b, "`max_buffer_bytes`".into())),
        None => device_limit(device).map(|b| (b, format!("the {} device's limit", config.backend))),
    }
}

/// The bytes of the largest tensor a run holds per particle row: W1's row (p floats), the
/// step's pre-activations over the batch (M), and for the particle diffusion its weights over
/// the drift and noise sets' examples (`examples`: the training set's size, for a full set).
pub fn row_bytes(config: &TrainConfig, p: usize, examples: usize) -> u64 {
    let mut columns = p.max(config.batch);
    if config.dynamics == Dynamics::Diffusion {
        columns = columns
            .max(config.drift_set.size(config.batch, examples))
            .max(config.noise_set.size(config.batch, examples));
    }
    4 * columns as u64
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
    let per_row = row_bytes(config, p, examples);
    let bytes = per_row * rows as u64;
    if bytes <= limit {
        return Ok(());
    }
    let fits = (limit / per_row) as usize;
    let what = if per_row == 4 * p as u64 {
        format!("W1 ({rows} rows of p = {p} floats)")
    } else {
        format!(
            "the step's largest tensor ({rows} rows of {} floats)",
            per_row / 4
        )
    };
    let width = config.net_width();
    let mut ways = Vec::new();
    if fits > 0 {
        let needed = width.div_ceil(fits);
        ways.push(format!(
            "shard the run over S ≥ {needed} processes, each holding at most {fits} particles (`mpirun -n {needed} experiments …`, built with --features mpi; docs/cluster.md), on one device or several"
        ));
        ways.push(format!("a smaller `width` (N ≤ {fits} in one process)"));
    }
    if config.dynamics == Dynamics::Diffusion {
        ways.push("smaller `drift_set` and `noise_set` (a drawn set instead of full)".into());
    }
    ways.push("`backend` flex (the CPU has no such limit)".into());
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
        // The diffusion over the whole training set: 60000 floats per particle row.
        let diffusion = TrainConfig {
            width: 1000,
            dynamics: Dynamics::Diffusion,
            drift_set: "full".parse().unwrap(),
            ..TrainConfig::default()
        };
        assert_eq!(row_bytes(&diffusion, 784, 60_000), 240_000);
        let e = check(&diffusion, 784, 60_000, 1000, 1, limit())
            .unwrap_err()
            .to_string();
        assert!(e.contains("drift_set"), "{e}");
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
