//! Figure S5: one width, batch sizes M (columns) for β < 1 and β = 1 (rows), each histogram of
//! hidden coordinate (1,1) over the β < 1 limit density: as M grows the β = 1 noise (∝
//! sqrt(γ/M)) vanishes and the histograms converge to the deterministic limit.

use super::context::{FigureContext, FigureSummary, base_config};
use super::histogram::{HistogramFigure, LimitRun, PanelRun, run_and_report};
use super::kind::Figure;
use super::preset::FigureSpec;
use crate::StudyError;
use crate::grid::Measured;
use meanfield_train::TrainConfig;

pub fn figure(spec: &FigureSpec, ctx: &FigureContext) -> Result<HistogramFigure, StudyError> {
    let name = Figure::FigureS5;
    let base = base_config(name, spec, ctx)?;
    let betas = spec.need(name, "betas", &spec.betas)?;
    let batches = spec.need(name, "batches", &spec.batches)?;
    let (width, seed) = (base.width, base.seed);
    let reference_width = spec.reference_width.unwrap_or(width);
    let limits = vec![LimitRun::new(
        &base,
        reference_width,
        spec.reference_beta(),
        seed,
        &format!(", M = {}", base.batch),
    )];
    let mut panels = Vec::new();
    for &beta in betas {
        for &batch in batches {
            panels.push(PanelRun {
                title: format!("β = {beta}, M = {batch}"),
                config: TrainConfig {
                    width,
                    beta,
                    batch,
                    seed,
                    ..base.clone()
                },
                limit: Some(0),
                window: spec.window(beta),
            });
        }
    }
    HistogramFigure::new(
        name.name(),
        format!(
            "Figure S5 ({} scale): N = {width}, batch size M across, β down",
            ctx.scale
        ),
        panels,
        limits,
        batches.len(),
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
        "Figure S5: batch size M for β < 1 and β = 1",
        "W2 to the β < 1 limit for each (β, M): for β = 1 the theory expects it to shrink as M \
         grows (the limit's diffusion is (γ Σ / M)^(1/2)); for β < 1 it is small at every M.",
        spec,
        ctx,
        log,
    )
}
