//! A figure of histogram panels (Figures 1, 3 and S5): each panel is one run's histogram of a
//! hidden coordinate across its N particles, drawn over the density of a "limit" run (a
//! Gaussian KDE of a large reference run), with the W2 distance between the two as the number
//! behind the picture.
//!
//! Writes into `out`: `<name>.svg`/`<name>.png`, `panels.csv` (one row per panel: its setting,
//! steps, mean, sd, W2 to its limit, fraction inside the window, accuracy, run directory),
//! `histograms.csv` (every bar), `limit_density.csv` (every limit curve).

use super::context::{FigureContext, FigureSummary, file_name, fmt_opt};
use super::preset::FigureSpec;
use super::report::Report;
use crate::grid::Runs;
use crate::particles::Particles;
use crate::plan::GridMode;
use crate::plot::{HistogramPanel, save_histogram_grid};
use crate::{StudyError, write_rows};
use meanfield_chaos::{histogram, kde, linspace, w2_1d};
use meanfield_train::{Outcome, StopHandle, TrainConfig};
use serde::Serialize;
use std::path::PathBuf;

/// One panel: a run and how to draw it.
#[derive(Debug, Clone)]
pub struct PanelRun {
    pub title: String,
    pub config: TrainConfig,
    /// Index into [`HistogramFigure::limits`].
    pub limit: Option<usize>,
    /// The x axis is [−window, window].
    pub window: f64,
}

/// A run whose coordinate density stands for a limit.
#[derive(Debug, Clone)]
pub struct LimitRun {
    pub label: String,
    pub config: TrainConfig,
}

#[derive(Debug, Clone)]
pub struct HistogramFigure {
    /// File stem of the figure.
    pub name: String,
    pub title: String,
    pub panels: Vec<PanelRun>,
    pub limits: Vec<LimitRun>,
    /// Panels per row.
    pub cols: usize,
    pub bins: usize,
    /// Hidden coordinate (0: the paper's coordinate (1,1)).
    pub coordinate: usize,
    pub jobs: usize,
    pub stop: StopHandle,
    pub mode: GridMode,
    pub out: PathBuf,
}

/// The numbers behind one panel.
#[derive(Debug, Clone, Serialize)]
pub struct PanelRow {
    pub panel: String,
    pub width: usize,
    pub beta: f64,
    pub gamma: f64,
    pub batch: usize,
    pub seed: u64,
    pub steps: u64,
    pub mean: f64,
    pub sd: f64,
    /// W2 between this run's coordinate law and its limit run's.
    pub w2_to_limit: Option<f64>,
    pub limit: String,
    /// Fraction of the particles inside the drawn window.
    pub inside_window: f64,
    pub test_accuracy: f64,
    pub run_dir: String,
    /// The run's wall time, resumed parts included (report only: a CSV stays a function of the
    /// runs' results, the same whichever machine trained them).
    #[serde(skip)]
    pub wall_seconds: f64,
}

/// A limit run as the report lists it.
#[derive(Debug, Clone)]
pub struct LimitRow {
    pub label: String,
    pub steps: u64,
    pub wall_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct FigureResult {
    pub rows: Vec<PanelRow>,
    /// The limit runs that finished.
    pub limits: Vec<LimitRow>,
    /// "setting: error" for each run that failed (its panel is left out).
    pub failed: Vec<String>,
    /// The figure's PNG and SVG (none when no panel could be drawn).
    pub figure: Option<(PathBuf, PathBuf)>,
}

impl LimitRun {
    /// The limit run `base` at (`width`, `beta`, `seed`), labelled "N = …, β = …{detail}
    /// (β < 1 limit)" (or "β = 1 limit").
    pub fn new(base: &TrainConfig, width: usize, beta: f64, seed: u64, detail: &str) -> Self {
        let which = if beta >= 1.0 { "β = 1" } else { "β < 1" };
        LimitRun {
            label: format!("N = {width}, β = {beta}{detail} ({which} limit)"),
            config: TrainConfig {
                width,
                beta,
                seed,
                ..base.clone()
            },
        }
    }
}

impl HistogramFigure {
    /// A figure of `panels` (`cols` per row) over `limits`, with the bins of `spec` and the
    /// folder and parallelism of `ctx`, for hidden coordinate (1,1).
    pub fn new(
        name: &str,
        title: String,
        panels: Vec<PanelRun>,
        limits: Vec<LimitRun>,
        cols: usize,
        spec: &FigureSpec,
        ctx: &FigureContext,
    ) -> Self {
        HistogramFigure {
            name: name.into(),
            title,
            panels,
            limits,
            cols,
            bins: spec.bins,
            coordinate: 0,
            jobs: ctx.jobs,
            stop: ctx.stop.clone(),
            mode: ctx.mode.clone(),
            out: ctx.out.clone(),
        }
    }

    pub fn run(&self, log: &(dyn Fn(&str) + Sync)) -> Result<FigureResult, StudyError> {
        if self.panels.is_empty() {
            return Err(StudyError::Invalid(format!(
                "{}: the grid is empty",
                self.name
            )));
        }
        crate::create_dir(&self.out)?;
        let configs: Vec<TrainConfig> = self
            .panels
            .iter()
            .map(|p| p.config.clone())
            .chain(self.limits.iter().map(|l| l.config.clone()))
            .collect();
        let mut runs = Runs::run(&configs, self.jobs, &self.stop, &self.mode, log)?;
        let coordinate = self.coordinate;
        let mut sample_of = |c: &TrainConfig| -> Option<(Vec<f64>, Outcome)> {
            let outcome = runs.get(c)?.clone();
            match Particles::load(outcome.dir()) {
                Ok(p) => Some((p.hidden_coordinate(coordinate), outcome)),
                Err(e) => {
                    runs.fail(c, &e);
                    None
                }
            }
        };
        let mut limit_rows = Vec::new();
        let limit_samples: Vec<Option<Vec<f64>>> = self
            .limits
            .iter()
            .map(|l| {
                let (sample, outcome) = sample_of(&l.config)?;
                limit_rows.push(LimitRow {
                    label: l.label.clone(),
                    steps: outcome.summary().steps,
                    wall_seconds: outcome.summary().wall_seconds,
                });
                Some(sample)
            })
            .collect();
        let mut rows = Vec::new();
        let mut drawn = Vec::new();
        let mut bars = Vec::new();
        let mut curves = Vec::new();
        for panel in &self.panels {
            let Some((sample, outcome)) = sample_of(&panel.config) else {
                continue;
            };
            let w = panel.window;
            let hist = histogram(&sample, -w, w, self.bins)?;
            let limit = panel
                .limit
                .and_then(|i| limit_samples[i].as_ref().map(|s| (i, s)));
            let (curve, w2) = match limit {
                Some((i, s)) => {
                    let xs = linspace(-w, w, 201);
                    let ys = kde(s, &xs, None)?;
                    let curve: Vec<(f64, f64)> = xs.into_iter().zip(ys).collect();
                    for &(x, d) in &curve {
                        curves.push(CurveRow {
                            panel: panel.title.clone(),
                            limit: self.limits[i].label.clone(),
                            x,
                            density: d,
                        });
                    }
                    (Some(curve), Some(w2_1d(&sample, s)?))
                }
                None => (None, None),
            };
            for (i, d) in hist.density.iter().enumerate() {
                bars.push(BarRow {
                    panel: panel.title.clone(),
                    bin_left: hist.left(i),
                    bin_right: hist.left(i) + hist.bin_width(),
                    density: *d,
                });
            }
            let n = sample.len() as f64;
            let mean = sample.iter().sum::<f64>() / n;
            let sd = (sample.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            let c = &panel.config;
            rows.push(PanelRow {
                panel: panel.title.clone(),
                width: c.width,
                beta: c.beta,
                gamma: c.gamma,
                batch: c.batch,
                seed: c.seed,
                steps: outcome.summary().steps,
                mean,
                sd,
                w2_to_limit: w2,
                limit: panel
                    .limit
                    .map_or(String::new(), |i| self.limits[i].label.clone()),
                inside_window: hist.inside,
                test_accuracy: outcome.summary().last.test_accuracy,
                run_dir: outcome.dir().display().to_string(),
                wall_seconds: outcome.summary().wall_seconds,
            });
            drawn.push(HistogramPanel {
                title: match w2 {
                    Some(d) => format!("{}  (W2 {:.3})", panel.title, d),
                    None => panel.title.clone(),
                },
                histogram: hist,
                limit: curve,
            });
        }
        write_rows(&self.out.join("panels.csv"), &rows)?;
        write_rows(&self.out.join("histograms.csv"), &bars)?;
        write_rows(&self.out.join("limit_density.csv"), &curves)?;
        let limit_label = self
            .limits
            .iter()
            .map(|l| l.label.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let figure = if drawn.is_empty() {
            None
        } else {
            let (svg, png) = save_histogram_grid(
                &self.out.join(&self.name),
                &self.title,
                &format!("hidden coordinate ({}, 1)", self.coordinate + 1),
                &format!("limit density (Gaussian KDE): {limit_label}"),
                &drawn,
                self.cols,
            )?;
            Some((png, svg))
        };
        Ok(FigureResult {
            rows,
            limits: limit_rows,
            failed: runs.failed().to_vec(),
            figure,
        })
    }
}

/// The key-number table shared by the histogram figures, then the limit runs, each with its
/// steps and wall time.
pub fn panel_table(result: &FigureResult) -> (String, Vec<String>) {
    let mut md = String::from(
        "| panel | steps | mean | sd | W2 to its limit | limit | inside window | test acc. | wall |\n|---|---:|---:|---:|---:|---|---:|---:|---:|\n",
    );
    let mut lines = Vec::new();
    for r in &result.rows {
        md.push_str(&format!(
            "| {} | {} | {:.4} | {:.4} | {} | {} | {:.3} | {:.4} | {} |\n",
            r.panel,
            r.steps,
            r.mean,
            r.sd,
            fmt_opt(r.w2_to_limit, 4),
            r.limit,
            r.inside_window,
            r.test_accuracy,
            duration(r.wall_seconds)
        ));
        lines.push(format!(
            "{}: W2 to limit {}, sd {:.4}, {} steps",
            r.panel,
            fmt_opt(r.w2_to_limit, 4),
            r.sd,
            r.steps
        ));
    }
    if !result.limits.is_empty() {
        md.push_str("\nLimit runs (wall time of each run, resumed parts included):\n\n");
        for l in &result.limits {
            md.push_str(&format!(
                "- {}: {} steps, {}\n",
                l.label,
                l.steps,
                duration(l.wall_seconds)
            ));
        }
    }
    (md, lines)
}

/// A run's wall time for a report: seconds below ten minutes, else minutes or hours.
fn duration(seconds: f64) -> String {
    if seconds < 600.0 {
        format!("{seconds:.0} s")
    } else if seconds < 36_000.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// Runs a histogram figure and writes its report: `title` heads the report, `explanation`
/// precedes the panel table.
pub fn run_and_report(
    fig: HistogramFigure,
    title: &str,
    explanation: &str,
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<FigureSummary, StudyError> {
    let start = std::time::Instant::now();
    let total = fig.panels.len();
    let result = fig.run(log)?;
    let (table, key_lines) = panel_table(&result);
    let seconds = start.elapsed().as_secs_f64();
    Report {
        title,
        scale: ctx.scale,
        spec,
        images: result.figure.iter().map(|f| file_name(&f.0)).collect(),
        key_numbers: format!("{explanation}\n\n{table}"),
        data_files: vec!["panels.csv", "histograms.csv", "limit_density.csv"],
        failed: &result.failed,
        seconds,
        command: ctx.command.clone(),
    }
    .finish(&ctx.out, key_lines, result.rows.len(), total)
}

#[derive(Serialize)]
struct BarRow {
    panel: String,
    bin_left: f64,
    bin_right: f64,
    density: f64,
}

#[derive(Serialize)]
struct CurveRow {
    panel: String,
    limit: String,
    x: f64,
    density: f64,
}

#[cfg(test)]
mod tests {
    use super::duration;

    /// Seconds below ten minutes, minutes below ten hours, hours above (values of this
    /// project's paper-scale reports: a 9 s run, the 108-minute β = 0.5, N = 50000 run, the
    /// 13-hour N = 50000 reference).
    #[test]
    fn wall_times_read_in_their_unit() {
        assert_eq!(duration(9.4), "9 s");
        assert_eq!(duration(599.0), "599 s");
        assert_eq!(duration(6488.7), "108.1 min");
        assert_eq!(duration(46_680.0), "13.0 h");
    }
}
