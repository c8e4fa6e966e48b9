//! Table 1: CIFAR-10, α = 0, M = 100, γ = 0.1, T = 10000, Polyak averaging from step 1000; the
//! train and test accuracy of the averaged weights for each N and β, beside the paper's.

use super::context::{FigureContext, FigureSummary, base_config, fmt_opt};
use super::kind::Figure;
use super::preset::FigureSpec;
use super::report::Report;
use crate::grid::{Measured, Runs, or_planned};
use crate::{StudyError, write_rows};
use meanfield_train::TrainConfig;
use serde::Serialize;
use std::time::Instant;

/// The paper's Table 1 (docs/paper.md): (N, β) → (train accuracy, test accuracy) of the averaged
/// weights, in percent.
pub const PAPER: [(usize, f64, f64, f64); 6] = [
    (5000, 0.75, 100.0, 55.5),
    (5000, 1.0, 97.2, 56.5),
    (10000, 0.75, 100.0, 56.0),
    (10000, 1.0, 97.2, 56.5),
    (50000, 0.75, 100.0, 56.7),
    (50000, 1.0, 99.0, 57.7),
];

/// The paper's (train, test) accuracy in percent for (N, β), when the paper has that cell.
pub fn paper_cell(width: usize, beta: f64) -> Option<(f64, f64)> {
    PAPER
        .iter()
        .find(|(n, b, _, _)| *n == width && *b == beta)
        .map(|(_, _, tr, te)| (*tr, *te))
}

#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    pub dataset: String,
    pub width: usize,
    pub beta: f64,
    pub steps: u64,
    /// Whether the accuracies are of the Polyak average (else of the last weights).
    pub averaged: bool,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    pub paper_train_accuracy: Option<f64>,
    pub paper_test_accuracy: Option<f64>,
    pub wall_seconds: f64,
    pub run_dir: String,
}

/// The runs of the table: N × β at `base`'s seed, on `base`'s dataset (no data check).
pub fn grid(spec: &FigureSpec, base: &TrainConfig) -> Result<Vec<TrainConfig>, StudyError> {
    let name = Figure::Table1;
    let widths = spec.need(name, "widths", &spec.widths)?;
    let betas = spec.need(name, "betas", &spec.betas)?;
    let seed = base.seed;
    let mut out = Vec::new();
    for &width in widths {
        for &beta in betas {
            out.push(TrainConfig {
                width,
                beta,
                seed,
                ..base.clone()
            });
        }
    }
    Ok(out)
}

/// The runs of the table and, when the preset's dataset (CIFAR-10) is missing and the preset
/// names a stand-in (the quick scale does), a note saying which dataset was used instead. At
/// the paper's scale a missing CIFAR-10 is an error that says how to get it.
pub fn configs(
    spec: &FigureSpec,
    ctx: &FigureContext,
) -> Result<(Vec<TrainConfig>, Option<String>), StudyError> {
    let mut base = base_config(Figure::Table1, spec, ctx)?;
    let mut note = None;
    if let Err(missing) = base.dataset.check_present(&base.data_dir) {
        match spec.fallback_dataset {
            Some(fallback) if base.dataset == meanfield_data::DatasetKind::Cifar10 => {
                note = Some(format!(
                    "CIFAR-10 is not in {} (`experiments fetch cifar10` puts it there). This \
                     quick-scale table ran on {fallback} instead, as a stand-in: its numbers \
                     show the method working, not the paper's CIFAR-10 accuracies.",
                    meanfield_data::DatasetKind::Cifar10
                        .dir(&base.data_dir)
                        .display()
                ));
                base.dataset = fallback;
            }
            _ => return Err(missing.into()),
        }
    }
    Ok((grid(spec, &base)?, note))
}

pub fn run(
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Measured<FigureSummary>, StudyError> {
    let start = Instant::now();
    let (configs, note) = configs(spec, ctx)?;
    // The table is of the averaged weights: a run that ends before its average starts would
    // report the last weights under the table's title.
    for c in &configs {
        if let Some(n0) = c.average_from {
            let steps = match c.steps {
                Some(s) => s,
                None => c.schedule().init()?.horizon_steps(),
            };
            if steps <= n0 {
                return Err(StudyError::Invalid(format!(
                    "Table 1 reports the Polyak-averaged weights, and the run N = {}, β = {} takes {steps} steps, not more than `average_from` {n0}: give more steps (`steps`, `horizon`) or a smaller `average_from`",
                    c.width, c.beta
                )));
            }
        }
    }
    if let Some(note) = &note {
        log(&format!("note: {note}"));
    }
    let runs = or_planned!(Runs::run(&configs, ctx.jobs, &ctx.stop, &ctx.mode, log)?);
    let mut rows = Vec::new();
    for c in &configs {
        match runs.get(c) {
            Some(o) => {
                let s = o.summary();
                let scores = s.averaged.unwrap_or(s.last);
                let paper = paper_cell(c.width, c.beta);
                rows.push(TableRow {
                    dataset: c.dataset.to_string(),
                    width: c.width,
                    beta: c.beta,
                    steps: s.steps,
                    averaged: s.averaged.is_some(),
                    train_accuracy: scores.train_accuracy,
                    test_accuracy: scores.test_accuracy,
                    paper_train_accuracy: paper.map(|p| p.0 / 100.0),
                    paper_test_accuracy: paper.map(|p| p.1 / 100.0),
                    wall_seconds: s.wall_seconds,
                    run_dir: o.dir().display().to_string(),
                });
            }
            None => continue,
        }
    }
    write_rows(&ctx.out.join("table.csv"), &rows)?;
    let mut md = String::new();
    if let Some(note) = &note {
        md.push_str(&format!("**{note}**\n\n"));
    }
    md.push_str(
        "Accuracy of the Polyak-averaged weights (of the last weights where averaging was off), \
         beside the paper's Table 1 where the paper has that cell (CIFAR-10 only).\n\n\
         | dataset | N | β | steps | averaged | train acc. | test acc. | paper train | paper test | wall |\n\
         |---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    let mut key_lines = Vec::new();
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.4} | {:.4} | {} | {} | {:.0} s |\n",
            r.dataset,
            r.width,
            r.beta,
            r.steps,
            if r.averaged { "yes" } else { "no" },
            r.train_accuracy,
            r.test_accuracy,
            fmt_opt(r.paper_train_accuracy, 3),
            fmt_opt(r.paper_test_accuracy, 3),
            r.wall_seconds
        ));
        key_lines.push(format!(
            "{} N = {}, β = {}: train {:.4}, test {:.4} ({} steps; paper test {})",
            r.dataset,
            r.width,
            r.beta,
            r.train_accuracy,
            r.test_accuracy,
            r.steps,
            fmt_opt(r.paper_test_accuracy, 3)
        ));
    }
    if let Some(note) = &note {
        key_lines.insert(0, note.clone());
    }
    let seconds = start.elapsed().as_secs_f64();
    Report {
        title: "Table 1: accuracy of the averaged weights",
        scale: ctx.scale,
        spec,
        images: vec![],
        key_numbers: md,
        data_files: vec!["table.csv"],
        failed: &runs.failed(),
        seconds,
        command: ctx.command.clone(),
    }
    .finish(&ctx.out, key_lines, rows.len(), configs.len())
    .map(Measured::Done)
}
