//! A training run as a value: [`Run::fresh`] or [`Run::resume`] builds it, [`Run::step`]
//! advances it by one update (with its logging, averaging, evaluation, divergence check and
//! checkpoint), [`Run::fit`] steps to the end unless stopped, [`Run::finish`] writes the final
//! weights and `summary.json`.
//!
//! Driving it by hand, e.g. to measure something every k steps:
//!
//! ```no_run
//! # use meanfield_train::{Run, TrainConfig, TrainError};
//! # fn main() -> Result<(), TrainError> {
//! let config = TrainConfig::default();
//! let mut run = Run::fresh(&config, true)?;
//! while !run.is_done() {
//!     run.step()?;
//!     if run.done().is_multiple_of(10) {
//!         let (hidden, _) = run.model().weights_to_vec();
//!         println!("step {}: |w_1| = {}", run.done(), hidden[0].abs());
//!     }
//! }
//! let summary = run.finish()?;
//! # Ok(()) }
//! ```
//! (`crates/meanfield-train/tests/run.rs` does this and checks it equals [`crate::train`].)

use crate::checkpoint::{self, Checkpoint, CheckpointState};
use crate::clock::Clock;
use crate::evaluate::evaluate_in;
use crate::inputs::Fingerprint;
use crate::layout;
use crate::lock::{self, RunLock};
use crate::manifest::{Files, Manifest};
use crate::memory;
use crate::metrics::{MetricsRow, MetricsWriter};
use crate::progress::Progress;
use crate::run_lines::{done_line, startup_line};
use crate::shard::{Shard, agreed, on_lead};
use crate::snapshot::{self, SnapshotPoint};
use crate::stepper::{StepOutput, Stepper};
use crate::summary::{Divergence, Scores, Status, Summary};
use crate::task::Task;
use crate::{StopHandle, TrainConfig, TrainError, run_dir, weights};
use burn::tensor::Device;
use meanfield_model::{MeanFieldNet, PartialSum, loss, net::to_vec};
use meanfield_optim::PolyakAverage;
use std::path::{Path, PathBuf};

/// How a run begins.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start<'a> {
    /// At step 0. What an earlier run left in the directory (results, snapshots, checkpoints)
    /// is removed first, and said.
    Fresh,
    /// From the checkpoint in this folder (one [`checkpoint::find`] or [`Run::resume`] has
    /// checked whole); the run directory's `config.toml` must be this setting's.
    Resume(&'a Path),
}

/// How a run is carried out; none of it changes what the run computes.
#[derive(Default)]
pub(crate) struct StartOptions {
    /// No output (also every shard but the lead of a sharded run).
    pub quiet: bool,
    /// Started over as asked (`force`): said when the earlier run's files are removed.
    pub forced: bool,
    /// The run directory's lock, held as long as the run exists (by the lead shard of a
    /// sharded run).
    pub lock: Option<RunLock>,
    /// Data given in memory instead of the setting's dataset.
    pub task: Option<Task>,
    /// The setting's own dataset, already loaded (by [`crate::train`] when it splits a run
    /// into blocks): fingerprinted as read from its files, not loaded again.
    pub loaded: Option<Task>,
    /// This process's block of the particles, when the run is sharded ([`crate::shard`]).
    pub shard: Option<Shard>,
}

/// One training run in progress, with its run directory.
pub struct Run {
    config: TrainConfig,
    dir: PathBuf,
    task: Task,
    device: Device,
    stepper: Stepper,
    /// The step the run ends at (n_T, or `--steps`).
    steps: u64,
    average: Option<PolyakAverage<2>>,
    /// `metrics.csv` (`None` on the shards of a sharded run other than the lead).
    metrics: Option<MetricsWriter>,
    clock: Clock,
    progress: Progress,
    /// No output (also every shard but the lead of a sharded run).
    quiet: bool,
    /// The latest full evaluation and its step (the final one is reused for the summary).
    scored: Option<(u64, Scores)>,
    /// The latest batch loss logged.
    last_loss: Option<f64>,
    /// The step of the latest checkpoint written by this process.
    checkpointed: Option<u64>,
    /// Seconds of the logits' exchange spent in evaluations (sharded runs; the rest is the
    /// steps').
    eval_exchange: f64,
    /// The training seconds carried from before a resume (the exchange is timed from here).
    resumed_train_seconds: f64,
    /// The snapshots the run writes (`--snapshots`).
    snapshots: Vec<SnapshotPoint>,
    /// Every file written into the run directory so far with its digest, by its path there:
    /// the setting, the snapshots (those of earlier sessions from the checkpoint's record); the
    /// manifest at the end adds the results (the lead's record; empty on the other shards).
    written: Files,
    /// The run directory's lock, held as long as the run exists (by the lead shard of a
    /// sharded run).
    _lock: Option<RunLock>,
}

impl Run {
    /// A new run of `config` at step 0 in its run directory (what an earlier run left there is
    /// removed). Takes the directory ([`run_dir::check_ownership`], [`run_dir::claim`]) and its
    /// lock ([`lock`]): a folder of the user's, or another process training the same run, is
    /// an error.
    pub fn fresh(config: &TrainConfig, quiet: bool) -> Result<Self, TrainError> {
        Self::fresh_with(config, None, quiet)
    }

    /// [`Self::fresh`] on data given in memory (e.g. [`Task::from_burn`]) instead of the
    /// setting's dataset.
    pub fn fresh_on(config: &TrainConfig, task: Task, quiet: bool) -> Result<Self, TrainError> {
        Self::fresh_with(config, Some(task), quiet)
    }

    fn fresh_with(
        config: &TrainConfig,
        task: Option<Task>,
        quiet: bool,
    ) -> Result<Self, TrainError> {
        let lock = take(config, quiet)?;
        let options = StartOptions {
            quiet,
            lock: Some(lock),
            task,
            ..Default::default()
        };
        Self::start(config, Start::Fresh, options)
    }

    /// Continues the run of `config` from the checkpoint in `checkpoint` (a folder from
    /// [`checkpoint::latest`]), after checking it and the run directory's files it recorded
    /// are as written; the run directory's `config.toml` must be this setting's.
    pub fn resume(
        config: &TrainConfig,
        checkpoint: &Path,
        quiet: bool,
    ) -> Result<Self, TrainError> {
        let lock = take(config, quiet)?;
        let identity = crate::identity::Identity::of(config).hash_hex();
        checkpoint::check(&run_dir::run_dir(config), checkpoint, Some(&identity))?;
        let options = StartOptions {
            quiet,
            lock: Some(lock),
            ..Default::default()
        };
        Self::start(config, Start::Resume(checkpoint), options)
    }

    /// Builds the run, fresh or resumed, under a lock already held, on the options' data or
    /// (when `None`) the setting's dataset. Each step in the order its side effects must
    /// happen; nothing is written before the inputs are loaded and known to fit in memory.
    ///
    /// With a shard this process trains one block of the run's particles ([`crate::shard`]):
    /// the lead shard holds the lock and writes the run's files, every shard loads the data and
    /// its block, and each step at which a process could fail alone is agreed, so that a
    /// failure anywhere stops every shard with an error.
    pub(crate) fn start(
        config: &TrainConfig,
        start: Start,
        options: StartOptions,
    ) -> Result<Self, TrainError> {
        let StartOptions {
            quiet,
            forced,
            lock,
            task,
            loaded,
            shard,
        } = options;
        let part = shard.as_ref();
        let quiet = quiet || !part.is_none_or(Shard::is_lead);
        let dir = run_dir::run_dir(config);
        // 1. The setting, and (resuming) that the directory's run is this one.
        config.validate()?;
        if let Some(s) = part {
            check_shardable(config, s)?;
        }
        let resuming = matches!(start, Start::Resume(_));
        let mut logged_every = config.log_every;
        if resuming {
            on_lead(part, || {
                logged_every = same_run(config, &dir)?;
                Ok(())
            })?;
        }
        // 2. The device, the inputs, the memory they need: nothing written yet.
        let device = agreed(part, config.backend.device())?;
        let (task, fingerprint) = agreed(
            part,
            load_inputs(config, &dir, resuming, task, loaded, part),
        )?;
        // Every tensor of this process's block fits one buffer of the device.
        if let Some(limit) = crate::buffers::limit(config, &device) {
            let rows = part.map_or(config.net_width(), |s| s.rows().len());
            agreed(
                part,
                crate::buffers::check(
                    config,
                    task.train.dim,
                    task.train.len(),
                    rows,
                    part.map_or(1, Shard::size),
                    limit,
                ),
            )?;
        }
        // 3. The directory: an earlier run's leftovers removed (fresh), the setting written.
        let mut written = Files::new();
        on_lead(part, || {
            if !resuming {
                // Said, never silent: a fresh start throws the earlier run's files away.
                let removed = run_dir::clear(&dir);
                if !removed.is_empty() {
                    let why = if forced {
                        "starting over as asked (force): removing"
                    } else {
                        "removing what an earlier run left in the run directory:"
                    };
                    say(
                        quiet,
                        &format!("{why} {} from {}", removed.join(", "), dir.display()),
                    );
                }
            }
            written = write_setting(config, &dir, fingerprint.as_ref())?;
            Ok(())
        })?;
        // 4. The weights: drawn, or the checkpoint's.
        let (p, classes) = (task.train.dim, task.train.classes);
        let rows = part.map_or(0..config.net_width(), Shard::rows);
        let block = meanfield_model::MeanFieldNetConfig {
            width: rows.len(),
            ..config.net(p, classes)
        };
        let mut resumed = match start {
            Start::Resume(c) => Some(agreed(
                part,
                checkpoint::load(c, (config.net_width(), p, classes), rows.clone()),
            )?),
            Start::Fresh => None,
        };
        let mut stepper = match resumed.as_mut() {
            // The checkpoint's weights are moved, not copied (W1 is 3.1 GB at N = 10^6).
            Some(c) => {
                let model = block.init_with(
                    &device,
                    std::mem::take(&mut c.hidden),
                    std::mem::take(&mut c.readout),
                )?;
                Stepper::new_in(config, model, task.train.clone(), &device, shard.clone())?
            }
            None => agreed(
                part,
                Stepper::fresh_in(config, task.train.clone(), &device, shard.clone()),
            )?,
        };
        let steps = config.steps.unwrap_or(stepper.schedule().horizon_steps());
        say(quiet, &startup_line(config, &task, &stepper, steps, &dir));
        // 5. The snapshots' plan and index (after the files an earlier session wrote, from the
        //    checkpoint's record or, for a checkpoint made before manifests, from the files).
        let snapshots = snapshot::plan(config, steps)?;
        on_lead(part, || {
            if let Some(c) = resumed.as_ref() {
                written.extend(earlier_snapshots(&dir, c, &snapshots)?);
            }
            written.extend(snapshot::start(&dir, &snapshots)?);
            Ok(())
        })?;
        // 6. The log, the average and the clock: new, or continued from the checkpoint.
        let metrics_path = dir.join(layout::METRICS);
        let lead = part.is_none_or(Shard::is_lead);
        let (metrics, average, clock) = match resumed {
            Some(mut c) => {
                stepper.restore(c.state.step, c.state.sampler.clone());
                say(
                    quiet,
                    &format!("resuming from the checkpoint at step {}", c.state.step),
                );
                let mut metrics = None;
                on_lead(part, || {
                    metrics = Some(MetricsWriter::resume(
                        &metrics_path,
                        c.state.step,
                        logged_every,
                        c.run_files.get(layout::METRICS),
                    )?);
                    Ok(())
                })?;
                (
                    metrics,
                    restore_average(config, &mut c, &block, &device)?,
                    Clock::start(c.state.train_seconds, c.state.eval_seconds),
                )
            }
            None => {
                let mut metrics = None;
                on_lead(part, || {
                    metrics = Some(MetricsWriter::create(&metrics_path)?);
                    Ok(())
                })?;
                (
                    metrics,
                    config.average_from.map(PolyakAverage::new),
                    Clock::start(0.0, 0.0),
                )
            }
        };
        debug_assert_eq!(metrics.is_some(), lead);
        let mut run = Run {
            config: config.clone(),
            dir,
            task,
            device,
            progress: Progress::new(steps, quiet),
            stepper,
            steps,
            average,
            metrics,
            quiet,
            scored: None,
            last_loss: None,
            checkpointed: None,
            eval_exchange: 0.0,
            resumed_train_seconds: clock.train_seconds(),
            clock,
            snapshots,
            written,
            _lock: lock,
        };
        // 7. Step 0 of a fresh run: its snapshot and evaluation.
        if run.done() == 0 {
            run.evaluate_start()?;
        }
        Ok(run)
    }

    /// Step 0 of a fresh run: its snapshot, and the evaluation on every training and test
    /// example, a fixed cost said on its own (the first step's time and the rates and ETAs
    /// count from here).
    fn evaluate_start(&mut self) -> Result<(), TrainError> {
        self.write_snapshots()?;
        let mut row0 = MetricsRow::default();
        let started = std::time::Instant::now();
        self.evaluate_into(&mut row0);
        self.write_row(&row0)?;
        say(
            self.quiet,
            &format!(
                "step 0 evaluated ({} training + {} test examples) in {:.2}s",
                self.task.train.len(),
                self.task.test.len(),
                started.elapsed().as_secs_f64()
            ),
        );
        self.progress = Progress::new(self.steps, self.quiet);
        Ok(())
    }

    /// One update, then: the batch loss when this step logs, the Polyak average, a full
    /// evaluation when this step evaluates, the metrics row, a checkpoint when one is due.
    /// A non-finite loss marks the run diverged and returns [`TrainError::Diverged`].
    pub fn step(&mut self) -> Result<(), TrainError> {
        let out = self.stepper.step();
        let done = out.done;
        let eval_now = done == self.steps
            || (self.config.eval_every > 0 && done.is_multiple_of(self.config.eval_every));
        let log_now = eval_now || done.is_multiple_of(self.config.log_every);
        let mut row = MetricsRow {
            step: done,
            time: self.stepper.schedule().time(done),
            step_size: Some(out.step_size),
            ..Default::default()
        };
        if log_now {
            self.log_batch(&out, &mut row)?;
        }
        if let Some(avg) = self.average.as_mut()
            && done >= avg.start()
        {
            let model = self.stepper.model();
            avg.observe(done, &[model.hidden.val(), model.readout.val()]);
        }
        if eval_now {
            let s = self.evaluate_into(&mut row);
            self.check_finite(s.train_loss, "the training loss", &out)?;
        }
        if log_now {
            self.write_row(&row)?;
        }
        self.write_snapshots()?;
        if self.config.checkpoint_every > 0
            && done.is_multiple_of(self.config.checkpoint_every)
            && done < self.steps
        {
            self.checkpoint()?;
        }
        self.progress.update(done, self.last_loss);
        Ok(())
    }

    /// Steps to the end. When `stop` is requested, writes a checkpoint after the current step
    /// and returns [`TrainError::Interrupted`]; calling [`crate::train`] again continues.
    pub fn fit(&mut self, stop: &StopHandle) -> Result<(), TrainError> {
        while !self.is_done() {
            self.step()?;
            // Every shard stops after the same step, whichever was asked.
            let requested = match self.stepper.shard() {
                Some(s) => s.any(stop.requested()),
                None => stop.requested(),
            };
            if requested && !self.is_done() {
                if self.checkpointed != Some(self.done()) {
                    self.checkpoint()?;
                }
                self.progress.abandon();
                return Err(TrainError::Interrupted {
                    step: self.done(),
                    dir: self.dir.clone(),
                });
            }
        }
        self.progress.finish();
        Ok(())
    }

    /// Writes the final weights (and the average's), `summary.json`, and removes the
    /// checkpoints. Call once [`Self::is_done`].
    pub fn finish(self) -> Result<Summary, TrainError> {
        let model = self.stepper.model();
        let shard = self.stepper.shard();
        let last = match self.scored {
            Some((step, s)) if step == self.done() => s,
            _ => score(&model, &self.task, &self.device, shard, self.buffer_limit()),
        };
        let mut written = self.written.clone();
        written.extend(weights::save_net(
            &self.dir,
            weights::HIDDEN,
            weights::READOUT,
            &model,
            shard,
        )?);
        let averaged = match self.average_model() {
            Some(avg) => {
                written.extend(weights::save_net(
                    &self.dir,
                    weights::HIDDEN_AVG,
                    weights::READOUT_AVG,
                    &avg,
                    shard,
                )?);
                Some(score(
                    &avg,
                    &self.task,
                    &self.device,
                    shard,
                    self.buffer_limit(),
                ))
            }
            None => None,
        };
        let schedule = self.stepper.schedule();
        let c = &self.config;
        let summary = Summary {
            dataset: c.dataset.to_string(),
            width: c.width,
            beta: c.beta,
            alpha: c.alpha,
            gamma: c.gamma,
            batch: c.batch,
            horizon_steps: schedule.horizon_steps(),
            steps: self.steps,
            time_step: schedule.time_step(),
            initial_step_size: schedule.step_size(0),
            train_examples: self.task.train.len(),
            test_examples: self.task.test.len(),
            last,
            averaged,
            wall_seconds: self.clock.wall_seconds(),
            steps_per_second: self.steps as f64 / self.clock.train_seconds().max(1e-9),
            backend: c.backend.to_string(),
            engine: c.engine.to_string(),
            dynamics: c.dynamics.to_string(),
            layout: meanfield_io::owned::LAYOUT,
        };
        // summary.json, then the manifest of every file (last), then the checkpoints go.
        on_lead(shard, || {
            let metrics = self.dir.join(layout::METRICS);
            written.insert(
                layout::METRICS.into(),
                meanfield_io::digest::of_file(&metrics).map_err(|source| TrainError::Read {
                    path: metrics.clone(),
                    source,
                })?,
            );
            written.insert(
                layout::SUMMARY.into(),
                Status::Finished(Box::new(summary.clone())).write(&self.dir)?,
            );
            Manifest::new(written.clone()).write(&self.dir)?;
            checkpoint::remove(&self.dir);
            Ok(())
        })?;
        self.progress.finish();
        say(self.quiet, &done_line(&summary, &self.dir));
        if let Some(s) = shard {
            // This process's (the lead's) share, in this session; the steps' exchanges only.
            let steps = s.exchange_seconds() - self.eval_exchange;
            let trained = self.clock.train_seconds() - self.resumed_train_seconds;
            say(
                self.quiet,
                &format!(
                    "sharded over {}: {:.2}s of the steps' {:.2}s (this session) were spent exchanging logits ({:.1}%, waiting for the slowest included)",
                    s.members(),
                    steps,
                    trained,
                    100.0 * steps / trained.max(1e-9)
                ),
            );
        }
        Ok(summary)
    }

    /// Updates done.
    pub fn done(&self) -> u64 {
        self.stepper.done()
    }

    /// The step the run ends at.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Whether every step is done.
    pub fn is_done(&self) -> bool {
        self.done() >= self.steps
    }

    /// The current weights.
    pub fn model(&self) -> MeanFieldNet {
        self.stepper.model()
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data the run trains and tests on.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The one-buffer limit the run works under ([`crate::buffers::limit`]), in bytes.
    fn buffer_limit(&self) -> Option<u64> {
        crate::buffers::limit(&self.config, &self.device).map(|(bytes, _)| bytes)
    }

    /// The step itself (e.g. to choose the engine's W1 update path).
    pub fn stepper_mut(&mut self) -> &mut Stepper {
        &mut self.stepper
    }

    /// Batch loss and accuracy of a logging step, into `row`.
    fn log_batch(&mut self, out: &StepOutput, row: &mut MetricsRow) -> Result<(), TrainError> {
        let classes = self.task.train.classes;
        let m = out.labels.len() as f64;
        let logits = to_vec(out.logits.clone());
        let batch_loss = loss::host_cross_entropy(&logits, &out.labels, classes) / m;
        self.check_finite(batch_loss, "the batch loss", out)?;
        row.batch_loss = Some(batch_loss);
        row.batch_accuracy = Some(loss::accuracy(&logits, &out.labels, classes) as f64 / m);
        self.last_loss = Some(batch_loss);
        Ok(())
    }

    /// The one divergence check: a non-finite `value` writes the `diverged` status (the last
    /// good checkpoint stays) and returns the error.
    fn check_finite(&self, value: f64, what: &str, out: &StepOutput) -> Result<(), TrainError> {
        if value.is_finite() {
            return Ok(());
        }
        // Every shard sees the same logits, so all of them come here at the same step.
        let error = TrainError::Diverged {
            step: out.done - 1,
            step_size: out.step_size,
            what: what.into(),
        };
        on_lead(self.stepper.shard(), || {
            Status::Diverged(Divergence {
                step: out.done - 1,
                step_size: out.step_size,
                error: error.to_string(),
            })
            .write(&self.dir)
            .map(|_| ())
        })?;
        Err(error)
    }

    /// Full train and test scores of the current weights into `row` (timed as evaluation).
    fn evaluate_into(&mut self, row: &mut MetricsRow) -> Scores {
        let model = self.stepper.model();
        let (task, device, shard) = (&self.task, &self.device, self.stepper.shard());
        let limit = self.buffer_limit();
        let exchanged = shard.map_or(0.0, Shard::exchange_seconds);
        let s = self
            .clock
            .evaluation(|| score(&model, task, device, shard, limit));
        self.eval_exchange += shard.map_or(0.0, Shard::exchange_seconds) - exchanged;
        row.train_loss = Some(s.train_loss);
        row.train_accuracy = Some(s.train_accuracy);
        row.test_loss = Some(s.test_loss);
        row.test_accuracy = Some(s.test_accuracy);
        self.scored = Some((self.done(), s));
        s
    }

    /// The Polyak average as a network, when there is one.
    fn average_model(&self) -> Option<MeanFieldNet> {
        let mean = self.average.as_ref()?.mean()?;
        Some(
            self.stepper
                .model()
                .with_weights(mean[0].clone(), mean[1].clone()),
        )
    }

    /// Appends a row to `metrics.csv` (the lead shard's job in a sharded run).
    fn write_row(&mut self, row: &MetricsRow) -> Result<(), TrainError> {
        match self.metrics.as_mut() {
            Some(m) => m.write(row),
            None => Ok(()),
        }
    }

    /// Writes the snapshots due at the current step, if any.
    fn write_snapshots(&mut self) -> Result<(), TrainError> {
        let done = self.done();
        if self.snapshots.iter().any(|s| s.step == done) {
            let written = snapshot::write_due(
                &self.dir,
                &self.snapshots,
                done,
                &self.stepper.model(),
                self.stepper.shard(),
            )?;
            self.written.extend(written);
        }
        Ok(())
    }

    /// Writes a checkpoint of the current step.
    fn checkpoint(&mut self) -> Result<(), TrainError> {
        let state = CheckpointState {
            step: self.done(),
            sampler: self.stepper.sampler_state(),
            average_count: self.average.as_ref().map_or(0, |a| a.count()),
            train_seconds: self.clock.train_seconds(),
            eval_seconds: self.clock.eval_seconds(),
            layout: meanfield_io::owned::LAYOUT,
            identity: Some(crate::identity::Identity::of(&self.config).hash_hex()),
        };
        // The run directory's files as of this step: the snapshots so far (the checkpoint adds
        // metrics.csv's rows).
        let snapshots: Files = self
            .written
            .iter()
            .filter(|(name, _)| name.starts_with(layout::SNAPSHOTS))
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect();
        checkpoint::save(
            &self.dir,
            &state,
            &self.stepper.model(),
            self.average_model().as_ref(),
            &snapshots,
            self.stepper.shard(),
        )?;
        self.checkpointed = Some(self.done());
        Ok(())
    }
}

fn say(quiet: bool, line: &str) {
    if !quiet {
        eprintln!("{line}");
    }
}

/// Scores of `model` (a shard's block: of the whole network) on the task, in chunks that fit
/// one buffer of `max_bytes`.
fn score(
    model: &MeanFieldNet,
    task: &Task,
    device: &Device,
    shard: Option<&Shard>,
    max_bytes: Option<u64>,
) -> Scores {
    let part = shard.map(|s| s as &dyn PartialSum);
    let (train_loss, train_accuracy) = evaluate_in(model, &task.train, device, part, max_bytes);
    let (test_loss, test_accuracy) = evaluate_in(model, &task.test, device, part, max_bytes);
    Scores {
        train_loss,
        train_accuracy,
        test_loss,
        test_accuracy,
    }
}

/// What a sharded run cannot do yet, refused before anything is written.
fn check_shardable(config: &TrainConfig, shard: &Shard) -> Result<(), TrainError> {
    let refuse = |message: String| {
        Err(TrainError::Config {
            source_name: format!("a run over {}", shard.members()),
            message,
        })
    };
    // The engine matters even in one process (the sharded step is the closed-form one).
    match crate::shard::split_obstacle(config) {
        Some(why) if shard.size() > 1 || config.engine != crate::Engine::ClosedForm => {
            refuse(why.into())
        }
        _ => Ok(()),
    }
}

/// Resuming in `dir`: the run there must be `config`'s (operational settings aside: logging,
/// evaluation and checkpoint cadence, where files live may change between the stop and the
/// resume). Returns the logging interval the metrics so far were written with.
fn same_run(config: &TrainConfig, dir: &Path) -> Result<u64, TrainError> {
    let differences = run_dir::compare(dir, config)?;
    if !differences.is_empty() {
        return Err(TrainError::OtherRunInProgress {
            dir: dir.to_path_buf(),
            differences: differences.join("; "),
        });
    }
    let existing = std::fs::read_to_string(dir.join(layout::CONFIG)).unwrap_or_default();
    let every = existing
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("log_every")?.as_integer());
    Ok(match every {
        Some(every) => config.log_every.max(every.max(1) as u64),
        None => config.log_every,
    })
}

/// The run's data (`task`, or the setting's dataset) and the fingerprint of the files it
/// reads (none for data given in memory); resuming, the files must be those the run read so
/// far. Checks that the run fits in memory before anything large is allocated.
fn load_inputs(
    config: &TrainConfig,
    dir: &Path,
    resuming: bool,
    task: Option<Task>,
    loaded: Option<Task>,
    shard: Option<&Shard>,
) -> Result<(Task, Option<Fingerprint>), TrainError> {
    let fingerprint = match &task {
        Some(_) => None,
        None => Some(crate::inputs::fingerprint(config)?),
    };
    if resuming && let (Some(recorded), Some(now)) = (crate::inputs::recorded(dir), &fingerprint) {
        crate::inputs::check(dir, &recorded, now)?;
    }
    let task = match task.or(loaded) {
        Some(task) => task,
        None => Task::load(config)?,
    };
    // Blocks of one process share its memory: the whole run was checked before they started
    // ([`crate::trainer`]); an MPI process holds its share.
    if !shard.is_some_and(Shard::shares_memory) {
        memory::check(
            config,
            task.train.dim,
            task.train.classes,
            task.train.len() + task.test.len(),
            memory::available(),
            shard.map_or(1, Shard::size),
        )?;
    }
    Ok((task, fingerprint))
}

/// Writes the run's setting into `dir`: config.toml, identity.json and inputs.json (none for
/// data given in memory). Returns each with its digest.
fn write_setting(
    config: &TrainConfig,
    dir: &Path,
    fingerprint: Option<&Fingerprint>,
) -> Result<Files, TrainError> {
    run_dir::create(dir)?;
    let mut written = Files::new();
    written.insert(
        layout::IDENTITY.into(),
        crate::identity::Identity::of(config).write(dir)?,
    );
    written.insert(
        layout::CONFIG.into(),
        weights::write_file(&dir.join(layout::CONFIG), config.to_toml().as_bytes())?,
    );
    match fingerprint {
        Some(f) => {
            written.insert(layout::INPUTS.into(), crate::inputs::write(dir, f)?);
        }
        None => {
            let _ = std::fs::remove_file(dir.join(layout::INPUTS));
        }
    }
    Ok(written)
}

/// The snapshots a resumed run wrote before its checkpoint, with their digests: as the
/// checkpoint recorded them, or, for a checkpoint made before manifests (which recorded none),
/// digested from the files of the planned snapshots up to its step.
fn earlier_snapshots(
    dir: &Path,
    c: &Checkpoint,
    plan: &[SnapshotPoint],
) -> Result<Files, TrainError> {
    if !c.run_files.is_empty() {
        return Ok(c
            .run_files
            .iter()
            .filter(|(name, _)| name.as_str() != layout::METRICS)
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect());
    }
    let mut files = Files::new();
    for point in plan.iter().filter(|p| p.step <= c.state.step) {
        for what in ["hidden", "readout"] {
            let name = layout::snapshot(what, point.j);
            let path = dir.join(&name);
            crate::weights::check_whole(&path).map_err(|problem| {
                TrainError::ChangedSinceCheckpoint {
                    dir: dir.to_path_buf(),
                    step: c.state.step,
                    problems: format!("snapshot {problem}"),
                }
            })?;
            let digest = meanfield_io::digest::of_file(&path)
                .map_err(|source| TrainError::Read { path, source })?;
            files.insert(name, digest);
        }
    }
    Ok(files)
}

/// Checks `config`'s folders are the program's ([`run_dir::check_ownership`]), claims them
/// and takes the run directory's lock (waiting for nobody: [`TrainError::Locked`]).
fn take(config: &TrainConfig, quiet: bool) -> Result<RunLock, TrainError> {
    run_dir::check_ownership(config)?;
    run_dir::claim(config)?;
    lock::acquire(&run_dir::run_dir(config), false, &|l| say(quiet, l))
}

/// The Polyak average stored in a checkpoint.
fn restore_average(
    config: &TrainConfig,
    c: &mut Checkpoint,
    block: &meanfield_model::MeanFieldNetConfig,
    device: &Device,
) -> Result<Option<PolyakAverage<2>>, TrainError> {
    let Some(start) = config.average_from else {
        return Ok(None);
    };
    let mean = match c.average.take() {
        Some((h, r)) => {
            let avg = block.init_with(device, h, r)?;
            Some(vec![avg.hidden.val(), avg.readout.val()])
        }
        None => None,
    };
    Ok(Some(PolyakAverage::from_parts(
        start,
        c.state.average_count,
        mean,
    )))
}
