//! Figure S5: one width, batch sizes M (columns) for β < 1 and β = 1 (rows), each histogram of
//! hidden coordinate (1,1) over the β < 1 limit density: as M grows the β = 1 noise (∝
//! sqrt(γ/M)) vanishes and the histograms converge to the deterministic limit.

use crate::StudyError;
use crate::figure_preset::FigureSpec;
use crate::figures::{FigureContext, FigureSummary, base_config};
use crate::histogram_figure::{HistogramFigure, LimitRun, PanelRun, run_and_report};
use meanfield_train::TrainConfig;

pub fn figure(spec: &FigureSpec, ctx: &FigureContext) -> Result<HistogramFigure, StudyError> {
    let name = "figure-s5";
    let base = base_config(name, spec, ctx)?;
    let betas = spec.need(name, "betas", &spec.betas)?;
    let batches = spec.need(name, "batches", &spec.batches)?;
    let width = spec.need(name, "widths", &spec.widths)?[0];
    let seed = spec.need(name, "seeds", &spec.seeds)?[0];
    let reference_width = spec.reference_width.unwrap_or(width);
    let reference_beta = spec.reference_beta.unwrap_or(0.25);
    let limits = vec![LimitRun {
        label: format!(
            "N = {reference_width}, β = {reference_beta}, M = {} (β < 1 limit)",
            base.batch
        ),
        config: TrainConfig {
            width: reference_width,
            beta: reference_beta,
            seed,
            ..base.clone()
        },
    }];
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
                window: if beta >= 1.0 {
                    spec.window_one.unwrap_or(1.0)
                } else {
                    spec.window_below_one.unwrap_or(0.2)
                },
            });
        }
    }
    Ok(HistogramFigure {
        name: "figure-s5".into(),
        title: format!(
            "Figure S5 ({} scale): N = {width}, batch size M across, β down",
            ctx.scale
        ),
        panels,
        limits,
        cols: batches.len(),
        bins: spec.bins,
        coordinate: 0,
        jobs: ctx.jobs,
        out: ctx.out.clone(),
    })
}

pub fn run(
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<FigureSummary, StudyError> {
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
