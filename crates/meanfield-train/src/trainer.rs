//! `train`: one run from a resolved config to a finished run directory, reusing a finished run
//! and resuming from a checkpoint. The loop itself is [`crate::Run`].

use crate::run::{Start, StartOptions};
use crate::shard::Shard;
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
    /// Train one block of the run's particles as one of several processes
    /// ([`crate::shard`]; every process calls [`train`] with its own shard). The number of
    /// processes is not part of the run: the run directory is the one an unsharded run
    /// writes, and a checkpoint continues with any number of processes.
    pub shard: Option<Shard>,
}

impl RunOptions {
    /// The defaults, with no output on stderr (library callers, tests).
    pub fn quiet() -> Self {
        RunOptions {
            quiet: true,
            ..Default::default()
        }
    }
}

/// Trains one run as `config` says and writes its directory.
pub fn train(config: &TrainConfig, options: RunOptions) -> Result<Outcome, TrainError> {
    train_with(config, Inputs::Setting(None), options)
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
    train_with(config, Inputs::Memory(task), options)
}

/// The data of a run: the setting's own dataset (loaded already, or to be loaded from its
/// files), or data given in memory.
enum Inputs {
    Setting(Option<Task>),
    Memory(Task),
}

fn train_with(
    config: &TrainConfig,
    inputs: Inputs,
    options: RunOptions,
) -> Result<Outcome, TrainError> {
    // 1. Validate.
    config.validate()?;
    if options.force && options.resume {
        return Err(TrainError::Config {
            source_name: "`resume` `force`".into(),
            message: "contradict each other: `resume` continues from the checkpoint, `force` removes it and starts over; give one".into(),
        });
    }
    // A process's particles beyond one buffer of its device: blocks on that device.
    // (A shard of an MPI run, or a block, is checked against the limit when it starts.)
    let inputs = match options.shard {
        Some(_) => inputs,
        None => match split(config, inputs, &options)? {
            Split::Reused(summary) => {
                return Ok(Outcome::Reused {
                    dir: run_dir::run_dir(config),
                    summary: *summary,
                });
            }
            Split::Blocks(inputs, blocks) => {
                return train_in_blocks(config, inputs, options, blocks);
            }
            Split::Whole(inputs) => inputs,
        },
    };
    let (on_disk, task, loaded) = match inputs {
        Inputs::Setting(loaded) => (true, None, loaded),
        Inputs::Memory(task) => (false, Some(task), None),
    };
    // 2. Reuse, or hold the lock and find the checkpoint ([`prepare`]); in a sharded run the
    //    lead shard does this and the others follow it.
    let dir = run_dir::run_dir(config);
    let shard = options.shard.clone();
    let prepared = match shard.as_ref().filter(|s| !s.is_lead()) {
        Some(follower) => follow_lead(follower, &dir)?,
        None => {
            let quiet = options.quiet;
            let say = |line: &str| {
                if !quiet {
                    eprintln!("{line}");
                }
            };
            let prepared = prepare(config, on_disk, &options, &dir, &say);
            // The lead shard (or an unsharded run) decides, and tells the other shards.
            if let Some(s) = &shard {
                s.lead_says(match &prepared {
                    Ok(Prepared::Reused(_)) => Decision::Reused,
                    Ok(Prepared::Train {
                        checkpoint: Some(c),
                        ..
                    }) if c.ends_with(crate::layout::CHECKPOINT_OLD) => Decision::ResumeOld,
                    Ok(Prepared::Train {
                        checkpoint: Some(_),
                        ..
                    }) => Decision::Resume,
                    Ok(Prepared::Train { .. }) => Decision::Fresh,
                    Err(_) => Decision::Failed,
                } as u32);
            }
            prepared?
        }
    };
    let (lock, checkpoint, claimed_new) = match prepared {
        Prepared::Reused(summary) => {
            return Ok(Outcome::Reused {
                dir,
                summary: *summary,
            });
        }
        Prepared::Train {
            lock,
            checkpoint,
            claimed_new,
        } => (lock, checkpoint, claimed_new),
    };
    let start = match &checkpoint {
        Some(c) => Start::Resume(c),
        None => Start::Fresh,
    };
    let started = Run::start(
        config,
        start,
        StartOptions {
            quiet: options.quiet,
            forced: options.force,
            lock,
            task,
            loaded,
            shard,
        },
    );
    let mut run = match started {
        Ok(run) => run,
        Err(e) => {
            // Refused before writing anything (data, memory): a folder made for this run
            // is left as it was found.
            if claimed_new {
                run_dir::abandon(&dir);
            }
            return Err(e);
        }
    };
    // 3. Step to the end (or to a requested stop, with a checkpoint).
    run.fit(&options.stop)?;
    // 4. Final weights and summary.json.
    let summary = run.finish()?;
    Ok(Outcome::Trained { dir, summary })
}

/// How many blocks a run's particles take, and the limit (bytes, its source) that splits them.
type Blocks = (usize, (u64, String));

/// How a run's particles meet its device's buffers ([`split`]).
enum Split {
    /// A finished run of this setting, reused as it is (no data loaded, no split decided).
    Reused(Box<Summary>),
    /// One piece: the particles fit one buffer, or the device has no limit.
    Whole(Inputs),
    /// Blocks of particles, one buffer each.
    Blocks(Inputs, Blocks),
}

/// How many blocks the run's particles take on its device, when one buffer of it holds fewer
/// than all of them ([`crate::buffers`]). The data is loaded here when a limit applies (its
/// size decides), and handed on; a finished run is reused before that.
fn split(config: &TrainConfig, inputs: Inputs, options: &RunOptions) -> Result<Split, TrainError> {
    let device = config.backend.device()?;
    let Some(limit) = crate::buffers::limit(config, &device) else {
        return Ok(Split::Whole(inputs));
    };
    // Silent: a damaged finished run is said to be so by [`prepare`], which checks again.
    if let Some(summary) = finished_run(config, options, &run_dir::run_dir(config), &|_| {})? {
        return Ok(Split::Reused(Box::new(summary)));
    }
    let inputs = match inputs {
        Inputs::Setting(None) => Inputs::Setting(Some(Task::load(config)?)),
        other => other,
    };
    let task = match &inputs {
        Inputs::Setting(Some(t)) | Inputs::Memory(t) => t,
        Inputs::Setting(None) => unreachable!("loaded above"),
    };
    let (p, examples) = (task.train.dim, task.train.len());
    let width = config.net_width();
    // The step's examples and a single particle's row must fit; the refusal says why and what
    // else to do.
    crate::buffers::check(config, p, examples, 1, 1, limit.clone())?;
    let per_row = crate::buffers::row_bytes(config, p, examples);
    if per_row * width as u64 <= limit.0 {
        return Ok(Split::Whole(inputs));
    }
    let fits = (limit.0 / per_row) as usize;
    let blocks = width.div_ceil(fits);
    crate::buffers::check_blocks(config, blocks, fits, limit.clone())?;
    // The blocks share this machine's memory, and the data (the task's sets are shared, not
    // copied): the whole run must fit it (each block's own start checks only what an MPI
    // process holds, [`crate::memory::check`]).
    crate::memory::check(
        config,
        p,
        task.train.classes,
        examples + task.test.len(),
        crate::memory::available(),
        1,
    )?;
    Ok(Split::Blocks(inputs, (blocks, limit)))
}

/// A run whose particles do not fit one buffer of the device, trained as `blocks` blocks of
/// particles on that device, one thread each: the shards of [`crate::shard`] (the MPI path)
/// in one process, over a [`LocalGroup`], so the run is the one its shards compute (the
/// logits summed over the blocks in block order; 1 block is the unsharded run's bits).
fn train_in_blocks(
    config: &TrainConfig,
    inputs: Inputs,
    options: RunOptions,
    (blocks, (limit, source)): Blocks,
) -> Result<Outcome, TrainError> {
    if !options.quiet {
        eprintln!(
            "N = {} does not fit one buffer of {limit} bytes ({source}) on the {} backend: its particles are split into {blocks} blocks, one thread each",
            config.net_width(),
            config.backend
        );
    }
    let inputs = &inputs;
    let results = std::thread::scope(|scope| {
        let threads: Vec<_> = crate::shard::LocalGroup::members(blocks)
            .into_iter()
            .map(|member| {
                let options = options.clone();
                scope.spawn(move || {
                    let group = member.clone();
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let shard = Shard::new(member, config.net_width())?;
                        let inputs = match inputs {
                            Inputs::Setting(t) => Inputs::Setting(t.clone()),
                            Inputs::Memory(t) => Inputs::Memory(t.clone()),
                        };
                        train_with(
                            config,
                            inputs,
                            RunOptions {
                                shard: Some(shard),
                                ..options
                            },
                        )
                    }));
                    // A block that stops releases the others from the exchange.
                    if !matches!(result, Ok(Ok(_))) {
                        group.abort();
                    }
                    result
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a block's panic is caught in its thread"))
            .collect::<Vec<_>>()
    });
    blocks_outcome(results)
}

/// The outcome of a run split into blocks: the first block's own error (not another's failure
/// seen through the exchange), else the first panic that was not a release from the
/// exchange, else the lead block's outcome.
fn blocks_outcome(
    results: Vec<std::thread::Result<Result<Outcome, TrainError>>>,
) -> Result<Outcome, TrainError> {
    let mut results = results;
    if let Some(i) = results
        .iter()
        .position(|r| matches!(r, Ok(Err(e)) if !matches!(e, TrainError::ShardFailed { .. })))
    {
        return results.swap_remove(i).expect("an error, not a panic");
    }
    if let Some(i) = results
        .iter()
        .position(|r| matches!(r, Err(p) if !p.is::<crate::shard::Aborted>()))
    {
        let Err(panic) = results.swap_remove(i) else {
            unreachable!("a panic")
        };
        std::panic::resume_unwind(panic);
    }
    if let Some(i) = results.iter().position(|r| matches!(r, Ok(Err(_)))) {
        return results.swap_remove(i).expect("an error, not a panic");
    }
    match results.swap_remove(0) {
        Ok(outcome) => outcome,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// What the lead shard (or an unsharded run) found before training.
enum Prepared {
    /// A finished run of this setting, reused.
    Reused(Box<Summary>),
    /// Train, under this lock (held by the lead shard only), fresh or from this checkpoint;
    /// `claimed_new`: the run directory was new or empty before this call.
    Train {
        lock: Option<crate::lock::RunLock>,
        checkpoint: Option<PathBuf>,
        claimed_new: bool,
    },
}

/// The lead's choice, as told to the other shards.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Decision {
    Failed = 0,
    Reused = 1,
    Fresh = 2,
    Resume = 3,
    /// From `checkpoint.old/`, the newest being damaged.
    ResumeOld = 4,
}

/// Whose folder it is (a folder of the user's or a system location is refused before anything
/// is read or written); reuse a finished run of the same setting whose files are whole (a run
/// of another setting in the same `out` is an error naming what differs); else claim the
/// folder, hold its lock (another process may have finished the run while we waited for it),
/// and find the checkpoint to continue from, checked whole, if any.
fn prepare(
    config: &TrainConfig,
    on_disk: bool,
    options: &RunOptions,
    dir: &Path,
    say: &dyn Fn(&str),
) -> Result<Prepared, TrainError> {
    if let Some(summary) = finished_run(config, options, dir, say)? {
        return Ok(Prepared::Reused(Box::new(summary)));
    }
    if on_disk {
        // A dataset that is not on disk is an error before the run directory is made.
        config.dataset.check_present(&config.data_dir)?;
    }
    let claimed_new = run_dir::claim(config)?;
    let locked = take_over(config, dir, options, claimed_new, say);
    if locked.is_err() && claimed_new {
        // Refused before anything was written: the new folder is left as it was found.
        run_dir::abandon(dir);
    }
    locked
}

/// The finished run of this setting in `dir` to reuse ([`run_dir::reusable`]), unless
/// `force`; the folder must be the program's ([`run_dir::check_ownership`]) either way.
fn finished_run(
    config: &TrainConfig,
    options: &RunOptions,
    dir: &Path,
    say: &dyn Fn(&str),
) -> Result<Option<Summary>, TrainError> {
    run_dir::check_ownership(config)?;
    if options.force {
        return Ok(None);
    }
    run_dir::reusable(dir, config, say)
}

/// [`prepare`] under the lock: reuse (another process may have finished the run while we
/// waited), else the checkpoint to continue from.
fn take_over(
    config: &TrainConfig,
    dir: &Path,
    options: &RunOptions,
    claimed_new: bool,
    say: &dyn Fn(&str),
) -> Result<Prepared, TrainError> {
    let lock = lock::acquire_until(dir, options.wait, &options.stop, say)?;
    // A process that held the lock while we waited may have left the folder as it found it
    // (a refused run): mark it again, under the lock.
    run_dir::claim(config)?;
    // Checked again without a word (the first check said what it found).
    if !options.force
        && let Some(summary) = run_dir::reusable(dir, config, &|_| {})?
    {
        return Ok(Prepared::Reused(Box::new(summary)));
    }
    // Under `force` the run starts over: its earlier files are removed (and said) by the fresh
    // start, once its inputs are loaded, so a run refused before then loses nothing.
    let checkpoint = if options.force {
        None
    } else {
        let identity = crate::identity::Identity::of(config).hash_hex();
        checkpoint::find(dir, Some(&identity), say)?
    };
    if checkpoint.is_none() && options.resume {
        return Err(TrainError::NothingToResume {
            dir: dir.to_path_buf(),
        });
    }
    Ok(Prepared::Train {
        lock: Some(lock),
        checkpoint,
        claimed_new,
    })
}

/// A shard other than the lead: what the lead decided (reuse, fresh, resume). The lead holds
/// the lock and writes the run's files.
fn follow_lead(shard: &Shard, dir: &Path) -> Result<Prepared, TrainError> {
    let failed = || TrainError::ShardFailed { ranks: vec![0] };
    let checkpoint = match shard.lead_says(Decision::Failed as u32) {
        // The lead checked it whole; reading its summary is enough here.
        d if d == Decision::Reused as u32 => {
            let summary = run_dir::summary(dir).ok_or_else(failed)?;
            return Ok(Prepared::Reused(Box::new(summary)));
        }
        d if d == Decision::Fresh as u32 => None,
        // The lead found it whole; were it gone here, loading it fails on every shard alike.
        d if d == Decision::Resume as u32 => Some(dir.join(crate::layout::CHECKPOINT)),
        d if d == Decision::ResumeOld as u32 => Some(dir.join(crate::layout::CHECKPOINT_OLD)),
        _ => return Err(failed()),
    };
    Ok(Prepared::Train {
        lock: None,
        checkpoint,
        claimed_new: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error(what: &str) -> TrainError {
        TrainError::Config {
            source_name: what.into(),
            message: "failed".into(),
        }
    }

    /// A split run's outcome is the block's own error, not the lead's report of another's
    /// failure nor a block released from the exchange; a real panic comes through.
    #[test]
    fn a_blocks_own_error_is_the_outcome() {
        let aborted = || -> std::thread::Result<Result<Outcome, TrainError>> {
            Err(Box::new(crate::shard::Aborted))
        };
        let results = vec![
            Ok(Err(TrainError::ShardFailed { ranks: vec![2] })),
            aborted(),
            Ok(Err(config_error("block 2's disk"))),
        ];
        let e = blocks_outcome(results).unwrap_err().to_string();
        assert!(e.contains("block 2's disk"), "{e}");
        let results = vec![aborted(), Err(Box::new("a real panic") as Box<_>)];
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| blocks_outcome(results)))
                .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"a real panic"));
    }
}
