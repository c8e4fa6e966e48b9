//! What a run says on stderr: its setting in one line when it starts, and one line when it
//! ends.

use crate::TrainConfig;
use crate::stepper::Stepper;
use crate::summary::Summary;
use crate::task::Task;
use std::path::Path;

/// The run's setting in one line (and the one-particle note when it applies).
pub(crate) fn startup_line(
    config: &TrainConfig,
    task: &Task,
    stepper: &Stepper,
    steps: u64,
    dir: &Path,
) -> String {
    let schedule = stepper.schedule();
    let mut line = String::new();
    if config.identical_particles {
        line.push_str(&format!(
            "identical particles: one particle stands for all N = {}, stepping with the per-particle step γN^(β−1) = {:.6e}\n",
            config.width,
            config.applied_step(schedule.step_size(0))
        ));
    }
    if config.dynamics == crate::Dynamics::Diffusion {
        line.push_str(&format!(
            "particle diffusion (6): drift over {}, noise covariance Σ/M over {} | ",
            describe_set(config.drift_set),
            describe_set(config.noise_set)
        ));
    }
    if let Some(shard) = stepper.shard() {
        line.push_str(&format!(
            "sharded over {}: particles {}..{} here, logits summed across them every step | ",
            shard.members(),
            shard.rows().start,
            shard.rows().end
        ));
    }
    let steps_note = if config.steps.is_some() {
        format!(", running {steps} (a fixed number of steps)")
    } else {
        String::new()
    };
    line.push_str(&format!(
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
        schedule.horizon_steps(),
        steps_note,
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
    line
}

fn describe_set(set: crate::ExampleSet) -> String {
    match set {
        crate::ExampleSet::Batch => "M examples drawn per step".into(),
        crate::ExampleSet::Drawn(k) => format!("{k} examples drawn per step"),
        crate::ExampleSet::Full => "the whole training set".into(),
    }
}

/// The closing line of a finished run.
pub(crate) fn done_line(s: &Summary, dir: &Path) -> String {
    format!(
        "done: {} steps in {:.1}s ({:.1} steps/s) | train acc {:.4} loss {:.4} | test acc {:.4} loss {:.4}{} | {}",
        s.steps,
        s.wall_seconds,
        s.steps_per_second,
        s.last.train_accuracy,
        s.last.train_loss,
        s.last.test_accuracy,
        s.last.test_loss,
        s.averaged.map_or(String::new(), |a| format!(
            " | averaged: train acc {:.4}, test acc {:.4}",
            a.train_accuracy, a.test_accuracy
        )),
        dir.display()
    )
}
