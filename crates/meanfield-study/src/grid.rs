//! A grid of training runs: each config is an ordinary run (its own run directory); runs whose
//! directory already holds a finished run are reused, so calling a grid again resumes it.

use meanfield_train::trainer::{Outcome, RunOptions, train};
use meanfield_train::{TrainConfig, TrainError};
use std::sync::Mutex;

/// Runs every config, `jobs` at a time (each run uses the backend's own threads too). The
/// results come back in the order of `configs`; a failed run does not stop the others.
pub fn run_grid(
    configs: &[TrainConfig],
    jobs: usize,
    log: &(dyn Fn(&str) + Sync),
) -> Vec<Result<Outcome, TrainError>> {
    let results: Mutex<Vec<Option<Result<Outcome, TrainError>>>> =
        Mutex::new((0..configs.len()).map(|_| None).collect());
    let next = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(configs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("no panics hold this lock");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(config) = configs.get(i) else { break };
                    if meanfield_train::trainer::interrupted() {
                        // Ctrl-C: the running runs checkpoint and stop; start no new ones.
                        results.lock().expect("no panics hold this lock")[i] =
                            Some(Err(TrainError::Interrupted {
                                step: 0,
                                dir: meanfield_train::run_dir::run_dir(config),
                            }));
                        continue;
                    }
                    let result = train(
                        config,
                        RunOptions {
                            quiet: true,
                            ..Default::default()
                        },
                    );
                    match &result {
                        Ok(Outcome::Reused { dir, .. }) => log(&format!(
                            "[{}/{}] reused {}",
                            i + 1,
                            configs.len(),
                            dir.display()
                        )),
                        Ok(Outcome::Trained { dir, summary }) => log(&format!(
                            "[{}/{}] trained {} ({} steps, {:.1}s, test acc {:.4})",
                            i + 1,
                            configs.len(),
                            dir.display(),
                            summary.steps,
                            summary.wall_seconds,
                            summary.last.test_accuracy
                        )),
                        Err(e) => log(&format!("[{}/{}] FAILED: {e}", i + 1, configs.len())),
                    }
                    results.lock().expect("no panics hold this lock")[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("threads joined")
        .into_iter()
        .map(|r| r.expect("every index was run"))
        .collect()
}
