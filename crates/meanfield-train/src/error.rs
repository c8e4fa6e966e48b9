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
        "{dir} is not a {kind} of this program and is not empty: it holds {holds}. The program writes, and removes, files only in folders it made (marked by meanfield.json), so it leaves yours alone: give `{setting}` a new or empty folder, or move those files out"
    )]
    NotOurs {
        dir: PathBuf,
        kind: meanfield_io::owned::Kind,
        holds: String,
        setting: &'static str,
    },
    #[error(
        "`{setting}` {dir} is inside {parent}, a run directory or job list that the program writes and clears as a whole: give a folder outside it"
    )]
    Inside {
        dir: PathBuf,
        parent: PathBuf,
        setting: &'static str,
    },
    #[error(
        "`{setting}` {path} is not a folder (a file, a path through a file, or a link to nothing): give a new or empty folder (a run writes several files into it)"
    )]
    NotAFolder {
        path: PathBuf,
        setting: &'static str,
    },
    #[error(
        "`{setting}` {path} is {}: the program never writes there. Give a folder of your own, new or empty (e.g. ./runs)",
        if path == location { "a folder of the system".to_string() } else { format!("inside {}, a folder of the system", location.display()) }
    )]
    SystemLocation {
        path: PathBuf,
        location: PathBuf,
        setting: &'static str,
    },
    #[error(
        "{dir}: {problem}. Its results are not used: run the command that made it again to train it anew (`experiments runs` lists every problem of a folder of runs)"
    )]
    RunDamaged { dir: PathBuf, problem: String },
    #[error(
        "{dir} cannot continue from its checkpoint at step {step}: {problems} since the checkpoint recorded them, so the run would not be the one it was. Restore them from a copy, or pass `force` to train the run again from step 0"
    )]
    ChangedSinceCheckpoint {
        dir: PathBuf,
        step: u64,
        problems: String,
    },
    #[error(
        "the checkpoint {dir} is damaged ({problems}): it is not used. Pass `force` to train the run again from step 0 (its checkpoint and results are removed), or restore the run directory from a copy"
    )]
    CheckpointDamaged { dir: PathBuf, problems: String },
    #[error(
        "{path} cannot be continued: {reason}. Restore it from a copy, or pass `force` to train the run again from step 0"
    )]
    MetricsDamaged { path: PathBuf, reason: String },
    #[error(
        "interrupted after step {step}: a checkpoint is in {dir}; run the same command again to continue"
    )]
    Interrupted { step: u64, dir: PathBuf },
    #[error(
        "stopped while waiting for another process to finish {dir}: nothing was trained; run the same command again to wait again"
    )]
    StoppedWaiting { dir: PathBuf },
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
    /// A block of particles larger than one buffer of the device ([`crate::buffers::check`]
    /// says what takes how much, the limit, what fits and the ways out).
    #[error("N = {width} does not fit in the device's buffers: {details}")]
    BufferTooSmall { width: usize, details: String },
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
