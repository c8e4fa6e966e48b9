//! `train`: one run from a resolved config to a finished run directory, reusing a finished run
//! and resuming from a checkpoint. The loop itself is [`crate::Run`].

use crate::task::Task;
use crate::{Run, StopHandle, Summary, TrainConfig, TrainError, checkpoint, lock, run_dir};
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// No output on stderr.
    pub quiet: bool,
    /// Train from scratch even if the run directory holds a finished run or a checkpoint.
    pub force: bool,
    /// Require a checkpoint to resume from (without it, a checkpoint is still used when present).
    pub resume: bool,
    /// Checkpoint and stop when requested (the binary requests it on Ctrl-C).
    pub stop: StopHandle,
    /// When another process is training the same run: wait for it and reuse its result
    /// (without, that is an error naming the process).
    pub wait: bool,
}

/// Trains one run as `config` says and writes its directory.
pub fn train(config: &TrainConfig, options: RunOptions) -> Result<Outcome, TrainError> {
    train_with(config, None, options)
}

/// Trains `config` on data given in memory (for instance any Burn dataset, through
/// [`crate::task::Task::from_burn`]) instead of the setting's `dataset`. The run directory
/// must be given (`out`): the setting alone does not name in-memory data, so an automatic
/// name could reuse a run made on other data.
pub fn train_on(
    config: &TrainConfig,
    task: Task,
    options: RunOptions,
) -> Result<Outcome, TrainError> {
    if config.out.is_none() {
        return Err(TrainError::Config {
            source_name: "train_on".into(),
            message: "training on in-memory data needs an explicit run directory (`out`): the setting alone does not name the data".into(),
        });
    }
    train_with(config, Some(task), options)
}

fn train_with(
    config: &TrainConfig,
    task: Option<Task>,
    options: RunOptions,
) -> Result<Outcome, TrainError> {
    // 1. Validate; reuse a finished run of the same setting whose weights are whole (a run
    //    of another setting in the same --out is an error naming what differs).
    config.validate()?;
    if options.force && options.resume {
        return Err(TrainError::Config {
            source_name: "--resume --force".into(),
            message: "contradict each other: --resume continues from the checkpoint, --force removes it and starts over; give one".into(),
        });
    }
    let dir = run_dir::run_dir(config);
    let say = |line: &str| {
        if !options.quiet {
            eprintln!("{line}");
        }
    };
    if !options.force
        && let Some(summary) = run_dir::reusable(&dir, config, &say)?
    {
        return Ok(Outcome::Reused { dir, summary });
    }
    if config.out.is_some() && !options.force {
        run_dir::guard_out(&dir)?;
    }
    // 2. Hold the run directory's lock (another process may have finished the run while we
    //    waited for it); then start fresh, or resume from this setting's checkpoint.
    if task.is_none() {
        // A dataset that is not on disk is an error before the run directory is made.
        config.dataset.check_present(&config.data_dir)?;
    }
    let lock = lock::acquire(&dir, options.wait, &say)?;
    if !options.force
        && let Some(summary) = run_dir::reusable(&dir, config, &say)?
    {
        return Ok(Outcome::Reused { dir, summary });
    }
    if options.force {
        // Said, never silent: --force throws away a checkpoint's work.
        if checkpoint::latest(&dir).is_some() {
            say(&format!(
                "--force: removing the checkpoint in {} and starting over",
                dir.display()
            ));
        }
        checkpoint::remove(&dir);
    }
    let checkpoint = checkpoint::latest(&dir);
    if checkpoint.is_none() && options.resume {
        return Err(TrainError::NothingToResume { dir });
    }
    let mut run = Run::start(config, checkpoint.as_deref(), options.quiet, lock, task)?;
    // 3. Step to the end (or to a requested stop, with a checkpoint).
    run.fit(&options.stop)?;
    // 4. Final weights and summary.json.
    let summary = run.finish()?;
    Ok(Outcome::Trained { dir, summary })
}
