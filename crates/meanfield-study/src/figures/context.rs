//! What every figure shares: where its runs and files go, how many runs at once, how to stop,
//! and what a figure command leaves.

use super::kind::Figure;
use super::preset::{FigureSpec, Scale};
use crate::StudyError;
use crate::plan::GridMode;
use meanfield_train::{StopHandle, TrainConfig};
use std::path::{Path, PathBuf};

/// Where and how a figure runs.
#[derive(Debug, Clone)]
pub struct FigureContext {
    pub scale: Scale,
    /// The folder of the figure, its CSVs and `report.md`.
    pub out: PathBuf,
    /// Parent of the run directories (shared between figures, so a run one figure needs and
    /// another already made, such as the β = 0.25 limit run, is reused).
    pub runs_dir: PathBuf,
    /// Runs at once.
    pub jobs: usize,
    /// The command line, for the report.
    pub command: String,
    /// Checkpoint the running runs and start no new one when requested.
    pub stop: StopHandle,
    /// Train, write the runs as jobs, or assemble from finished runs only.
    pub mode: GridMode,
}

/// What a figure command leaves.
#[derive(Debug, Clone)]
pub struct FigureSummary {
    pub report: PathBuf,
    /// The key numbers, a line each (also in the report).
    pub key_lines: Vec<String>,
    pub failed: Vec<String>,
    pub seconds: f64,
}

/// Every run's shared setting, with the runs under `ctx.runs_dir`.
pub fn base_config(
    figure: Figure,
    spec: &FigureSpec,
    ctx: &FigureContext,
) -> Result<TrainConfig, StudyError> {
    let mut base = spec.base(figure)?;
    base.out = None;
    base.runs_dir = ctx.runs_dir.clone();
    Ok(base)
}

/// A number for a markdown table ("—" when absent).
pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}

/// Relative name of a file in the figure folder.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}
