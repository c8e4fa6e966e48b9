//! A grid of training runs: each config is an ordinary run (its own run directory); runs whose
//! directory already holds a finished run are reused, so calling a grid again resumes it.

use crate::StudyError;
use crate::plan::{GridMode, write_plan};
use meanfield_train::{Outcome, RunOptions, StopHandle, TrainConfig, TrainError, run_dir, train};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

/// Runs every config, `jobs` at a time (each run uses the backend's own threads too). The
/// results come back in the order of `configs`; a failed run does not stop the others. Once
/// `stop` is requested the running runs checkpoint and stop, and no new run starts (those
/// report [`TrainError::Interrupted`] at step 0).
pub fn run_grid(
    configs: &[TrainConfig],
    jobs: usize,
    stop: &StopHandle,
    log: &(dyn Fn(&str) + Sync),
) -> Vec<Result<Outcome, TrainError>> {
    run_grid_with(configs, jobs, false, stop, log)
}

/// [`run_grid`], with `force`: every run trained again from step 0 (its earlier files
/// removed, as `force` does for one run).
pub fn run_grid_with(
    configs: &[TrainConfig],
    jobs: usize,
    force: bool,
    stop: &StopHandle,
    log: &(dyn Fn(&str) + Sync),
) -> Vec<Result<Outcome, TrainError>> {
    let mut results: Vec<Option<Result<Outcome, TrainError>>> =
        (0..configs.len()).map(|_| None).collect();
    // First every run this process can take; a run another process is training is left for a
    // second pass, which waits for that process and then reuses its finished run (never
    // forced: that run was just trained, under the same setting, by the other process).
    let all: Vec<usize> = (0..configs.len()).collect();
    let (first, later) = (
        Pass { wait: false, force },
        Pass {
            wait: true,
            force: false,
        },
    );
    run_indices(configs, &all, jobs, stop, first, log, &mut results);
    let locked: Vec<usize> = all
        .into_iter()
        .filter(|&i| matches!(results[i], Some(Err(TrainError::Locked { .. }))))
        .collect();
    run_indices(configs, &locked, jobs, stop, later, log, &mut results);
    results
        .into_iter()
        .map(|r| r.expect("every index was run"))
        .collect()
}

/// How one pass over a grid trains: waiting for runs another process holds, and starting over.
#[derive(Clone, Copy)]
struct Pass {
    wait: bool,
    force: bool,
}

/// Runs `configs[i]` for each i in `indices`, `jobs` at a time, into `results[i]`.
fn run_indices(
    configs: &[TrainConfig],
    indices: &[usize],
    jobs: usize,
    stop: &StopHandle,
    Pass { wait, force }: Pass,
    log: &(dyn Fn(&str) + Sync),
    results: &mut [Option<Result<Outcome, TrainError>>],
) {
    let done: Mutex<Vec<(usize, Result<Outcome, TrainError>)>> = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(indices.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let position = {
                        let mut n = next.lock().expect("no panics hold this lock");
                        let position = *n;
                        *n += 1;
                        position
                    };
                    let Some(&i) = indices.get(position) else {
                        break;
                    };
                    let config = &configs[i];
                    let result = if stop.requested() {
                        Err(TrainError::Interrupted {
                            step: 0,
                            dir: run_dir::run_dir(config),
                        })
                    } else {
                        let result = train(
                            config,
                            RunOptions {
                                stop: stop.clone(),
                                wait,
                                force,
                                ..RunOptions::quiet()
                            },
                        );
                        match &result {
                            Err(TrainError::Locked { holder, .. }) if !wait => log(&format!(
                                "[{}/{}] {} is being trained by {holder}: coming back to it later",
                                i + 1,
                                configs.len(),
                                run_dir::run_dir(config).display()
                            )),
                            _ => log(&describe_outcome(i, configs.len(), &result)),
                        }
                        result
                    };
                    done.lock()
                        .expect("no panics hold this lock")
                        .push((i, result));
                }
            });
        }
    });
    for (i, result) in done.into_inner().expect("threads joined") {
        results[i] = Some(result);
    }
}

/// The finished runs of `configs` as reused outcomes; the error lists those not finished.
fn finished_only(configs: &[TrainConfig]) -> Result<Vec<Result<Outcome, TrainError>>, StudyError> {
    let mut missing = Vec::new();
    let mut outcomes = Vec::new();
    for c in configs {
        let dir = run_dir::run_dir(c);
        match run_dir::finished(&dir, Some(c)) {
            Ok(Some(summary)) => outcomes.push(Ok(Outcome::Reused { dir, summary })),
            Ok(None) => missing.push(format!("{} ({})", describe(c), dir.display())),
            Err(damage) => missing.push(format!(
                "{} ({}: finished, but {damage})",
                describe(c),
                dir.display()
            )),
        }
    }
    if missing.is_empty() {
        Ok(outcomes)
    } else {
        Err(StudyError::MissingRuns {
            missing: missing.len(),
            total: configs.len(),
            details: missing.join("\n"),
        })
    }
}

fn describe_outcome(i: usize, total: usize, result: &Result<Outcome, TrainError>) -> String {
    match result {
        Ok(Outcome::Reused { dir, .. }) => format!("[{}/{total}] reused {}", i + 1, dir.display()),
        Ok(Outcome::Trained { dir, summary }) => format!(
            "[{}/{total}] trained {} ({} steps, {:.1}s, test acc {:.4})",
            i + 1,
            dir.display(),
            summary.steps,
            summary.wall_seconds,
            summary.last.test_accuracy
        ),
        Err(e) => format!("[{}/{total}] FAILED: {e}", i + 1),
    }
}

/// The outcomes of a grid, by run directory, and the one rule for failed runs: a failed run
/// is listed (once) with its setting and error, and left out of the numbers.
pub struct Runs {
    /// Each distinct run's directory and outcome, in the grid's order.
    outcomes: Vec<(PathBuf, String, Result<Outcome, TrainError>)>,
    /// Runs that trained but whose results could not be used ([`Runs::fail`]).
    failed_after: Vec<String>,
}

impl Runs {
    /// Runs every distinct config once (`jobs` at a time, finished runs reused). When `stop`
    /// was requested, returns [`StudyError::Interrupted`] instead (the running runs have
    /// checkpointed; no partial figure is drawn). `mode` may instead write the runs as jobs
    /// ([`Measured::Planned`]) or only read finished runs ([`StudyError::MissingRuns`] when
    /// some are not).
    pub fn run(
        configs: &[TrainConfig],
        jobs: usize,
        stop: &StopHandle,
        mode: &GridMode,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<Self>, StudyError> {
        let mut seen = BTreeSet::new();
        let unique: Vec<TrainConfig> = configs
            .iter()
            .filter(|c| seen.insert(run_dir::run_dir(c)))
            .cloned()
            .collect();
        // Every setting checked once, before anything: a bad value is one message, not one per
        // run.
        for c in &unique {
            c.validate()?;
        }
        let outcomes = match mode {
            GridMode::Train { force } => {
                // Every run's folders checked before any run starts: a runs directory of the
                // user's is refused once, not run by run, and nothing is trained or drawn.
                for c in &unique {
                    run_dir::check_ownership(c)?;
                }
                if *force {
                    log(&format!(
                        "force: every run of the grid ({}) is trained again from step 0",
                        unique.len()
                    ));
                }
                log(&format!(
                    "{} runs, {} at once",
                    unique.len(),
                    jobs.max(1).min(unique.len().max(1))
                ));
                run_grid_with(&unique, jobs, *force, stop, log)
            }
            GridMode::Plan { dir, assemble, job } => {
                let jobs = write_plan(dir, &unique, assemble, job)?;
                return Ok(Measured::Planned(Plan {
                    jobs,
                    dir: dir.clone(),
                    assemble: assemble.clone(),
                }));
            }
            GridMode::AssembleOnly => finished_only(&unique)?,
        };
        if stop.requested() {
            return Err(StudyError::Interrupted);
        }
        Ok(Measured::Done(Runs {
            outcomes: unique
                .iter()
                .zip(outcomes)
                .map(|(c, o)| (run_dir::run_dir(c), describe(c), o))
                .collect(),
            failed_after: Vec::new(),
        }))
    }

    /// The outcome of `config`'s run; `None` when it failed (listed by [`Runs::failed`]) or is
    /// not in this grid. A query: it records nothing.
    pub fn get(&self, config: &TrainConfig) -> Option<&Outcome> {
        let dir = run_dir::run_dir(config);
        self.outcomes
            .iter()
            .find(|(d, _, _)| *d == dir)
            .and_then(|(_, _, o)| o.as_ref().ok())
    }

    /// Lists `config`'s run as failed for a reason found after training (e.g. its files).
    pub fn fail(&mut self, config: &TrainConfig, reason: &dyn std::fmt::Display) {
        let line = format!("{}: {reason}", describe(config));
        if !self.failed_after.contains(&line) {
            self.failed_after.push(line);
        }
    }

    /// "setting: error" for each run that failed to train (in the grid's order), then each
    /// listed by [`Runs::fail`].
    pub fn failed(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter_map(|(_, what, o)| o.as_ref().err().map(|e| format!("{what}: {e}")))
            .chain(self.failed_after.iter().cloned())
            .collect()
    }
}

/// A grid written as jobs (`--plan`) instead of trained: how many, where, and the command that
/// assembles the result once they have run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub jobs: usize,
    pub dir: PathBuf,
    pub assemble: String,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "planned {} runs in {} (nothing trained): run the jobs (see {}/README.md), then assemble with `{}`",
            self.jobs,
            self.dir.display(),
            self.dir.display(),
            self.assemble
        )
    }
}

/// What a grid command did: measured its result, or planned its runs as jobs. Planning is a
/// success, not an error.
#[derive(Debug)]
pub enum Measured<T> {
    Done(T),
    Planned(Plan),
}

impl<T> Measured<T> {
    /// The result, when measured.
    pub fn done(self) -> Option<T> {
        match self {
            Measured::Done(v) => Some(v),
            Measured::Planned(_) => None,
        }
    }

    /// The result transformed, or the same plan.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Measured<U> {
        match self {
            Measured::Done(v) => Measured::Done(f(v)),
            Measured::Planned(p) => Measured::Planned(p),
        }
    }
}

/// The value of a `Measured`, or an early `return Ok(Measured::Planned(..))` from the calling
/// function (a grid planned as jobs has nothing to measure).
macro_rules! or_planned {
    ($e:expr) => {
        match $e {
            $crate::grid::Measured::Done(v) => v,
            $crate::grid::Measured::Planned(p) => return Ok($crate::grid::Measured::Planned(p)),
        }
    };
}
pub(crate) use or_planned;

/// A short description of a run's setting for error lists.
pub fn describe(c: &TrainConfig) -> String {
    format!(
        "N = {}, β = {}, γ = {}, M = {}, seed {}",
        c.width, c.beta, c.gamma, c.batch, c.seed
    )
}
