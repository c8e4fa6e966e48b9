//! One training step, the only copy: the trainer's [`crate::Run`], the coordinate check and the
//! benchmark all step through a [`Stepper`], so the seeds, the step size and the noise cannot
//! drift apart between them.
//!
//! A step n (0-based) is: step size η_n from the schedule (eq. 2), the Langevin noise seeded
//! for step n when the temperature is positive, the next batch from the sampler, and one
//! [`StepEngine`] update with the step applied to the trained network
//! ([`TrainConfig::applied_step`]). Under `--dynamics diffusion` the batch is the step's drift
//! and noise examples and the update is weighted per particle ([`crate::diffusion`]).

use crate::batches::{Batch, Batches, Placement};
use crate::diffusion::{DiffusionStep, Dynamics};
use crate::engine::StepEngine;
use crate::shard::Shard;
use crate::{TrainConfig, TrainError, weights};
use burn::tensor::{Device, Tensor, TensorData};
use meanfield_data::sampler::SamplerState;
use meanfield_data::{Dataset, Sampler};
use meanfield_model::{MeanFieldNet, PartialSum};
use meanfield_optim::{ScaledSgd, Schedule};
use std::sync::Arc;

/// The batch sampler's ChaCha8 seed is the run's data seed XOR this constant, so the initial
/// weights (seeded by the initial-weight seed itself) and the batch order are independent
/// streams even when both seeds are the run's `seed`.
pub const SAMPLER_STREAM: u64 = 0x5EED_0FBA_7C40_0001;
/// The device generator (Langevin noise) is seeded with the run's data seed XOR this constant.
pub const NOISE_STREAM: u64 = 0x4015_E5EE_D000_0002;
/// The diffusion's multipliers ([`crate::diffusion`]) are keyed by the run's data seed XOR this
/// constant, so they are independent of the batch order and the Langevin noise.
pub const DIFFUSION_STREAM: u64 = 0xD1FF_0510_0E00_0003;

/// The key of step `step` of a per-step random stream (`stream` is the run's seed XOR the
/// stream's constant): the Langevin noise and the diffusion's multipliers of step n are the
/// same whether or not the run was stopped and resumed.
pub fn step_seed(stream: u64, step: u64) -> u64 {
    stream.wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Burn's backends keep one random generator per process (Flex: a static behind a mutex), and
/// a step with Langevin noise seeds it and then draws from it. Two runs stepping at once in one
/// process (a grid with `--jobs 2`, parallel tests) would interleave their seeds and draws and
/// lose exact reproducibility, so a noisy step holds this lock from the seed to the end of its
/// update. It guards that process-wide generator, and only noisy steps take it.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What one step returns.
pub struct StepOutput {
    /// Updates done after this one (n + 1).
    pub done: u64,
    /// The width-N network's step size η_n of eq. (2) (before [`TrainConfig::applied_step`]).
    pub step_size: f64,
    /// The batch logits [M, C], computed before the update.
    pub logits: Tensor<2>,
    /// The batch labels.
    pub labels: Vec<u8>,
}

/// The state that decides a trajectory: weights (inside the engine), batch order, schedule and
/// the number of updates done.
pub struct Stepper {
    engine: StepEngine,
    sampler: Sampler,
    schedule: Schedule,
    config: TrainConfig,
    device: Device,
    batches: Batches,
    /// The diffusion's sets and multipliers; `None` for SGD.
    diffusion: Option<DiffusionStep>,
    /// The training set every step samples (the one the stepper was made for).
    train: Arc<Dataset>,
    /// The shard of a run split over processes: the engine's model is its block of particles.
    shard: Option<Shard>,
    done: u64,
}

/// The run's starting weights: `init_from`'s files, else drawn from the config's laws with its
/// seed, for `input_dim` inputs and `classes` outputs.
pub fn initial_model(
    config: &TrainConfig,
    input_dim: usize,
    classes: usize,
    device: &Device,
) -> Result<MeanFieldNet, TrainError> {
    initial_block(config, input_dim, classes, device, 0..config.net_width())
}

/// Particles `rows` of [`initial_model`] (a shard's block), drawn or read alone: particle k
/// comes from its own stream k (or row k of `init_from`'s files), so the blocks are the rows
/// of the whole.
pub fn initial_block(
    config: &TrainConfig,
    input_dim: usize,
    classes: usize,
    device: &Device,
    rows: std::ops::Range<usize>,
) -> Result<MeanFieldNet, TrainError> {
    let net = config.net(input_dim, classes);
    let (hidden, readout) = match &config.init_from {
        None => {
            net.validate()?;
            net.sample_particle_rows(config.init_seed(), rows.clone())
        }
        Some(dir) => {
            // Another run's weights are checked against its manifest first (files of your
            // own, with no manifest, are read as they are).
            if crate::layout::has_record(dir) {
                crate::run_dir::verify(dir)?;
            }
            let (p, c) = (net.input_dim, net.classes);
            let load =
                |name, cols| weights::load_rows(&dir.join(name), [net.width, cols], rows.clone());
            (load(weights::HIDDEN, p)?, load(weights::READOUT, c)?)
        }
    };
    let block = meanfield_model::MeanFieldNetConfig {
        width: rows.len(),
        ..net
    };
    Ok(block.init_with(device, hidden, readout)?)
}

impl Stepper {
    /// A stepper at step 0 from the config's initial weights ([`initial_model`]) for `train`.
    pub fn fresh(
        config: &TrainConfig,
        train: Arc<Dataset>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        Self::fresh_in(config, train, device, None)
    }

    /// [`Self::fresh`], or with `shard` the stepper of that shard's block of particles
    /// ([`initial_block`], [`Self::in_shard`]).
    pub fn fresh_in(
        config: &TrainConfig,
        train: Arc<Dataset>,
        device: &Device,
        shard: Option<Shard>,
    ) -> Result<Self, TrainError> {
        match shard {
            None => {
                let model = initial_model(config, train.dim, train.classes, device)?;
                Self::new(config, model, train, device)
            }
            Some(shard) => {
                let model = initial_block(config, train.dim, train.classes, device, shard.rows())?;
                Self::new_in(config, model, train, device, Some(shard))
            }
        }
    }

    /// [`Self::new`] for `model`, the block `shard.rows()` of a split run ([`Self::in_shard`]).
    /// The blocks of one device ([`Shard::shares_memory`]) gather their batches on the host:
    /// a resident copy of the training set per block would multiply it on the device.
    pub fn new_in(
        config: &TrainConfig,
        model: MeanFieldNet,
        train: Arc<Dataset>,
        device: &Device,
        shard: Option<Shard>,
    ) -> Result<Self, TrainError> {
        let shared = shard.as_ref().is_some_and(Shard::shares_memory);
        let stepper = Self::with_placement(config, model, train, device, shared)?;
        Ok(match shard {
            Some(s) => stepper.in_shard(s),
            None => stepper,
        })
    }

    /// Steps `model`, the block of particles `shard.rows()`, as one shard of a run split over
    /// processes: the logits of every step are the whole network's (one exchange with the
    /// other shards a step), the update this block's, the diffusion's multipliers those of
    /// these particles. The step size, penalty and schedule are the whole network's (the
    /// config's width).
    pub fn in_shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// The shard this stepper steps, if the run is split over processes.
    pub fn shard(&self) -> Option<&Shard> {
        self.shard.as_ref()
    }

    /// A stepper at step 0 from `model` (built on the plain `device`), sampling batches of
    /// `train`, gathered where [`Placement::default_for`] says.
    pub fn new(
        config: &TrainConfig,
        model: MeanFieldNet,
        train: Arc<Dataset>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        Self::with_placement(config, model, train, device, false)
    }

    /// [`Self::new`], the batches gathered on the host when `host` (else where
    /// [`Placement::default_for`] says).
    fn with_placement(
        config: &TrainConfig,
        model: MeanFieldNet,
        train: Arc<Dataset>,
        device: &Device,
        host: bool,
    ) -> Result<Self, TrainError> {
        let sgd =
            ScaledSgd::new(config.penalty, config.net_width()).with_temperature(config.temperature);
        let engine = StepEngine::new(config.engine, model, sgd);
        let batch_device = engine.batch_device(device);
        let placement = if host {
            Placement::Host
        } else {
            Placement::default_for(
                config.backend,
                &train,
                crate::buffers::limit(config, device).map(|(bytes, _)| bytes),
            )
        };
        let batches = Batches::new(placement, &train, &batch_device);
        let diffusion = (config.dynamics == Dynamics::Diffusion).then(|| {
            DiffusionStep::new(
                config.drift_set,
                config.noise_set,
                config.batch,
                train.len(),
            )
        });
        // The diffusion draws its sets' examples from the same sampler (none when both are the
        // full set; the sampler then stays unused).
        let drawn = diffusion
            .as_ref()
            .map_or(config.batch, |d| d.drawn().max(1));
        let sampler = Sampler::new(
            config.sampling,
            train.len(),
            drawn,
            config.data_seed() ^ SAMPLER_STREAM,
        )?;
        Ok(Stepper {
            engine,
            sampler,
            schedule: config.schedule().init()?,
            config: config.clone(),
            device: device.clone(),
            batches,
            diffusion,
            train,
            shard: None,
            done: 0,
        })
    }

    /// Continues after `done` updates with the sampler at `sampler` (from a checkpoint).
    pub fn restore(&mut self, done: u64, sampler: SamplerState) {
        self.done = done;
        self.sampler.restore(sampler);
    }

    /// Gathers the batches at `placement` from now on (the batches are the same bit for bit;
    /// tests and the benchmark compare the two).
    pub fn set_placement(&mut self, placement: Placement) {
        if placement != self.batches.placement() {
            let device = self.engine.batch_device(&self.device);
            self.batches = Batches::new(placement, &self.train, &device);
        }
    }

    /// Where the batches are gathered.
    pub fn placement(&self) -> Placement {
        self.batches.placement()
    }

    /// One update on the next batch of the training set. Reads nothing back from the device:
    /// the step's work is only queued there.
    pub fn step(&mut self) -> StepOutput {
        let train = &*self.train;
        let n = self.done;
        let step_size = self.schedule.step_size(n);
        let _rng = (self.config.temperature > 0.0).then(|| {
            // A poisoned lock only means another run panicked mid-step; the generator is
            // reseeded below either way.
            let guard = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
            // One seed per step, so the Langevin noise of step n is the same whether or not the
            // run was interrupted and resumed.
            self.device
                .seed(step_seed(self.config.data_seed() ^ NOISE_STREAM, n));
            guard
        });
        let lr = self.config.applied_step(step_size);
        let (logits, labels) = match &self.diffusion {
            None => {
                let Batch { x, targets, labels } =
                    self.batches.batch(train, &self.sampler.next_batch());
                let part = self.shard.as_ref().map(|s| s as &dyn PartialSum);
                (self.engine.step_in(lr, x, targets, None, part), labels)
            }
            Some(diffusion) => {
                let drawn = if diffusion.drawn() > 0 {
                    self.sampler.next_batch()
                } else {
                    Vec::new()
                };
                let Batch { x, targets, labels } =
                    self.batches.batch(train, &diffusion.indices(drawn));
                let particles = self
                    .shard
                    .as_ref()
                    .map_or(0..self.config.net_width(), |s| s.rows());
                let q = Tensor::<2>::from_data(
                    TensorData::new(
                        diffusion.weights_for(
                            step_seed(self.config.data_seed() ^ DIFFUSION_STREAM, n),
                            particles.clone(),
                            1.0,
                        ),
                        [particles.len(), diffusion.rows()],
                    ),
                    &x.device(),
                )
                .transpose();
                let part = self.shard.as_ref().map(|s| s as &dyn PartialSum);
                let logits = self.engine.step_in(lr, x, targets, Some(q), part);
                // The metrics' batch is the drift set.
                let rows = diffusion.drift_rows();
                let classes = logits.dims()[1];
                (
                    logits.slice([rows.clone(), 0..classes]),
                    labels[rows].to_vec(),
                )
            }
        };
        self.done = n + 1;
        StepOutput {
            done: self.done,
            step_size,
            logits,
            labels,
        }
    }

    /// Updates done.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// The current weights (no autodiff tracking).
    pub fn model(&self) -> MeanFieldNet {
        self.engine.model()
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    pub fn sampler_state(&self) -> SamplerState {
        self.sampler.state()
    }

    /// The engine, e.g. to choose its W1 update path ([`StepEngine::set_hidden_update`]).
    pub fn engine_mut(&mut self) -> &mut StepEngine {
        &mut self.engine
    }
}
