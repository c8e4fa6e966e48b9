//! Timing of the training step (forward, backward, update; no evaluation) and of one large
//! square matrix product on the same backend (the practical peak), on random data.

use crate::stepper::{Stepper, initial_model};
use crate::{Backend, Dynamics, Engine, TrainConfig, TrainError};
use burn::tensor::{Device, Tensor};
use meanfield_data::Dataset;
use meanfield_model::Readout;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// One row of the benchmark CSV (the columns `scripts/bench.sh` and `scripts/pytorch_step.py`
/// share).
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub backend: String,
    /// The engine, with `/diffusion` appended for the particle diffusion's step (the columns
    /// stay those PyTorch's rows have).
    pub engine: String,
    pub width: usize,
    pub input_dim: usize,
    pub batch: usize,
    pub iterations: usize,
    pub ms_per_step: f64,
    pub steps_per_s: f64,
    /// Counting 4·M·p·N (+ 4·M·N·C with a trainable readout) flops per step.
    pub gflops: f64,
    /// The same backend's f32 throughput on one square product of side `peak_size`.
    pub peak_gflops: f64,
    pub fraction_of_peak: f64,
    /// Peak resident memory of the process so far (Linux VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// `trainable` or `fixed` (a fixed readout's step skips the readout's products).
    pub readout: String,
    /// The side of the square product `peak_gflops` was measured on.
    pub peak_size: usize,
}

impl BenchRow {
    /// The row with its numbers rounded for reading (ms to 0.001, rates and GFLOP/s to 0.01 and
    /// 0.1, the fraction to 0.001, MiB to 1); the CSV file keeps full precision.
    pub fn rounded(&self) -> BenchRow {
        let r = |v: f64, digits: i32| (v * 10f64.powi(digits)).round() / 10f64.powi(digits);
        BenchRow {
            ms_per_step: r(self.ms_per_step, 3),
            steps_per_s: r(self.steps_per_s, 2),
            gflops: r(self.gflops, 1),
            peak_gflops: r(self.peak_gflops, 1),
            fraction_of_peak: r(self.fraction_of_peak, 3),
            peak_rss_mib: r(self.peak_rss_mib, 0),
            ..self.clone()
        }
    }
}

/// Settings of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct BenchCase {
    pub backend: Backend,
    pub engine: Engine,
    /// SGD, or the diffusion with its default sets (K = M drift and noise examples per step).
    pub dynamics: Dynamics,
    pub readout: Readout,
    pub width: usize,
    pub input_dim: usize,
    pub batch: usize,
    pub classes: usize,
    pub warmup: usize,
    pub iterations: usize,
}

/// Waits for queued work (GPU backends are asynchronous).
fn sync(t: Tensor<2>) {
    let _ = t.slice([0..1, 0..1]).into_data();
}

/// The run setting of a case: step size γN^β = 10^-3 at every step (β = 0, α = 0), readout
/// law U(−1, 1), seed 0.
fn case_config(case: &BenchCase) -> TrainConfig {
    TrainConfig {
        width: case.width,
        batch: case.batch,
        beta: 0.0,
        gamma: 1e-3,
        readout: case.readout,
        readout_init: meanfield_model::Init::Uniform(1.0),
        penalty: 0.0,
        backend: case.backend,
        engine: case.engine,
        dynamics: case.dynamics,
        ..TrainConfig::default()
    }
}

/// Seconds per step of the training step: the trainer's own [`Stepper`] on `batch` random
/// rows in [−1, 1) with random labels.
pub fn time_step(case: &BenchCase) -> Result<f64, TrainError> {
    let device = case.backend.device()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x: Vec<f32> = (0..case.batch * case.input_dim)
        .map(|_| rng.random_range(-1.0..1.0f32))
        .collect();
    let y: Vec<u8> = (0..case.batch)
        .map(|_| rng.random_range(0..case.classes as u8))
        .collect();
    let data = Dataset::new(x, y, case.input_dim, case.classes)?;
    let config = case_config(case);
    let model = initial_model(&config, case.input_dim, case.classes, &device)?;
    let mut stepper = Stepper::new(&config, model, std::sync::Arc::new(data), &device)?;
    // As in training between logging steps: the steps are queued without reading anything
    // back, and the clock stops once the device has finished the last update.
    let mut run = |n: usize| {
        let start = Instant::now();
        for _ in 0..n {
            stepper.step();
        }
        sync(stepper.model().hidden.val());
        start.elapsed().as_secs_f64()
    };
    run(case.warmup);
    Ok(run(case.iterations) / case.iterations as f64)
}

/// GFLOP/s of one [size, size] × [size, size] f32 product (best of 3, after one warm-up).
pub fn matmul_peak(device: &Device, size: usize) -> f64 {
    let a = Tensor::<2>::ones([size, size], device);
    let b = Tensor::<2>::ones([size, size], device);
    sync(a.clone().matmul(b.clone()));
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        sync(a.clone().matmul(b.clone()));
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (size as f64).powi(3) / best / 1e9
}

/// Flops of one step as counted by the issue: 4·M·p·N, plus 4·M·N·C for a trainable readout.
pub fn step_flops(case: &BenchCase) -> f64 {
    let (m, p, n, c) = (
        case.batch as f64,
        case.input_dim as f64,
        case.width as f64,
        case.classes as f64,
    );
    4.0 * m * p * n
        + if case.readout == Readout::Trainable {
            4.0 * m * n * c
        } else {
            0.0
        }
}

/// Peak resident set size of this process in MiB (0 where /proc is unavailable).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Measures one case; `peak` is the backend's matmul GFLOP/s on a square product of side
/// `peak_size`.
pub fn measure(case: &BenchCase, peak: f64, peak_size: usize) -> Result<BenchRow, TrainError> {
    let seconds = time_step(case)?;
    let gflops = step_flops(case) / seconds / 1e9;
    Ok(BenchRow {
        backend: case.backend.to_string(),
        engine: match case.dynamics {
            Dynamics::Sgd => case.engine.to_string(),
            Dynamics::Diffusion => format!("{}/diffusion", case.engine),
        },
        width: case.width,
        input_dim: case.input_dim,
        batch: case.batch,
        iterations: case.iterations,
        ms_per_step: seconds * 1e3,
        steps_per_s: 1.0 / seconds,
        gflops,
        peak_gflops: peak,
        fraction_of_peak: gflops / peak,
        peak_rss_mib: peak_rss_mib(),
        readout: case.readout.to_string(),
        peak_size,
    })
}

/// Iterations that make one case take about `seconds` (at least 3, at most 200), from a
/// one-step probe after one warm-up step.
pub fn auto_iterations(case: &BenchCase, seconds: f64) -> Result<usize, TrainError> {
    let probe = time_step(&BenchCase {
        warmup: 1,
        iterations: 1,
        ..*case
    })?;
    Ok(((seconds / probe) as usize).clamp(3, 200))
}

/// A sweep: every backend × engine × dynamics × input size × width, each timed for about
/// `seconds` (the diffusion only with the closed-form engine, the one that steps it).
#[derive(Debug, Clone)]
pub struct Sweep {
    pub backends: Vec<Backend>,
    pub engines: Vec<Engine>,
    pub dynamics: Vec<Dynamics>,
    pub widths: Vec<usize>,
    pub input_dims: Vec<usize>,
    pub batch: usize,
    pub readout: Readout,
    /// Seconds per case (sets the iteration count; at least 3 steps).
    pub seconds: f64,
    /// Side of the square product that measures the practical peak.
    pub peak_size: usize,
}

impl Sweep {
    /// Measures every case in order; `each` sees each row as soon as it is measured.
    pub fn run(&self, each: &mut dyn FnMut(&BenchRow)) -> Result<Vec<BenchRow>, TrainError> {
        let mut rows = Vec::new();
        for &backend in &self.backends {
            let device = backend.device()?;
            let cases = self.engines.iter().flat_map(|&engine| {
                self.dynamics
                    .iter()
                    .filter(move |&&d| d.is_sgd() || engine == Engine::ClosedForm)
                    .map(move |&dynamics| (engine, dynamics))
            });
            for (engine, dynamics) in cases {
                for &input_dim in &self.input_dims {
                    for &width in &self.widths {
                        let mut case = BenchCase {
                            backend,
                            engine,
                            dynamics,
                            readout: self.readout,
                            width,
                            input_dim,
                            batch: self.batch,
                            classes: 10,
                            warmup: 1,
                            iterations: 3,
                        };
                        case.iterations = auto_iterations(&case, self.seconds)?;
                        // The peak is measured next to each case, not once per backend: on a
                        // shared machine the throughput drifts over a run, and the ratio should
                        // compare the step with the peak of the same minute.
                        let peak = matmul_peak(&device, self.peak_size);
                        let row = measure(&case, peak, self.peak_size)?;
                        each(&row);
                        rows.push(row);
                    }
                }
            }
        }
        Ok(rows)
    }
}

/// Writes the rows as CSV (atomically).
pub fn write_csv(path: &std::path::Path, rows: &[BenchRow]) -> Result<(), TrainError> {
    meanfield_io::write_csv(path, rows)
        .map(|_| ())
        .map_err(|source| TrainError::Write {
            path: path.to_path_buf(),
            source,
        })
}
