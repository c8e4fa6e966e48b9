//! Figure 2: every weight starts at the same value (`const:` inits), so the N particles stay
//! identical and each run is one particle stepping with γN^(β−1) (the preset sets
//! `identical_particles`, which trains exactly that: N = 10^6 for the cost of N = 1). For each β
//! and independent seed (the seed only changes the batch order), the final value of hidden
//! coordinate (1,1). β < 1: the runs agree (the limit is deterministic); β = 1: they spread
//! (the batch noise survives the limit).
//!
//! Under `--dynamics diffusion` (the particle system (6)) the particles are trained at full
//! width (identical particles do not stay identical there: each has its own noise), and the
//! report puts the within-run spread (across the particles of one run) next to the between-run
//! spread. Under SGD the within-run spread is 0: all particles stay one value.

use super::context::{FigureContext, FigureSummary, base_config, file_name};
use super::kind::Figure;
use super::preset::FigureSpec;
use super::report::Report;
use crate::grid::{Measured, Runs, or_planned};
use crate::particles::Particles;
use crate::plot::{Series, Style, save_linear_chart};
use crate::stats::{mean, sd};
use crate::{StudyError, write_rows};
use meanfield_train::TrainConfig;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct ValueRow {
    pub beta: f64,
    pub width: usize,
    pub seed: u64,
    /// Hidden coordinate (1,1) at the end of the run (particle 1's).
    pub value: f64,
    /// The coordinate's standard deviation across the run's particles (0 when they are one).
    pub within_sd: f64,
    /// The coordinate's mean across the run's particles (`value` when they are one).
    pub particle_mean: f64,
    pub steps: u64,
    pub test_accuracy: f64,
    pub run_dir: String,
}

/// Mean and spread of the final values of one (β, N) over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct SpreadRow {
    pub beta: f64,
    pub width: usize,
    pub runs: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1) over the seeds.
    pub sd: f64,
    /// The within-run standard deviation, mean over the seeds.
    pub within_sd: f64,
    /// Standard deviation over the seeds of the coordinate's mean across the particles (the
    /// between-run spread of the empirical law's mean; `sd` under SGD's identical particles).
    pub sd_of_particle_means: f64,
    pub min: f64,
    pub max: f64,
}

/// The runs of the figure: β × N × seed.
pub fn configs(spec: &FigureSpec, ctx: &FigureContext) -> Result<Vec<TrainConfig>, StudyError> {
    let name = Figure::Figure2;
    let base = base_config(name, spec, ctx)?;
    let betas = spec.need(name, "betas", &spec.betas)?;
    let widths = spec.need(name, "widths", &spec.widths)?;
    let seeds = spec.need(name, "seeds", &spec.seeds)?;
    if seeds.len() < 2 {
        return Err(StudyError::Invalid(format!(
            "{name} measures the spread of the final weights across runs that differ in their seed: `seeds` {seeds:?} gives one run per (β, N); give two or more"
        )));
    }
    let mut out = Vec::new();
    for &beta in betas {
        for &width in widths {
            for &seed in seeds {
                out.push(TrainConfig {
                    width,
                    beta,
                    seed,
                    ..base.clone()
                });
            }
        }
    }
    Ok(out)
}

/// Spread per (β, N) from the per-run values.
pub fn spreads(values: &[ValueRow]) -> Vec<SpreadRow> {
    let mut keys: Vec<(f64, usize)> = Vec::new();
    for v in values {
        if !keys.contains(&(v.beta, v.width)) {
            keys.push((v.beta, v.width));
        }
    }
    keys.into_iter()
        .map(|(beta, width)| {
            let of = |f: fn(&ValueRow) -> f64| -> Vec<f64> {
                values
                    .iter()
                    .filter(|v| v.beta == beta && v.width == width)
                    .map(f)
                    .collect()
            };
            let xs = of(|v| v.value);
            SpreadRow {
                beta,
                width,
                runs: xs.len(),
                mean: mean(&xs).unwrap_or(f64::NAN),
                sd: sd(&xs, 1).unwrap_or(0.0),
                within_sd: mean(&of(|v| v.within_sd)).unwrap_or(f64::NAN),
                sd_of_particle_means: sd(&of(|v| v.particle_mean), 1).unwrap_or(0.0),
                min: xs.iter().copied().fold(f64::INFINITY, f64::min),
                max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect()
}

pub fn run(
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Measured<FigureSummary>, StudyError> {
    let start = Instant::now();
    let configs = configs(spec, ctx)?;
    let mut runs = or_planned!(Runs::run(&configs, ctx.jobs, &ctx.stop, &ctx.mode, log)?);
    let mut values = Vec::new();
    for c in &configs {
        let Some(o) = runs.get(c).cloned() else {
            continue;
        };
        match Particles::load(o.dir()) {
            Ok(p) => values.push({
                let x = p.hidden_coordinate(0)?;
                ValueRow {
                    beta: c.beta,
                    width: c.width,
                    seed: c.seed,
                    value: p.hidden[0] as f64,
                    within_sd: sd(&x, 0).unwrap_or(0.0),
                    particle_mean: mean(&x).unwrap_or(f64::NAN),
                    steps: o.summary().steps,
                    test_accuracy: o.summary().last.test_accuracy,
                    run_dir: o.dir().display().to_string(),
                }
            }),
            Err(e) => runs.fail(c, &e),
        }
    }
    let spread = spreads(&values);
    write_rows(&ctx.out.join("values.csv"), &values)?;
    write_rows(&ctx.out.join("spread.csv"), &spread)?;
    let mut series = Vec::new();
    for (i, s) in spread.iter().enumerate() {
        let pts: Vec<(f64, f64)> = values
            .iter()
            .filter(|v| v.beta == s.beta && v.width == s.width)
            .enumerate()
            .map(|(k, v)| (k as f64 + 1.0, v.value))
            .collect();
        let last = pts.len() as f64;
        series.push(Series {
            label: format!("β = {}, N = {}: sd {:.2e}", s.beta, s.width, s.sd),
            points: pts,
            style: Style::Points,
            color: i,
        });
        series.push(Series {
            label: String::new(),
            points: vec![(1.0, s.mean), (last, s.mean)],
            style: Style::Dashed,
            color: i,
        });
    }
    let images = if values.is_empty() {
        vec![]
    } else {
        let (_, png) = save_linear_chart(
            &ctx.out.join("figure2"),
            &format!(
                "Figure 2 ({} scale): coordinate (1,1) per independent run, identical initial particles",
                ctx.scale
            ),
            "run (seed index)",
            "hidden coordinate (1,1) at the end",
            &series,
        )?;
        vec![file_name(&png)]
    };
    let diffusion = configs
        .first()
        .is_some_and(|c| c.dynamics == meanfield_train::Dynamics::Diffusion);
    let mut md = String::from(if diffusion {
        "**Dynamics: the particle diffusion (6)**, each particle with its own noise (docs/diffusion.md), trained at full width. \
         Each run starts every weight at the same value and differs only in its data seed (drawn examples and noise). \
         (6) spreads the particles apart within one run, where SGD keeps them one value: the within-run column is the standard deviation of coordinate (1,1) across the run's particles; mean, sd across runs, min and max are particle 1's value; the last column is the between-run spread of the particles' mean, the comparison with SGD's runs.\n\n| β | N | runs | mean | sd across runs | sd within a run (mean) | sd across runs of the particles' mean | min | max |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    } else {
        "Each run starts every weight at the same value and differs only in its batch order. \
         The theory: for β < 1 the limit is deterministic, so the runs agree; for β = 1 the batch \
         noise survives, so they spread. Under SGD the particles of a run stay one value (sd within a run 0, and the particles' mean is that value).\n\n| β | N | runs | mean | sd across runs | sd within a run (mean) | sd across runs of the particles' mean | min | max |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    });
    let mut key_lines = Vec::new();
    for s in &spread {
        md.push_str(&format!(
            "| {} | {} | {} | {:.5} | {:.3e} | {:.3e} | {:.3e} | {:.5} | {:.5} |\n",
            s.beta,
            s.width,
            s.runs,
            s.mean,
            s.sd,
            s.within_sd,
            s.sd_of_particle_means,
            s.min,
            s.max
        ));
        key_lines.push(format!(
            "β = {}, N = {}: mean {:.5}, sd across {} runs {:.3e}, within a run {:.3e}, of the particles' mean across runs {:.3e}",
            s.beta, s.width, s.mean, s.runs, s.sd, s.within_sd, s.sd_of_particle_means
        ));
    }
    let below = spread
        .iter()
        .filter(|s| s.beta < 1.0)
        .map(|s| s.sd)
        .fold(0.0, f64::max);
    let at_one = spread
        .iter()
        .filter(|s| s.beta >= 1.0)
        .map(|s| s.sd)
        .fold(f64::INFINITY, f64::min);
    if below > 0.0 && at_one.is_finite() {
        let line = format!("sd(β = 1) / sd(β < 1) = {:.1}", at_one / below);
        md.push_str(&format!(
            "\n{line} (smallest β = 1 spread over largest β < 1 spread).\n"
        ));
        key_lines.push(line);
    }
    let seconds = start.elapsed().as_secs_f64();
    Report {
        title: "Figure 2: identical initial particles, spread across independent runs",
        scale: ctx.scale,
        spec,
        images,
        key_numbers: md,
        data_files: vec!["values.csv", "spread.csv"],
        failed: &runs.failed(),
        seconds,
        command: ctx.command.clone(),
    }
    .finish(&ctx.out, key_lines, values.len(), configs.len())
    .map(Measured::Done)
}
