//! Errors of a study.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error(transparent)]
    Train(#[from] meanfield_train::TrainError),
    #[error(transparent)]
    Chaos(#[from] meanfield_chaos::ChaosError),
    #[error(transparent)]
    Model(#[from] meanfield_model::ModelError),
    #[error(transparent)]
    Optim(#[from] meanfield_optim::OptimError),
    #[error(transparent)]
    Data(#[from] meanfield_data::DataError),
    #[error("cannot write {path}: {source} (is the directory writable and the disk not full?)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plot {path}: {reason}")]
    Plot { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "interrupted: the runs in progress wrote checkpoints; run the same command again to continue the grid"
    )]
    Interrupted,
    #[error(
        "`assemble_only`: {missing} of {total} runs are not finished:\n{details}\nRun their jobs (or the command without `assemble_only`) first"
    )]
    MissingRuns {
        missing: usize,
        total: usize,
        details: String,
    },
    #[error(
        "nothing could be measured from the grid's {total} runs ({failed} failed, listed in its report):\n{details}"
    )]
    RunsFailed {
        failed: usize,
        total: usize,
        details: String,
    },
}
