//! Figure 1: for each β (rows) and N (columns), the histogram of hidden coordinate (1,1) across
//! the N neurons, over the limit density of a reference run: β = `reference_beta` at N =
//! `reference_width` for the β < 1 rows, β = 1 at N = `reference_width_one` (10 × the widest
//! panel by default, never a panel) for the β = 1 row.

use super::context::{FigureContext, FigureSummary, base_config};
use super::histogram::{HistogramFigure, LimitRun, PanelRun, run_and_report};
use super::kind::Figure;
use super::preset::{FigureSpec, ONE_REFERENCE_FACTOR};
use crate::StudyError;
use crate::grid::Measured;
use meanfield_train::TrainConfig;

/// The grid of Figure 1 (also used by its tests): panels row-major, then the two limit runs.
pub fn figure(spec: &FigureSpec, ctx: &FigureContext) -> Result<HistogramFigure, StudyError> {
    let name = Figure::Figure1;
    let base = base_config(name, spec, ctx)?;
    let betas = spec.need(name, "betas", &spec.betas)?;
    let widths = spec.need(name, "widths", &spec.widths)?;
    let seed = base.seed;
    let widest = *widths.iter().max().expect("non-empty");
    let reference_width = spec.reference_width.unwrap_or(widest);
    let reference_width_one = spec
        .reference_width_one
        .unwrap_or(ONE_REFERENCE_FACTOR * widest);
    if betas.iter().any(|&b| b >= 1.0) && reference_width_one <= widest {
        // At β = 1 every width has its own noisy law: the limit must be wider than every panel.
        return Err(StudyError::Invalid(format!(
            "{name}: the β = 1 limit run (`reference_width_one` = {reference_width_one}) must be wider than every panel (the widest is N = {widest}): give `reference_width_one` above it, e.g. {}",
            ONE_REFERENCE_FACTOR * widest
        )));
    }
    let run = |width: usize, beta: f64| TrainConfig {
        width,
        beta,
        seed,
        ..base.clone()
    };
    // A limit run only for the rows that need it (`--betas 1` runs no β < 1 reference).
    let mut limits = Vec::new();
    let mut limit_of = |one: bool| -> usize {
        let (width, beta) = if one {
            (reference_width_one, 1.0)
        } else {
            (reference_width, spec.reference_beta())
        };
        let limit = LimitRun::new(&base, width, beta, seed, "");
        match limits
            .iter()
            .position(|l: &LimitRun| l.config == limit.config)
        {
            Some(i) => i,
            None => {
                limits.push(limit);
                limits.len() - 1
            }
        }
    };
    let mut panels = Vec::new();
    for &beta in betas {
        let limit = limit_of(beta >= 1.0);
        for &width in widths {
            panels.push(PanelRun {
                title: format!("β = {beta}, N = {width}"),
                config: run(width, beta),
                limit: Some(limit),
                window: spec.window(beta),
            });
        }
    }
    HistogramFigure::new(
        name.name(),
        format!(
            "Figure 1 ({} scale): hidden coordinate (1,1) across the N neurons",
            ctx.scale
        ),
        panels,
        limits,
        widths.len(),
        spec,
        ctx,
    )
}

pub fn run(
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Measured<FigureSummary>, StudyError> {
    run_and_report(
        figure(spec, ctx)?,
        "Figure 1: histograms of hidden coordinate (1,1)",
        "W2 is the exact Wasserstein-2 distance between the panel's coordinate law and its \
         limit run's. As N grows the β < 1 rows approach the deterministic mean-field limit and \
         the β = 1 row the McKean–Vlasov one.",
        spec,
        ctx,
        log,
    )
}
