//! The training loop: resolved config in, run directory out.

use crate::checkpoint::{self, CheckpointState};
use crate::engine::StepEngine;
use crate::evaluate::evaluate;
use crate::metrics::{MetricsRow, MetricsWriter};
use crate::progress::Progress;
use crate::summary::{Scores, Summary};
use crate::task::Task;
use crate::{TrainConfig, TrainError, run_dir, weights};
use burn::tensor::{Device, Tensor, TensorData};
use meanfield_data::Sampler;
use meanfield_model::{MeanFieldNet, loss, net::to_vec, one_hot};
use meanfield_optim::{PolyakAverage, ScaledSgd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The batch sampler's ChaCha8 seed is the run's seed XOR this constant, so the initial
/// weights (seeded by the run's seed itself) and the batch order are independent streams.
pub const SAMPLER_STREAM: u64 = 0x5EED_0FBA_7C40_0001;
/// The device generator (Langevin noise) is seeded with the run's seed XOR this constant.
pub const NOISE_STREAM: u64 = 0x4015_E5EE_D000_0002;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks running trainings to checkpoint and stop after their current step (the binary calls
/// this from its Ctrl-C handler).
pub fn request_interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether [`request_interrupt`] was called (grids stop starting new runs).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Writes `summary.json` with status "diverged" (the last good checkpoint stays in place).
fn mark_diverged(dir: &Path, error: &TrainError) {
    let text = serde_json::json!({ "status": "diverged", "error": error.to_string() });
    let _ = weights::write_atomic(&dir.join(run_dir::SUMMARY), &text.to_string());
}

/// How a call to [`train`] ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The run was trained now.
    Trained { dir: PathBuf, summary: Summary },
    /// The directory already held a finished run of this setting; it was reused.
    Reused { dir: PathBuf, summary: Summary },
}

impl Outcome {
    pub fn summary(&self) -> &Summary {
        match self {
            Outcome::Trained { summary, .. } | Outcome::Reused { summary, .. } => summary,
        }
    }
    pub fn dir(&self) -> &Path {
        match self {
            Outcome::Trained { dir, .. } | Outcome::Reused { dir, .. } => dir,
        }
    }
}

/// Options that change how a run is carried out, not what it computes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// No output on stderr.
    pub quiet: bool,
    /// Train from scratch even if the run directory holds a finished run or a checkpoint.
    pub force: bool,
    /// Require a checkpoint to resume from (without it, a checkpoint is still used when present).
    pub resume: bool,
}

/// Scores of `model` on the task.
fn score(model: &MeanFieldNet, task: &Task, device: &Device) -> Scores {
    let (train_loss, train_accuracy) = evaluate(model, &task.train, device);
    let (test_loss, test_accuracy) = evaluate(model, &task.test, device);
    Scores {
        train_loss,
        train_accuracy,
        test_loss,
        test_accuracy,
    }
}

fn initial_model(
    config: &TrainConfig,
    task: &Task,
    device: &Device,
) -> Result<MeanFieldNet, TrainError> {
    let net = config.net(task.train.dim, task.train.classes);
    match &config.init_from {
        None => Ok(net.init(device, config.seed)?),
        Some(dir) => {
            let hidden = weights::load(&dir.join(weights::HIDDEN), [net.width, net.input_dim])?;
            let readout = weights::load(&dir.join(weights::READOUT), [net.width, net.classes])?;
            Ok(net.init_with(device, hidden, readout)?)
        }
    }
}

fn save_weights(
    dir: &Path,
    hidden: &str,
    readout: &str,
    model: &MeanFieldNet,
) -> Result<(), TrainError> {
    weights::save_tensor(&dir.join(hidden), &model.hidden.val())?;
    weights::save_tensor(&dir.join(readout), &model.readout.val())
}

/// Trains one run as `config` says and writes its directory.
pub fn train(config: &TrainConfig, options: RunOptions) -> Result<Outcome, TrainError> {
    config.validate()?;
    let dir = run_dir::run_dir(config);
    if !options.force
        && let Some(summary) = run_dir::finished(&dir)
    {
        return Ok(Outcome::Reused { dir, summary });
    }
    let say = |line: &str| {
        if !options.quiet {
            eprintln!("{line}");
        }
    };
    // Resume from a checkpoint of the same setting; never from another setting's.
    let resume_dir = if options.force {
        checkpoint::remove(&dir);
        None
    } else {
        checkpoint::latest(&dir)
    };
    if let Some(_ckpt) = &resume_dir {
        let existing = std::fs::read_to_string(dir.join(run_dir::CONFIG)).unwrap_or_default();
        if existing != config.to_toml() {
            return Err(TrainError::OtherRunInProgress { dir });
        }
    } else if options.resume {
        return Err(TrainError::NothingToResume { dir });
    }
    let device = config.backend.device()?;
    let mut log = |line: &str| say(line);
    let task = Task::load(config, &mut log)?;
    let schedule = config.schedule().init()?;
    let horizon_steps = schedule.horizon_steps();
    let steps = config.steps.unwrap_or(horizon_steps);

    run_dir::create(&dir)?;
    weights::write_atomic(&dir.join(run_dir::CONFIG), &config.to_toml())?;
    let _ = std::fs::remove_file(dir.join(run_dir::SUMMARY));
    let resumed = match &resume_dir {
        Some(ckpt) => Some(checkpoint::load(
            ckpt,
            (config.net_width(), task.train.dim, task.train.classes),
        )?),
        None => None,
    };

    if config.identical_particles {
        say(&format!(
            "identical particles: one particle stands for all N = {}, stepping with the per-particle step γN^(β−1) = {:.6e}",
            config.width,
            config.applied_step(schedule.step_size(0))
        ));
    }
    say(&format!(
        "{} (p = {}, {} train / {} test) | N = {} | α = {} β = {} γ = {} | M = {} | T = {} → n_T = {}{} | step size γN^β = {:.6} (first step), γ_αβ(N) = {:.6e} | readout {} | init {} / {} | {} | backend {} ({}) | {}",
        config.dataset,
        task.train.dim,
        task.train.len(),
        task.test.len(),
        config.width,
        config.alpha,
        config.beta,
        config.gamma,
        config.batch,
        config.horizon,
        horizon_steps,
        if config.steps.is_some() {
            format!(", running {steps} (--steps)")
        } else {
            String::new()
        },
        schedule.step_size(0),
        schedule.time_step(),
        config.readout,
        config.init,
        config.readout_init,
        config.activation,
        config.backend,
        config.engine,
        dir.display()
    ));

    let model = match &resumed {
        Some(c) => config.net(task.train.dim, task.train.classes).init_with(
            &device,
            c.hidden.clone(),
            c.readout.clone(),
        )?,
        None => initial_model(config, &task, &device)?,
    };
    let (n_width, p, classes, m) = (
        config.net_width(),
        task.train.dim,
        task.train.classes,
        config.batch,
    );
    let mut engine = StepEngine::new(
        config.engine,
        model,
        ScaledSgd::new(config.penalty, n_width).with_temperature(config.temperature),
    );
    let batch_device = engine.batch_device(&device);
    let mut sampler = Sampler::new(
        config.sampling,
        task.train.len(),
        m,
        config.seed ^ SAMPLER_STREAM,
    )?;
    let mut average = config.average_from.map(PolyakAverage::<2>::new);
    let metrics_path = dir.join(run_dir::METRICS);
    let (first_step, mut metrics, previous_train, mut eval_seconds) = match &resumed {
        Some(c) => {
            sampler.restore(c.state.sampler.clone());
            if let (Some(start), Some((h, r))) = (config.average_from, &c.average) {
                let net = config.net(task.train.dim, task.train.classes);
                let avg = net.init_with(&device, h.clone(), r.clone())?;
                average = Some(PolyakAverage::from_parts(
                    start,
                    c.state.average_count,
                    Some(vec![avg.hidden.val(), avg.readout.val()]),
                ));
            }
            say(&format!(
                "resuming from the checkpoint at step {}",
                c.state.step
            ));
            (
                c.state.step,
                MetricsWriter::resume(&metrics_path, c.state.step)?,
                c.state.train_seconds,
                c.state.eval_seconds,
            )
        }
        None => (0, MetricsWriter::create(&metrics_path)?, 0.0, 0.0),
    };

    let start = Instant::now();
    let eval_before = eval_seconds;
    let evaluate_row = |row: &mut MetricsRow, model: &MeanFieldNet, eval_seconds: &mut f64| {
        let t = Instant::now();
        let s = score(model, &task, &device);
        row.train_loss = Some(s.train_loss);
        row.train_accuracy = Some(s.train_accuracy);
        row.test_loss = Some(s.test_loss);
        row.test_accuracy = Some(s.test_accuracy);
        *eval_seconds += t.elapsed().as_secs_f64();
        s
    };
    // The latest full evaluation and the step it was made at: the final one is reused for
    // the summary instead of evaluating the same weights twice.
    let mut scored: Option<(u64, Scores)> = None;
    if first_step == 0 {
        let mut row0 = MetricsRow::default();
        scored = Some((
            0,
            evaluate_row(&mut row0, &engine.model(), &mut eval_seconds),
        ));
        metrics.write(&row0)?;
    }

    let mut progress = Progress::new(steps, options.quiet);
    let mut last = None;
    for n in first_step..steps {
        let lr = schedule.step_size(n);
        if config.temperature > 0.0 {
            // One seed per step, so the Langevin noise of step n is the same whether or not the
            // run was interrupted and resumed.
            device.seed(
                (config.seed ^ NOISE_STREAM).wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            );
        }
        let idx = sampler.next_batch();
        let (x, y) = task.train.gather(&idx);
        let xt = Tensor::<2>::from_data(TensorData::new(x, [m, p]), &batch_device);
        let logits = engine.step(
            config.applied_step(lr),
            xt,
            one_hot(&y, classes, &batch_device),
        );
        let done = n + 1;
        let eval_now = done == steps || (config.eval_every > 0 && done % config.eval_every == 0);
        let log_now = eval_now || done % config.log_every == 0;
        let mut row = MetricsRow {
            step: done,
            time: schedule.time(done),
            step_size: Some(lr),
            ..Default::default()
        };
        if log_now {
            let logits = to_vec(logits);
            let batch_loss = loss::host_cross_entropy(&logits, &y, classes) / m as f64;
            if !batch_loss.is_finite() {
                let e = TrainError::Diverged {
                    step: n,
                    step_size: lr,
                    what: "the batch loss".into(),
                };
                mark_diverged(&dir, &e);
                return Err(e);
            }
            row.batch_loss = Some(batch_loss);
            row.batch_accuracy = Some(loss::accuracy(&logits, &y, classes) as f64 / m as f64);
            last = Some(batch_loss);
        }
        if let Some(avg) = average.as_mut()
            && done >= avg.start()
        {
            let model = engine.model();
            avg.observe(done, &[model.hidden.val(), model.readout.val()]);
        }
        if eval_now {
            let s = evaluate_row(&mut row, &engine.model(), &mut eval_seconds);
            if !s.train_loss.is_finite() {
                let e = TrainError::Diverged {
                    step: n,
                    step_size: lr,
                    what: "the training loss".into(),
                };
                mark_diverged(&dir, &e);
                return Err(e);
            }
            scored = Some((done, s));
        }
        if log_now {
            metrics.write(&row)?;
        }
        let interrupted = INTERRUPTED.load(Ordering::SeqCst) && done < steps;
        if interrupted
            || (config.checkpoint_every > 0 && done % config.checkpoint_every == 0 && done < steps)
        {
            let avg_model = average.as_ref().and_then(|a| a.mean()).map(|mean| {
                engine
                    .model()
                    .with_weights(mean[0].clone(), mean[1].clone())
            });
            let state = CheckpointState {
                step: done,
                sampler: sampler.state(),
                average_count: average.as_ref().map_or(0, |a| a.count()),
                train_seconds: previous_train + start.elapsed().as_secs_f64()
                    - (eval_seconds - eval_before),
                eval_seconds,
            };
            checkpoint::save(&dir, &state, &engine.model(), avg_model.as_ref())?;
            if interrupted {
                progress.finish();
                return Err(TrainError::Interrupted { step: done, dir });
            }
        }
        progress.update(done, last);
    }
    progress.finish();
    let wall = start.elapsed().as_secs_f64();
    let train_seconds = (previous_train + wall - (eval_seconds - eval_before)).max(1e-9);

    let final_model = engine.model();
    let last_scores = match scored {
        Some((step, s)) if step == steps => s,
        _ => score(&final_model, &task, &device),
    };
    save_weights(&dir, weights::HIDDEN, weights::READOUT, &final_model)?;
    let averaged = match average.as_ref().and_then(|a| a.mean()) {
        Some(mean) => {
            let avg_model = final_model
                .clone()
                .with_weights(mean[0].clone(), mean[1].clone());
            save_weights(&dir, weights::HIDDEN_AVG, weights::READOUT_AVG, &avg_model)?;
            Some(score(&avg_model, &task, &device))
        }
        None => None,
    };
    let summary = Summary {
        status: "finished".into(),
        dataset: config.dataset.to_string(),
        width: config.width,
        beta: config.beta,
        alpha: config.alpha,
        gamma: config.gamma,
        batch: config.batch,
        horizon_steps,
        steps,
        time_step: schedule.time_step(),
        initial_step_size: schedule.step_size(0),
        train_examples: task.train.len(),
        test_examples: task.test.len(),
        last: last_scores,
        averaged,
        wall_seconds: previous_train + eval_before + start.elapsed().as_secs_f64(),
        steps_per_second: steps as f64 / train_seconds,
        backend: config.backend.to_string(),
        engine: config.engine.to_string(),
    };
    weights::write_atomic(
        &dir.join(run_dir::SUMMARY),
        &serde_json::to_string_pretty(&summary).expect("summary serialises"),
    )?;
    checkpoint::remove(&dir);
    say(&format!(
        "done: {steps} steps in {:.1}s ({:.1} steps/s) | train acc {:.4} loss {:.4} | test acc {:.4} loss {:.4}{} | {}",
        summary.wall_seconds,
        summary.steps_per_second,
        last_scores.train_accuracy,
        last_scores.train_loss,
        last_scores.test_accuracy,
        last_scores.test_loss,
        averaged.map_or(String::new(), |a| format!(
            " | averaged: train acc {:.4}, test acc {:.4}",
            a.train_accuracy, a.test_accuracy
        )),
        dir.display()
    ));
    Ok(Outcome::Trained { dir, summary })
}
