//! Figure 3: β = 1 at one width for several γ, each histogram of hidden coordinate (1,1) over
//! the β < 1 limit density: as γ → 0 the McKean–Vlasov noise (∝ sqrt(γ/M)) vanishes and the
//! β = 1 histograms approach the deterministic limit.

use super::context::{FigureContext, FigureSummary, base_config};
use super::histogram::{HistogramFigure, LimitRun, PanelRun, run_and_report};
use super::kind::Figure;
use super::preset::FigureSpec;
use crate::StudyError;
use crate::grid::Measured;
use meanfield_train::TrainConfig;

pub fn figure(spec: &FigureSpec, ctx: &FigureContext) -> Result<HistogramFigure, StudyError> {
    let name = Figure::Figure3;
    let base = base_config(name, spec, ctx)?;
    let gammas = spec.need(name, "gammas", &spec.gammas)?;
    let (width, seed) = (base.width, base.seed);
    let reference_width = spec.reference_width.unwrap_or(width);
    let limits = vec![LimitRun::new(
        &base,
        reference_width,
        spec.reference_beta(),
        seed,
        &format!(", γ = {}", base.gamma),
    )];
    let panels = gammas
        .iter()
        .map(|&gamma| PanelRun {
            title: format!("β = 1, N = {width}, γ = {gamma}"),
            config: TrainConfig {
                width,
                beta: 1.0,
                gamma,
                seed,
                ..base.clone()
            },
            limit: Some(0),
            window: spec.window(1.0),
        })
        .collect();
    HistogramFigure::new(
        name.name(),
        format!(
            "Figure 3 ({} scale): β = 1 as γ → 0, against the β < 1 limit",
            ctx.scale
        ),
        panels,
        limits,
        gammas.len(),
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
        "Figure 3: β = 1 for decreasing γ",
        "W2 to the β < 1 limit for each γ: the theory expects it to shrink as γ → 0 (the \
         diffusion of the β = 1 limit is (γ Σ / M)^(1/2)).",
        spec,
        ctx,
        log,
    )
}
