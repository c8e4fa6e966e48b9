//! The paper's experiments, one command each ([`Figure`]).
//!
//! Every figure imports only downward: [`kind`] (the enum, names and grid keys), [`preset`]
//! (the protocol and its overrides), [`context`] (where runs and files go), [`report`]
//! (`report.md`, and the one rule for failed runs), [`histogram`] (the histogram-panel
//! figures 1, 3 and S5 share). This file dispatches and nothing imports it back.
//!
//! - [`figure1`], [`figure2`], [`figure3`], [`figure_s5`], [`table1`] — the figures.

pub mod context;
pub mod figure1;
pub mod figure2;
pub mod figure3;
pub mod figure_s5;
pub mod histogram;
pub mod kind;
pub mod preset;
pub mod report;
pub mod table1;

/// Where the figures' runs go unless `runs_dir` says (shared by every figure, so common runs,
/// such as the β = 0.25 limit run, are trained once).
pub const RUNS_DIR: &str = "figures/runs";

pub use context::{FigureContext, FigureSummary};
pub use kind::Figure;
pub use preset::{FigureSpec, Overrides, Scale};

use crate::StudyError;
use crate::grid::Measured;

impl Figure {
    /// The figure's resolved protocol: preset at `scale`, a `--config` file, then overrides.
    pub fn spec(
        self,
        scale: Scale,
        extra: Option<(String, toml::Table)>,
        overrides: Overrides,
    ) -> Result<FigureSpec, StudyError> {
        let mut spec = FigureSpec::load(self, scale, extra)?;
        spec.apply(self, overrides)?;
        Ok(spec)
    }

    /// Runs the figure with `spec`: trains (or reuses) its runs, writes its files and report.
    pub fn run(
        self,
        spec: &FigureSpec,
        ctx: &FigureContext,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<FigureSummary>, StudyError> {
        crate::folders::prepare_results(&ctx.out, &ctx.mode)?;
        match self {
            Figure::Figure1 => figure1::run(spec, ctx, log),
            Figure::Figure2 => figure2::run(spec, ctx, log),
            Figure::Figure3 => figure3::run(spec, ctx, log),
            Figure::FigureS5 => figure_s5::run(spec, ctx, log),
            Figure::Table1 => table1::run(spec, ctx, log),
        }
    }
}
