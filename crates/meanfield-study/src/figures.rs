//! The paper's experiments, one command each: what every figure shares (where its runs and
//! files go, how many runs at once) and the dispatch by name.

use crate::StudyError;
use crate::figure_preset::{FigureSpec, Overrides, Scale};
use crate::{figure_s5, figure1, figure2, figure3, table1};
use meanfield_train::TrainConfig;
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

/// A figure command: its preset name, the grid keys it reads, and the settings it varies per
/// run (which a plain training flag must not set).
pub struct Figure {
    pub name: &'static str,
    pub uses: &'static [&'static str],
    pub varies: &'static [&'static str],
}

pub const FIGURES: [Figure; 5] = [
    Figure {
        name: "figure1",
        uses: &["betas", "widths", "seeds", "reference_width"],
        varies: &["width", "beta", "seed"],
    },
    Figure {
        name: "figure2",
        uses: &["betas", "widths", "seeds"],
        varies: &["width", "beta", "seed"],
    },
    Figure {
        name: "figure3",
        uses: &["gammas", "widths", "seeds", "reference_width"],
        varies: &["width", "beta", "gamma", "seed"],
    },
    Figure {
        name: "figure-s5",
        uses: &["betas", "batches", "widths", "seeds", "reference_width"],
        varies: &["width", "beta", "batch", "seed"],
    },
    Figure {
        name: "table1",
        uses: &["betas", "widths", "seeds"],
        varies: &["width", "beta", "seed"],
    },
];

/// The figure's resolved protocol: preset at `scale`, `--config` file, then overrides.
pub fn resolve_spec(
    name: &str,
    scale: Scale,
    extra: Option<(String, toml::Table)>,
    overrides: Overrides,
) -> Result<FigureSpec, StudyError> {
    let figure = FIGURES
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| StudyError::Invalid(format!("no figure {name:?}")))?;
    let mut spec = FigureSpec::load(name, scale, extra)?;
    spec.apply(name, overrides, figure.uses, figure.varies)?;
    Ok(spec)
}

/// Runs figure `name` with `spec`.
pub fn run_figure(
    name: &str,
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<FigureSummary, StudyError> {
    std::fs::create_dir_all(&ctx.out).map_err(|e| StudyError::Write {
        path: ctx.out.clone(),
        reason: e.to_string(),
    })?;
    match name {
        "figure1" => figure1::run(spec, ctx, log),
        "figure2" => figure2::run(spec, ctx, log),
        "figure3" => figure3::run(spec, ctx, log),
        "figure-s5" => figure_s5::run(spec, ctx, log),
        "table1" => table1::run(spec, ctx, log),
        other => Err(StudyError::Invalid(format!("no figure {other:?}"))),
    }
}

/// Every run's shared setting, with the runs under `ctx.runs_dir`.
pub fn base_config(
    name: &str,
    spec: &FigureSpec,
    ctx: &FigureContext,
) -> Result<TrainConfig, StudyError> {
    let mut base = spec.base(name)?;
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
