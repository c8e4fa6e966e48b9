//! A coordinate check in the style of width-scaled parametrisation tools (muP): train k steps at
//! several widths and measure, on one fixed batch,
//! - `pre_activation`: mean |H| of the hidden pre-activations H = x W1ᵀ,
//! - `logits`: mean |f(x)| of the outputs,
//! - `update`: root mean square over particles of |w_k(k steps) − w_k(0)| (the hidden row's move).
//!
//! Under the paper's scaling (1/N output, step γN^β, N-independent initial laws) all three stay
//! flat in N. With the `pytorch` readout law U(±1/√N) the logits shrink with N: the check shows it.
//!
//! [`CoordCheck::measure`] returns the numbers (it steps through the trainer's own
//! [`Stepper`], so its first k steps are the trainer's); [`render`] writes
//! `coord_check.csv` and the plot.

use crate::StudyError;
use crate::plot::{Axes, Series, Style, save_chart};
use burn::tensor::{Tensor, TensorData};
use meanfield_model::net::to_vec;
use meanfield_train::task::Task;
use meanfield_train::{Stepper, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct CoordCheck {
    pub base: TrainConfig,
    pub widths: Vec<usize>,
    /// k, the number of steps before measuring.
    pub steps: u64,
}

/// The first line of `coord_check.csv` (the field names of [`CoordRow`]).
pub const CSV_HEADER: &str = "width,step,pre_activation,logits,update\n";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoordRow {
    pub width: usize,
    pub step: u64,
    pub pre_activation: f64,
    pub logits: f64,
    pub update: f64,
}

fn mean_abs(v: &[f32]) -> f64 {
    v.iter().map(|x| x.abs() as f64).sum::<f64>() / v.len().max(1) as f64
}

/// Root mean square over the `p`-wide rows of |h − h0|.
fn rms_row_move(h: &[f32], h0: &[f32], p: usize) -> f64 {
    let rows = h.len() / p.max(1);
    let sum: f64 = h
        .chunks_exact(p)
        .zip(h0.chunks_exact(p))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum::<f64>()
        })
        .sum();
    (sum / rows.max(1) as f64).sqrt()
}

impl CoordCheck {
    /// The grid axes the check varies.
    pub const AXES: &[crate::axes::Axis] = &[crate::axes::Axis::Widths];
    /// Their lists unless given: four widths a factor 4 apart.
    pub const DEFAULTS: &[(crate::axes::Axis, &str)] =
        &[(crate::axes::Axis::Widths, "250,1000,4000,16000")];
    /// The steps k before measuring, unless `steps` is given.
    pub const DEFAULT_STEPS: u64 = 10;
    /// Settings the check does not use, with why: it takes `steps` steps in memory at each
    /// width and writes no run.
    pub const SETS: &[(&str, &str)] = &[
        (
            "horizon",
            "the check takes `steps` steps; the horizon T sets none of them",
        ),
        (
            "snapshots",
            "the check measures in memory and writes no run",
        ),
        (
            "checkpoint_every",
            "the check measures in memory and writes no run",
        ),
        (
            "log_every",
            "the check measures in memory and writes no run",
        ),
        (
            "eval_every",
            "the check measures in memory and writes no run",
        ),
        (
            "average_from",
            "the check measures the weights themselves, not an average",
        ),
        ("test_subset", "the check measures on a training batch"),
        ("init_from", "the check draws each width's own particles"),
        ("runs_dir", "the check writes no run"),
    ];

    /// The setting of the run at `width`.
    pub fn config(&self, width: usize) -> TrainConfig {
        TrainConfig {
            width,
            ..self.base.clone()
        }
    }

    /// The plot title's setting.
    pub fn title(&self) -> String {
        format!(
            "{}, β = {}, readout {}",
            self.base.dataset, self.base.beta, self.base.readout
        )
    }

    /// Steps k times at each width and measures after every step (row 0: the initial weights).
    pub fn measure(&self, log: &dyn Fn(&str)) -> Result<Vec<CoordRow>, StudyError> {
        let task = Task::load(&self.base)?;
        let device = self.base.backend.device()?;
        let p = task.train.dim;
        let probe: Vec<usize> = (0..self.base.batch.min(task.train.len())).collect();
        let (px, _) = task.train.gather(&probe);
        // Every width in one buffer of the device (the check steps each in one piece).
        if let Some(limit) = meanfield_train::buffers::limit(&self.base, &device) {
            for &width in &self.widths {
                meanfield_train::buffers::check(
                    &self.config(width),
                    p,
                    task.train.len(),
                    width,
                    1,
                    limit.clone(),
                )?;
            }
        }
        let mut rows = Vec::new();
        for &width in &self.widths {
            let mut stepper = Stepper::fresh(&self.config(width), task.train.clone(), &device)?;
            let (h0, _) = stepper.model().weights_to_vec();
            for n in 0..=self.steps {
                if n > 0 {
                    stepper.step();
                }
                let model = stepper.model();
                let xt =
                    Tensor::<2>::from_data(TensorData::new(px.clone(), [probe.len(), p]), &device);
                let trace = model.forward_trace(xt);
                let (h, _) = model.weights_to_vec();
                rows.push(CoordRow {
                    width,
                    step: n,
                    pre_activation: mean_abs(&to_vec(trace.pre)),
                    logits: mean_abs(&to_vec(trace.logits)),
                    update: rms_row_move(&h, &h0, p),
                });
            }
            let last = rows.last().expect("pushed");
            log(&format!(
                "N = {width}: after {} steps mean|H| {:.4}, mean|f| {:.4}, rms update {:.4}",
                self.steps, last.pre_activation, last.logits, last.update
            ));
        }
        Ok(rows)
    }
}

/// Writes `coord_check.csv`, the plot (`coord_check.svg`/`.png`) of the rows at the last
/// step and `report.md` (the last step's numbers, and `command`, which reproduces them) into
/// `out`; `title` names the setting. Returns the plot's path.
pub fn render(
    rows: &[CoordRow],
    title: &str,
    command: &str,
    out: &Path,
) -> Result<PathBuf, StudyError> {
    crate::folders::claim_results(out)?;
    crate::write_rows(&out.join("coord_check.csv"), rows)?;
    let last_step = rows.iter().map(|r| r.step).max().unwrap_or(0);
    let at = |f: fn(&CoordRow) -> f64| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.step == last_step)
            .map(|r| (r.width as f64, f(r)))
            .collect()
    };
    // Each measurement a dot, joined by a thin line to guide the eye (unlabelled: the legend
    // shows the dots).
    let mut series = Vec::new();
    for (color, (label, pts)) in [
        ("mean |pre-activation|", at(|r| r.pre_activation)),
        ("mean |logit|", at(|r| r.logits)),
        ("rms particle update", at(|r| r.update)),
    ]
    .into_iter()
    .enumerate()
    {
        series.push(Series {
            label: String::new(),
            points: pts.clone(),
            style: Style::Line,
            color,
        });
        series.push(Series {
            label: label.into(),
            points: pts,
            style: Style::Points,
            color,
        });
    }
    let (_, png) = save_chart(
        &out.join("coord_check"),
        &format!("coordinate check after {last_step} steps: {title}"),
        "width N",
        "size",
        &series,
        Axes::LOG_LOG,
    )?;
    let mut md = format!(
        "# Coordinate check: {title}\n\nAfter {last_step} steps, on one fixed batch \
         (flat in N under the paper's scaling):\n\n\
         | N | mean \\|pre-activation\\| | mean \\|logit\\| | rms particle update |\n\
         |---|---|---|---|\n"
    );
    for r in rows.iter().filter(|r| r.step == last_step) {
        md.push_str(&format!(
            "| {} | {:.4e} | {:.4e} | {:.4e} |\n",
            r.width, r.pre_activation, r.logits, r.update
        ));
    }
    md.push_str(
        "\n![coordinate check](coord_check.png)\n\nEvery step's numbers: `coord_check.csv`.\n",
    );
    crate::report::write(out, &md, command, &[], "")?;
    Ok(png)
}
