//! Errors of a training run.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] meanfield_data::DataError),
    #[error(transparent)]
    Model(#[from] meanfield_model::ModelError),
    #[error(transparent)]
    Optim(#[from] meanfield_optim::OptimError),
    #[error("config {source_name}: {message}")]
    Config {
        source_name: String,
        message: String,
    },
    #[error("backend `{backend}` is not available: {fix}")]
    Backend { backend: String, fix: String },
    #[error("cannot write {path}: {source} (is the directory writable and the disk not full?)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{dir} holds an unfinished run of a different setting ({differences}): pass `force` to start over there (its checkpoint is removed), or choose another `out`"
    )]
    OtherRunInProgress { dir: PathBuf, differences: String },
    #[error(
        "`resume`: {dir} has no checkpoint to resume from (train without `resume` to start it)"
    )]
    NothingToResume { dir: PathBuf },
    #[error(
        "{dir} holds a finished run of another setting ({differences}): it is not reused. Choose another `out`, or pass `force` to replace it"
    )]
    ForeignRun { dir: PathBuf, differences: String },
    #[error(
        "{dir} was made under run identity version {version}; it is not reused nor continued: {why}"
    )]
    IdentityVersion {
        dir: PathBuf,
        version: u32,
        why: String,
    },
    #[error(
        "{dir} was trained on other inputs ({changes}): it is not reused nor continued. Pass `force` to train it again on the files as they are now, or restore the files it read"
    )]
    InputsChanged { dir: PathBuf, changes: String },
    #[error(
        "{dir} is not a run directory and is not empty (it holds {first}): a run would write config.toml, metrics.csv and its weights among your files. Choose a new or empty folder for `out`, or pass `force` to write into it anyway"
    )]
    NotARunDirectory { dir: PathBuf, first: String },
    #[error(
        "{path} cannot be continued: {reason}. Restore it from a copy, or pass `force` to train the run again from step 0"
    )]
    MetricsDamaged { path: PathBuf, reason: String },
    #[error(
        "interrupted after step {step}: a checkpoint is in {dir}; run the same command again to continue"
    )]
    Interrupted { step: u64, dir: PathBuf },
    #[error(
        "{dir} is being trained by {holder}: wait for it (`wait` waits and then reuses the finished run), or choose another `out`"
    )]
    Locked { dir: PathBuf, holder: String },
    #[error(
        "N = {width} does not fit: the run needs about {needed}{per_process}, and {available} is available. Ways out: {ways}"
    )]
    TooLarge {
        width: usize,
        per_process: String,
        needed: String,
        available: String,
        ways: String,
    },
    #[error("{}", shard_failed(ranks))]
    ShardFailed { ranks: Vec<usize> },
    #[error("{path}: {reason}")]
    BadWeights { path: PathBuf, reason: String },
    #[error(
        "diverged at step {step} (step size {step_size:.6e}): {what} is not finite. The step is too large for this β and γ: lower `gamma` (or `beta`); the last weights were not saved as final"
    )]
    Diverged {
        step: u64,
        step_size: f64,
        what: String,
    },
}

fn shard_failed(ranks: &[usize]) -> String {
    let who = match ranks {
        [one] => format!("process {one}"),
        _ => format!(
            "processes {}",
            ranks
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "{who} of this sharded run failed (its own error, above, says why), so this process stopped too. Nothing after the last checkpoint is kept: fix the cause and run the same command again to continue"
    )
}
