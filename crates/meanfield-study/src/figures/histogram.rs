//! A figure of histogram panels (Figures 1, 3 and S5): each panel is one run's histogram of a
//! hidden coordinate across its N particles, drawn over the density of a "limit" run (a
//! Gaussian KDE of a large reference run), with the W2 distance between the two as the number
//! behind the picture. Each limit run comes with a run at half its width, and the W2 between
//! the two (its "floor") says how far the limit run itself is from its own limit: a panel's W2
//! near the floor is as close as this reference can tell. No limit run may be a panel.
//!
//! Writes into `out`: `<name>.svg`/`<name>.png`, `panels.csv` (one row per panel: its setting,
//! steps, mean, sd, W2 to its limit, fraction inside the window, accuracy, run directory),
//! `histograms.csv` (every bar), `limit_density.csv` (every limit curve).

use super::context::{FigureContext, FigureSummary, file_name, fmt_opt};
use super::preset::FigureSpec;
use super::report::Report;
use crate::grid::{Measured, Runs, or_planned};
use crate::histogram_grid::{HistogramPanel, save_histogram_grid};
use crate::particles::Particles;
use crate::plan::GridMode;
use crate::{StudyError, write_rows};
use meanfield_chaos::tail::law_distance;
use meanfield_chaos::{TailVerdict, histogram, kde, linspace, tail_index, w1_1d, w2_1d};
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

/// A run whose coordinate density stands for a limit, and the run at half its width that
/// measures its floor.
#[derive(Debug, Clone)]
pub struct LimitRun {
    pub label: String,
    pub config: TrainConfig,
    pub half: TrainConfig,
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
    /// The limit run's own floor: W2 and W1 between it and the run at half its width.
    pub limit_floor_w2: Option<f64>,
    pub limit_floor_w1: Option<f64>,
    /// W1 to the limit (finite when the tail index is above 1, where W2 may not be).
    pub w1_to_limit: Option<f64>,
    /// W2 of the central 90% of the two laws (quantiles 0.05 to 0.95): finite whatever the tails.
    pub trimmed_w2_to_limit: Option<f64>,
    /// Hill's tail index of the coordinate (centred on its median, k = ⌊√N⌋), its 95% interval,
    /// and what it says of W2 (`light`, `straddles`, `heavy`).
    pub tail_index: Option<f64>,
    pub tail_ci_low: Option<f64>,
    pub tail_ci_high: Option<f64>,
    pub tail: Option<TailVerdict>,
    /// False when the panel's or its limit's tail index interval is not above 2: W2 (and any
    /// second-moment distance) cannot converge there; read W1 and the trimmed W2.
    pub w2_meaningful: bool,
    /// Fraction of the particles inside the drawn window.
    pub inside_window: f64,
    pub test_accuracy: f64,
    pub run_dir: String,
    /// The run's wall time, resumed parts included (report only: a CSV stays a function of the
    /// runs' results, the same whichever machine trained them).
    #[serde(skip)]
    pub wall_seconds: f64,
}

/// How far a limit run is from the same setting at half its width.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub width: usize,
    pub w2: f64,
    pub w1: f64,
    /// Wall time of the half-width run.
    pub seconds: f64,
}

/// A limit run as the report lists it.
#[derive(Debug, Clone)]
pub struct LimitRow {
    pub label: String,
    pub steps: u64,
    pub wall_seconds: f64,
    /// Width of the half-width run, W2 between the two, and its wall time (when it finished).
    pub floor: Option<Floor>,
    /// The limit law's tail (hidden coordinate, Hill at k = ⌊√N⌋).
    pub tail: Option<meanfield_chaos::TailIndex>,
}

#[derive(Debug, Clone)]
pub struct FigureResult {
    pub rows: Vec<PanelRow>,
    /// The limit runs that finished.
    pub limits: Vec<LimitRow>,
    /// "setting: error" for each run that failed (its panel is left out).
    pub failed: Vec<String>,
    /// The figure's files (none when no panel could be drawn).
    pub figure: Option<FigureFiles>,
}

/// Where a drawn figure was written.
#[derive(Debug, Clone)]
pub struct FigureFiles {
    pub png: PathBuf,
    pub svg: PathBuf,
}

impl LimitRun {
    /// The limit run `base` at (`width`, `beta`, `seed`), labelled "N = …, β = …{detail}
    /// (β < 1 limit)" (or "β = 1 limit").
    pub fn new(base: &TrainConfig, width: usize, beta: f64, seed: u64, detail: &str) -> Self {
        let which = if beta >= 1.0 { "β = 1" } else { "β < 1" };
        let config = TrainConfig {
            width,
            beta,
            seed,
            ..base.clone()
        };
        LimitRun {
            label: format!("N = {width}, β = {beta}{detail} ({which} limit)"),
            half: TrainConfig {
                width: (width / 2).max(1),
                ..config.clone()
            },
            config,
        }
    }
}

impl HistogramFigure {
    /// A figure of `panels` (`cols` per row) over `limits`, with the bins of `spec` and the
    /// folder and parallelism of `ctx`, for hidden coordinate (1,1). A limit run with the
    /// setting of a panel is refused: that panel's W2 would be 0 by construction, and the
    /// row's other panels would be compared with a run no wider than they are.
    pub fn new(
        name: &str,
        title: String,
        panels: Vec<PanelRun>,
        limits: Vec<LimitRun>,
        cols: usize,
        spec: &FigureSpec,
        ctx: &FigureContext,
    ) -> Result<Self, StudyError> {
        for limit in &limits {
            if let Some(panel) = panels.iter().find(|p| p.config == limit.config) {
                return Err(StudyError::Invalid(format!(
                    "{name}: the limit run {} is the panel \"{}\" itself (its W2 would be 0 by \
                     construction). Give a reference wider than every panel: `reference_width` \
                     for the β < 1 limit, `reference_width_one` for the β = 1 limit (default: {} × \
                     the widest panel)",
                    limit.label,
                    panel.title,
                    super::preset::ONE_REFERENCE_FACTOR
                )));
            }
        }
        Ok(HistogramFigure {
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
        })
    }

    pub fn run(&self, log: &(dyn Fn(&str) + Sync)) -> Result<Measured<FigureResult>, StudyError> {
        if self.panels.is_empty() {
            return Err(StudyError::Invalid(format!(
                "{}: the grid is empty",
                self.name
            )));
        }
        crate::folders::prepare_results(&self.out, &self.mode)?;
        let configs: Vec<TrainConfig> = self
            .panels
            .iter()
            .map(|p| p.config.clone())
            .chain(
                self.limits
                    .iter()
                    .flat_map(|l| [l.config.clone(), l.half.clone()]),
            )
            .collect();
        let mut runs = or_planned!(Runs::run(&configs, self.jobs, &self.stop, &self.mode, log)?);
        let coordinate = self.coordinate;
        let mut sample_of = |c: &TrainConfig| -> Option<(Vec<f64>, Outcome)> {
            let outcome = runs.get(c)?.clone();
            match Particles::load(outcome.dir()).and_then(|p| p.hidden_coordinate(coordinate)) {
                Ok(x) => Some((x, outcome)),
                Err(e) => {
                    runs.fail(c, &e);
                    None
                }
            }
        };
        let mut limit_rows = Vec::new();
        let mut floors = Vec::new();
        let mut limit_samples: Vec<Option<Vec<f64>>> = Vec::new();
        for l in &self.limits {
            let Some((sample, outcome)) = sample_of(&l.config) else {
                limit_samples.push(None);
                floors.push(None);
                continue;
            };
            let floor = match sample_of(&l.half) {
                Some((half, o)) => Some(Floor {
                    width: l.half.width,
                    w2: w2_1d(&sample, &half)?,
                    w1: w1_1d(&sample, &half)?,
                    seconds: o.summary().wall_seconds,
                }),
                None => None,
            };
            floors.push(floor);
            let tail = tail_index(&sample, None).ok();
            limit_rows.push(LimitRow {
                label: l.label.clone(),
                steps: outcome.summary().steps,
                wall_seconds: outcome.summary().wall_seconds,
                floor,
                tail,
            });
            limit_samples.push(Some(sample));
        }
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
            // The distances with the tails of both laws: W2 means nothing when either law may
            // have no finite variance (the tail needs at least 20 particles for k = 10).
            let compared = match limit {
                Some((_, s)) => Some(law_distance(&sample, s)?),
                None => None,
            };
            let tail = match &compared {
                Some(c) => c.tail.clone(),
                None => tail_index(&sample, None).ok(),
            };
            let heavy = compared.as_ref().is_some_and(|c| !c.w2_meaningful);
            let w1 = compared.as_ref().map(|c| c.w1);
            let trimmed = compared.as_ref().map(|c| c.trimmed_w2);
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
                    (Some(curve), compared.as_ref().map(|c| c.w2))
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
                limit_floor_w2: panel.limit.and_then(|i| floors[i].map(|f| f.w2)),
                limit_floor_w1: panel.limit.and_then(|i| floors[i].map(|f| f.w1)),
                w1_to_limit: w1,
                trimmed_w2_to_limit: trimmed,
                tail_index: tail.as_ref().map(|t| t.hill.index),
                tail_ci_low: tail.as_ref().map(|t| t.hill.ci_low),
                tail_ci_high: tail.as_ref().map(|t| t.hill.ci_high),
                tail: tail.as_ref().map(|t| t.verdict),
                w2_meaningful: !heavy,
                inside_window: hist.inside,
                test_accuracy: outcome.summary().last.test_accuracy,
                run_dir: outcome.dir().display().to_string(),
                wall_seconds: outcome.summary().wall_seconds,
            });
            drawn.push(HistogramPanel {
                title: match (w2, w1) {
                    // W2 cannot converge for this law: the figure says so and shows W1.
                    (Some(_), Some(d1)) if heavy => format!(
                        "{}  (tail index {:.2}: W2 n/m, W1 {:.3})",
                        panel.title,
                        tail.as_ref().map_or(f64::NAN, |t| t.hill.index),
                        d1
                    ),
                    (Some(d), _) => format!("{}  (W2 {:.3})", panel.title, d),
                    _ => panel.title.clone(),
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
            Some(FigureFiles { png, svg })
        };
        Ok(Measured::Done(FigureResult {
            rows,
            limits: limit_rows,
            failed: runs.failed(),
            figure,
        }))
    }
}

/// The key-number table shared by the histogram figures, then the limit runs, each with its
/// steps and wall time.
pub fn panel_table(result: &FigureResult) -> (String, Vec<String>) {
    let mut md = String::from(
        "| panel | steps | mean | sd | tail index [95%] | W2 to its limit | W1 | trimmed W2 | limit's own floor (W2, W1) | limit | inside window | test acc. | wall |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n",
    );
    let mut lines = Vec::new();
    let mut marked = false;
    for r in &result.rows {
        let mark = if r.w2_meaningful { "" } else { " †" };
        let floor = format!(
            "{}, {}",
            fmt_opt(r.limit_floor_w2, 4),
            fmt_opt(r.limit_floor_w1, 4)
        );
        marked |= !r.w2_meaningful;
        md.push_str(&format!(
            "| {} | {} | {:.4} | {:.4} | {} | {}{mark} | {} | {} | {} | {} | {:.3} | {:.4} | {} |\n",
            r.panel,
            r.steps,
            r.mean,
            r.sd,
            tail_cell(r.tail_index, r.tail_ci_low, r.tail_ci_high),
            fmt_opt(r.w2_to_limit, 4),
            fmt_opt(r.w1_to_limit, 4),
            fmt_opt(r.trimmed_w2_to_limit, 4),
            floor,
            r.limit,
            r.inside_window,
            r.test_accuracy,
            duration(r.wall_seconds)
        ));
        lines.push(format!(
            "{}: W2 to limit {}{} (the limit's own floor {}), W1 {} (floor {}), tail index {}, sd {:.4}, {} steps",
            r.panel,
            fmt_opt(r.w2_to_limit, 4),
            if r.w2_meaningful {
                ""
            } else {
                " (not meaningful: heavy tail)"
            },
            fmt_opt(r.limit_floor_w2, 4),
            fmt_opt(r.w1_to_limit, 4),
            fmt_opt(r.limit_floor_w1, 4),
            tail_cell(r.tail_index, r.tail_ci_low, r.tail_ci_high),
            r.sd,
            r.steps
        ));
    }
    if marked {
        md.push_str(&crate::tails::not_meaningful_note(
            "W2",
            "the panel's or its limit's coordinate (centred on its median)",
            "Read W1 (finite for an index above 1) and the trimmed W2 (quantiles 0.05 to 0.95) instead.",
        ));
    }
    if !result.limits.is_empty() {
        md.push_str(
            "\nLimit runs (wall time of each run, resumed parts included), each with its own \
             floor: W2 between it and the same setting at half its width. A panel's W2 near \
             its limit's floor is as close as that reference can tell.\n\n",
        );
        for l in &result.limits {
            let floor = match l.floor {
                Some(f) => format!(
                    "; its floor: W2 {:.4}, W1 {:.4} to the N = {} run ({})",
                    f.w2,
                    f.w1,
                    f.width,
                    duration(f.seconds)
                ),
                None => "; its floor: the half-width run failed".into(),
            };
            let tail = match &l.tail {
                Some(t) => format!(
                    "; tail index {} ({})",
                    tail_cell(
                        Some(t.hill.index),
                        Some(t.hill.ci_low),
                        Some(t.hill.ci_high)
                    ),
                    t.verdict.describe()
                ),
                None => String::new(),
            };
            md.push_str(&format!(
                "- {}: {} steps, {}{floor}{tail}\n",
                l.label,
                l.steps,
                duration(l.wall_seconds)
            ));
        }
    }
    (md, lines)
}

/// "1.52 [1.38, 1.66]", or "–" when the sample was too small.
fn tail_cell(index: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    match (index, low, high) {
        (Some(i), Some(l), Some(h)) => format!("{i:.2} [{l:.2}, {h:.2}]"),
        _ => "–".into(),
    }
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
) -> Result<Measured<FigureSummary>, StudyError> {
    let start = std::time::Instant::now();
    let total = fig.panels.len();
    let result = or_planned!(fig.run(log)?);
    let (table, key_lines) = panel_table(&result);
    let seconds = start.elapsed().as_secs_f64();
    Report {
        title,
        scale: ctx.scale,
        spec,
        images: result.figure.iter().map(|f| file_name(&f.png)).collect(),
        key_numbers: format!("{explanation}\n\n{table}"),
        data_files: vec!["panels.csv", "histograms.csv", "limit_density.csv"],
        failed: &result.failed,
        seconds,
        command: ctx.command.clone(),
    }
    .finish(&ctx.out, key_lines, result.rows.len(), total)
    .map(Measured::Done)
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
