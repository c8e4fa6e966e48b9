//! The tail phase study: where SGD at β = 1 turns heavy-tailed.
//!
//! For a grid of step sizes γ, batch sizes M and widths N under one setting, one run each; for
//! each run, Hill's tail index (with its 95% interval and the moment estimator beside it, see
//! `meanfield_chaos::tail`) of hidden coordinate (1,1) across the particles, centred on its
//! median, and of the particles' row norms |W1_k|. Against γ/M (SGD's noise scale) the index
//! says where the particle law loses its second moment (index below 2): there W2 and the
//! coupling D cannot converge as N grows. Two or more widths at the same (γ, M) check that the
//! index does not drift with N.
//!
//! Measure, then render: [`TailStudy::measure`] returns the rows, [`TailStudy::render`] writes
//! `tails.csv`, `hill_plot.csv`, `tails.svg`/`.png` and `report.md` into `out`.

use crate::grid::{Measured, Runs, or_planned};
use crate::particles::Particles;
use crate::plan::GridMode;
use crate::plot::{Axes, Series, Style, save_chart_with_ticks, series_color};
use crate::{StudyError, write_rows};
use meanfield_chaos::tail::{TailVerdict, default_k, hill_upper, tail_index};
use meanfield_train::{StopHandle, TrainConfig};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What to run and measure.
#[derive(Debug, Clone)]
pub struct TailStudy {
    /// The setting; its `width`, `gamma`, `batch` and `out` are replaced per run.
    pub base: TrainConfig,
    pub widths: Vec<usize>,
    pub gammas: Vec<f64>,
    pub batches: Vec<usize>,
    /// The hidden coordinate (0: the paper's (1,1)).
    pub coordinate: usize,
    pub jobs: usize,
    pub mode: GridMode,
    /// The study folder (runs under `out/runs`).
    pub out: PathBuf,
    /// The command line that reproduces the study (its report says it).
    pub command: String,
}

/// The tail of one run.
#[derive(Debug, Clone, Serialize)]
pub struct TailRow {
    pub width: usize,
    pub gamma: f64,
    pub batch: usize,
    pub gamma_over_m: f64,
    pub steps: u64,
    /// Hill's index of the coordinate at k = ⌊√N⌋, its 95% interval, the verdict against 2.
    pub k: usize,
    pub index: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub verdict: TailVerdict,
    /// The moment estimator at the same k: ξ̂ and its 95% interval, and the index 1/ξ̂ with
    /// its interval only where ξ's interval lies above 0 (empty: light as far as the sample
    /// tells, no finite index estimated).
    pub moment_xi: Option<f64>,
    pub moment_xi_low: Option<f64>,
    pub moment_xi_high: Option<f64>,
    pub moment_index: Option<f64>,
    pub moment_ci_low: Option<f64>,
    pub moment_ci_high: Option<f64>,
    /// Hill's index of the row norms |W1_k| at the same k, and its interval.
    pub norm_index: Option<f64>,
    pub norm_ci_low: Option<f64>,
    pub norm_ci_high: Option<f64>,
    /// Standard deviation and largest |x − median| of the coordinate.
    pub sd: f64,
    pub max_deviation: f64,
    pub run_dir: String,
}

/// One point of a run's Hill plot.
#[derive(Debug, Clone, Serialize)]
pub struct HillRow {
    pub width: usize,
    pub gamma: f64,
    pub batch: usize,
    pub k: usize,
    pub index: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone)]
pub struct TailResult {
    pub rows: Vec<TailRow>,
    pub hill: Vec<HillRow>,
    pub failed_runs: Vec<String>,
    pub seconds: f64,
}

impl TailStudy {
    /// The preset its setting starts from unless another is named (the paper's MNIST
    /// protocol at β = 1).
    pub const PRESET: &str = "tails";

    /// What the study sets in every run itself, refused as a setting, with why.
    pub fn refused() -> Vec<(&'static str, String)> {
        crate::axes::refused_settings("tails", Self::AXES, &[], true, false)
    }

    /// Its results folder unless given: `studies/tails-<dataset>-beta<β>…`.
    pub fn default_out(base: &TrainConfig) -> PathBuf {
        crate::folders::default_folder("tails", base, "")
    }

    /// Measures, then writes the study folder.
    pub fn run(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<TailResult>, StudyError> {
        let result = or_planned!(self.measure(stop, log)?);
        self.render(&result)?;
        Ok(Measured::Done(result))
    }
    /// The grid axes the study varies.
    pub const AXES: &[crate::axes::Axis] = &[
        crate::axes::Axis::Widths,
        crate::axes::Axis::Gammas,
        crate::axes::Axis::Batches,
    ];
    /// Their lists unless given: Figure 1's widest panels, γ from the paper's 1 down to 0.1,
    /// the paper's M.
    pub const DEFAULTS: &[(crate::axes::Axis, &str)] = &[
        (crate::axes::Axis::Widths, "5000,10000"),
        (crate::axes::Axis::Gammas, "1,0.5,0.3,0.1"),
        (crate::axes::Axis::Batches, "100"),
    ];

    pub fn run_config(&self, width: usize, gamma: f64, batch: usize) -> TrainConfig {
        TrainConfig {
            width,
            gamma,
            batch,
            out: None,
            runs_dir: self.out.join("runs"),
            ..self.base.clone()
        }
    }

    fn configs(&self) -> Result<Vec<TrainConfig>, StudyError> {
        if self.widths.is_empty() || self.gammas.is_empty() || self.batches.is_empty() {
            return Err(StudyError::Invalid(
                "`widths`, `gammas` and `batches` must each list at least one value".into(),
            ));
        }
        if let Some(w) = self.widths.iter().find(|&&w| w < 20) {
            return Err(StudyError::Invalid(format!(
                "`widths` {w}: a tail index needs at least 20 particles (k ≥ 10 order statistics)"
            )));
        }
        let mut out = Vec::new();
        for &w in &self.widths {
            for &g in &self.gammas {
                for &m in &self.batches {
                    out.push(self.run_config(w, g, m));
                }
            }
        }
        Ok(out)
    }

    /// Trains (or reuses) every run of the grid and measures its tail.
    pub fn measure(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<TailResult>, StudyError> {
        if let Some(p) = crate::particles::known_input_dim(&self.base) {
            crate::particles::check_coordinate(self.coordinate, p)?;
        }
        let start = Instant::now();
        let configs = self.configs()?;
        crate::folders::prepare_results(&self.out, &self.mode)?;
        let mut runs = or_planned!(Runs::run(&configs, self.jobs, stop, &self.mode, log)?);
        let mut rows = Vec::new();
        let mut hill = Vec::new();
        for c in &configs {
            let Some(outcome) = runs.get(c).cloned() else {
                continue;
            };
            let particles = match Particles::load(outcome.dir()) {
                Ok(p) => p,
                Err(e) => {
                    runs.fail(c, &e);
                    continue;
                }
            };
            let x = particles.hidden_coordinate(self.coordinate)?;
            let tail = tail_index(&x, None)?;
            let norms: Vec<f64> = particles
                .hidden
                .chunks_exact(particles.input_dim)
                .map(|r| r.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt())
                .collect();
            let norm = hill_upper(&norms, default_k(norms.len())).ok();
            let moment = tail.moment.and_then(|m| m.index());
            let sd = crate::stats::sd(&x, 0).unwrap_or(f64::NAN);
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            let max_deviation = x.iter().map(|v| (v - median).abs()).fold(0.0, f64::max);
            for p in &tail.hill_plot {
                hill.push(HillRow {
                    width: c.width,
                    gamma: c.gamma,
                    batch: c.batch,
                    k: p.k,
                    index: p.index,
                    ci_low: p.ci_low,
                    ci_high: p.ci_high,
                });
            }
            rows.push(TailRow {
                width: c.width,
                gamma: c.gamma,
                batch: c.batch,
                gamma_over_m: c.gamma / c.batch as f64,
                steps: outcome.summary().steps,
                k: tail.hill.k,
                index: tail.hill.index,
                ci_low: tail.hill.ci_low,
                ci_high: tail.hill.ci_high,
                verdict: tail.verdict,
                moment_xi: tail.moment.map(|m| m.xi),
                moment_xi_low: tail.moment.map(|m| m.ci_low),
                moment_xi_high: tail.moment.map(|m| m.ci_high),
                moment_index: moment.map(|m| m.0),
                moment_ci_low: moment.map(|m| m.1),
                moment_ci_high: moment.map(|m| m.2),
                norm_index: norm.map(|p| p.index),
                norm_ci_low: norm.map(|p| p.ci_low),
                norm_ci_high: norm.map(|p| p.ci_high),
                sd,
                max_deviation,
                run_dir: outcome.dir().display().to_string(),
            });
        }
        Ok(Measured::Done(TailResult {
            rows,
            hill,
            failed_runs: runs.failed(),
            seconds: start.elapsed().as_secs_f64(),
        }))
    }

    /// Writes the tables, the chart and the report.
    pub fn render(&self, r: &TailResult) -> Result<(), StudyError> {
        write_rows(&self.out.join("tails.csv"), &r.rows)?;
        write_rows(&self.out.join("hill_plot.csv"), &r.hill)?;
        if !r.rows.is_empty() {
            let (title, x_label, y_label) = self.chart_labels(dodged(&r.rows));
            save_chart_with_ticks(
                &self.out.join("tails"),
                (&title, &x_label, y_label),
                &chart_series(&r.rows),
                Axes::LOG_X,
                chart_ticks(&r.rows).as_deref(),
            )?;
        }
        crate::report::write(
            &self.out,
            &self.report(r),
            &self.command,
            &r.failed_runs,
            "",
        )?;
        Ok(())
    }

    fn title(&self) -> String {
        let dynamics = match self.base.dynamics {
            meanfield_train::Dynamics::Sgd => "SGD".to_string(),
            meanfield_train::Dynamics::Diffusion => format!(
                "diffusion (6), drift {}, noise {}",
                self.base.drift_set, self.base.noise_set
            ),
        };
        format!(
            "{}, {dynamics}, β = {}, α = {}, T = {}, readout {}",
            self.base.dataset,
            self.base.beta,
            self.base.alpha,
            self.base.horizon,
            self.base.readout
        )
    }

    /// The chart's title, x label (saying so when series are set apart) and y label.
    fn chart_labels(&self, dodged: bool) -> (String, String, &'static str) {
        let x_label = if dodged {
            "γ / M (series set apart by up to ±7% where they share a γ/M)"
        } else {
            "γ / M"
        };
        (
            self.title(),
            x_label.into(),
            "Hill tail index of coordinate (1,1), 95% interval",
        )
    }

    fn report(&self, r: &TailResult) -> String {
        let mut md = format!(
            "# Tails: {}\n\nWidths {:?}, γ {:?}, M {:?}, one run each; {} runs measured, {:.0} s in all (runs reused from earlier calls included).\n\n\
             Hill's index of hidden coordinate ({}, 1) centred on its median, at k = ⌊√N⌋, with the asymptotic 95% interval â ± 1.96 â/√k; the moment estimator (Dekkers–Einmahl–de Haan) at the same k, with its index and 95% interval only where its ξ̂'s interval lies above 0 (\"light\": no finite index shown by the sample, a light tail or a power tail of index above about 4–5 at this k; `tails.csv` keeps ξ̂ and its interval); Hill's index of the row norms |W1_k|. An index below 2 means no finite second moment: W2 and the coupling D cannot converge as N grows there (`meanfield_chaos::tail`).\n\n![tail index against γ/M](tails.png)\n\n\
             | N | γ | M | γ/M | steps | index [95%] | moment index [95%] | verdict | row-norm index [95%] | sd | max |x − med| |\n|---:|---:|---:|---:|---:|---|---:|---|---|---:|---:|\n",
            self.title(),
            self.widths,
            self.gammas,
            self.batches,
            r.rows.len(),
            r.seconds,
            self.coordinate + 1
        );
        let mut rows = r.rows.clone();
        rows.sort_by(|a, b| {
            (a.width, a.batch)
                .cmp(&(b.width, b.batch))
                .then(a.gamma_over_m.total_cmp(&b.gamma_over_m))
        });
        for x in &rows {
            md.push_str(&format!(
                "| {} | {} | {} | {:.4} | {} | {:.2} [{:.2}, {:.2}] | {} | {} | {} | {:.4} | {:.3} |\n",
                x.width,
                x.gamma,
                x.batch,
                x.gamma_over_m,
                x.steps,
                x.index,
                x.ci_low,
                x.ci_high,
                match (x.moment_index, x.moment_ci_low, x.moment_ci_high, x.moment_xi) {
                    (Some(i), Some(l), Some(h), _) => format!("{i:.2} [{l:.2}, {h:.2}]"),
                    (_, _, _, Some(_)) => "light".into(),
                    _ => "–".into(),
                },
                match x.verdict {
                    TailVerdict::Light => "light",
                    TailVerdict::Straddles => "undecided",
                    TailVerdict::Heavy => "heavy",
                },
                match (x.norm_index, x.norm_ci_low, x.norm_ci_high) {
                    (Some(i), Some(l), Some(h)) => format!("{i:.2} [{l:.2}, {h:.2}]"),
                    _ => "–".into(),
                },
                x.sd,
                x.max_deviation
            ));
        }
        md.push_str("\n## Where the index crosses 2\n\n");
        for line in crossings(&rows) {
            md.push_str(&format!("- {line}\n"));
        }
        md.push_str("\n## Stability in N\n\n");
        for line in stability(&rows) {
            md.push_str(&format!("- {line}\n"));
        }
        md.push_str(
            "\nNumbers: `tails.csv` (one row per run), `hill_plot.csv` (Hill's index against k for each run).\n",
        );
        md
    }
}

/// The footnote every law-based report puts under a table with a marked (†) distance: why the
/// distance does not mean anything there, and what to read instead. `distance` names it ("W2",
/// "D"), `sample` says whose tail was measured.
pub fn not_meaningful_note(distance: &str, sample: &str, instead: &str) -> String {
    format!(
        "\n† {distance} is not meaningful here: the tail index of {sample} (Hill, k = ⌊√N⌋, 95% interval) is not above 2, so the law may have no finite variance and {distance}, a second-moment quantity, cannot converge as N grows. The theorems assume laws with finite second moments (P_2): this regime lies outside them. {instead}\n"
    )
}

/// For each (N, M), where Hill's index crosses 2 along γ/M, interpolated linearly in log(γ/M)
/// between the two grid points around the first crossing.
pub fn crossings(rows: &[TailRow]) -> Vec<String> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        (a.width, a.batch)
            .cmp(&(b.width, b.batch))
            .then(a.gamma_over_m.total_cmp(&b.gamma_over_m))
    });
    let mut keys: Vec<(usize, usize)> = rows.iter().map(|x| (x.width, x.batch)).collect();
    keys.dedup();
    let mut out = Vec::new();
    for (w, m) in keys {
        let pts: Vec<&TailRow> = rows
            .iter()
            .filter(|x| (x.width, x.batch) == (w, m))
            .collect();
        let cross = pts.windows(2).find_map(|p| {
            let (a, b) = (p[0], p[1]);
            ((a.index - 2.0) * (b.index - 2.0) <= 0.0 && a.index != b.index).then(|| {
                let t = (a.index - 2.0) / (a.index - b.index);
                let lg = a.gamma_over_m.ln() + t * (b.gamma_over_m.ln() - a.gamma_over_m.ln());
                (a.gamma_over_m, b.gamma_over_m, lg.exp())
            })
        });
        out.push(match cross {
            Some((a, b, c)) => {
                format!("N = {w}, M = {m}: between γ/M = {a:.4} and {b:.4} (interpolated {c:.4})")
            }
            None if pts.iter().all(|x| x.index > 2.0) => {
                format!("N = {w}, M = {m}: above 2 over the whole grid (light tails)")
            }
            None if pts.iter().all(|x| x.index < 2.0) => {
                format!("N = {w}, M = {m}: below 2 over the whole grid (heavy tails)")
            }
            None => format!("N = {w}, M = {m}: no single crossing along γ/M"),
        });
    }
    out
}

/// For each (γ, M) run at two or more widths: the indices, and whether their intervals overlap.
pub fn stability(rows: &[TailRow]) -> Vec<String> {
    let mut keys: Vec<(u64, usize)> = rows.iter().map(|x| (x.gamma.to_bits(), x.batch)).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for (g, m) in keys {
        let same: Vec<&TailRow> = rows
            .iter()
            .filter(|x| (x.gamma.to_bits(), x.batch) == (g, m))
            .collect();
        if same.len() < 2 {
            continue;
        }
        let overlap = same.iter().map(|x| x.ci_low).fold(f64::MIN, f64::max)
            <= same.iter().map(|x| x.ci_high).fold(f64::MAX, f64::min);
        let list: Vec<String> = same
            .iter()
            .map(|x| format!("{:.2} at N = {}", x.index, x.width))
            .collect();
        out.push(format!(
            "γ = {}, M = {m}: {} — intervals {}",
            f64::from_bits(g),
            list.join(", "),
            if overlap {
                "overlap (stable in N)"
            } else {
                "do not overlap (the index moves with N)"
            }
        ));
    }
    if out.is_empty() {
        out.push("one width only: give two or more `widths` to check".into());
    }
    out
}

/// The tail chart's series: for each (N, M), Hill's index against γ/M with its 95% interval as
/// error bars, each (N, M) its own colour and marker ([`series_color`]), and the index-2 line.
/// Series are set apart by up to ±7% in γ/M (a factor e^(±0.065) on the log axis), so the
/// intervals of runs at the same γ/M do not hide each other; the x label says so.
pub fn chart_series(rows: &[TailRow]) -> Vec<Series> {
    let mut keys: Vec<(usize, usize)> = rows.iter().map(|x| (x.width, x.batch)).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut series = Vec::new();
    let spread = if dodged(rows) { 0.065 } else { 0.0 };
    for (i, (w, m)) in keys.iter().enumerate() {
        let offset = if keys.len() > 1 {
            (spread * (2.0 * i as f64 / (keys.len() - 1) as f64 - 1.0)).exp()
        } else {
            1.0
        };
        let mut of_key: Vec<&TailRow> = rows
            .iter()
            .filter(|x| (x.width, x.batch) == (*w, *m))
            .collect();
        of_key.sort_by(|a, b| a.gamma_over_m.total_cmp(&b.gamma_over_m));
        let color = series_color(i);
        series.push(Series::intervals(
            "",
            &of_key
                .iter()
                .map(|x| (x.gamma_over_m * offset, x.ci_low, x.ci_high))
                .collect::<Vec<_>>(),
            color,
        ));
        series.push(Series {
            label: format!("N = {w}, M = {m}"),
            points: of_key
                .iter()
                .map(|x| (x.gamma_over_m * offset, x.index))
                .collect(),
            style: Style::Points,
            color,
        });
    }
    let (lo, hi) = rows.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(x.gamma_over_m), hi.max(x.gamma_over_m))
    });
    if lo.is_finite() {
        series.push(Series {
            label: "index 2: below it no finite variance".into(),
            points: vec![(lo * (-spread).exp(), 2.0), (hi * spread.exp(), 2.0)],
            style: Style::Dashed,
            color: 5,
        });
    }
    series
}

/// Whether two series share a γ/M, so that [`chart_series`] sets them apart.
fn dodged(rows: &[TailRow]) -> bool {
    let mut at: Vec<(u64, usize, usize)> = rows
        .iter()
        .map(|x| (x.gamma_over_m.to_bits(), x.width, x.batch))
        .collect();
    at.sort_unstable();
    at.dedup();
    at.windows(2).any(|w| w[0].0 == w[1].0)
}

/// The x ticks of the tails chart: the γ/M run, when there are 2 to 10 of them (the points
/// themselves may be set apart from them); else the axis's own.
pub fn chart_ticks(rows: &[TailRow]) -> Option<Vec<f64>> {
    let mut xs: Vec<f64> = rows.iter().map(|x| x.gamma_over_m).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    (2..=10).contains(&xs.len()).then_some(xs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::{Marker, chart_with_layout, chart_with_ticks, text_boxes};

    /// The grid of `configs/tails.toml` (N ∈ {5000, 10000}, M ∈ {50, 100, 200}, γ ∈ {0.1, 0.3,
    /// 0.5, 1}): ten distinct γ/M from 0.0005 to 0.02, 0.002/0.0025/0.003 and 0.005/0.006 close
    /// together (the labels that printed as one before). The indices are made up.
    fn rows() -> Vec<TailRow> {
        let mut rows = Vec::new();
        for (i, (width, batch)) in [5000, 10000]
            .into_iter()
            .flat_map(|w| [50, 100, 200].map(|m| (w, m)))
            .enumerate()
        {
            for (j, gamma) in [0.1, 0.3, 0.5, 1.0].into_iter().enumerate() {
                let index = 7.0 - 1.5 * j as f64 + 0.1 * i as f64;
                rows.push(TailRow {
                    width,
                    gamma,
                    batch,
                    gamma_over_m: gamma / batch as f64,
                    steps: 1,
                    k: 70,
                    index,
                    ci_low: index * 0.8,
                    ci_high: index * 1.2,
                    verdict: TailVerdict::Light,
                    moment_xi: None,
                    moment_xi_low: None,
                    moment_xi_high: None,
                    moment_index: None,
                    moment_ci_low: None,
                    moment_ci_high: None,
                    norm_index: None,
                    norm_ci_low: None,
                    norm_ci_high: None,
                    sd: 1.0,
                    max_deviation: 1.0,
                    run_dir: String::new(),
                });
            }
        }
        rows
    }

    /// The x labels, as the renderer lays out their glyphs, never overlap; at least half of
    /// the ten γ/M run keep a label.
    #[test]
    fn x_labels_never_overlap() {
        let rows = rows();
        let series = chart_series(&rows);
        let ticks = chart_ticks(&rows).expect("ten γ/M");
        let (svg, layout) =
            chart_with_ticks("t", "γ / M", "index", &series, Axes::LOG_X, Some(&ticks)).unwrap();
        let labels: Vec<String> = layout.x_ticks.iter().map(|(_, l)| l.clone()).collect();
        assert!(labels.len() >= 5, "{labels:?}");
        // Every label is a γ/M that was run (not a point's set-apart x).
        for (x, _) in &layout.x_ticks {
            assert!(ticks.contains(x), "{x} is no γ/M of the grid");
        }
        let boxes = text_boxes(&svg).unwrap();
        let mut x_boxes: Vec<[f32; 4]> = boxes
            .iter()
            .filter(|(t, b)| labels.contains(t) && b[1] > 450.0 && b[3] < 540.0)
            .map(|(_, b)| *b)
            .collect();
        assert_eq!(
            x_boxes.len(),
            labels.len(),
            "every x label drawn: {boxes:?}"
        );
        x_boxes.sort_by(|a, b| a[0].total_cmp(&b[0]));
        for pair in x_boxes.windows(2) {
            assert!(
                pair[0][2] + 2.0 <= pair[1][0],
                "x labels overlap: {pair:?} ({labels:?})"
            );
        }
    }

    /// Points sit at their own γ/M unless two series share one: one (N, M) alone is not
    /// moved; the grid (every γ/M shared by two widths) is, by at most e^0.065.
    #[test]
    fn series_are_set_apart_only_where_they_share_a_gamma_over_m() {
        let all = rows();
        let one: Vec<TailRow> = all
            .iter()
            .filter(|x| (x.width, x.batch) == (5000, 50))
            .cloned()
            .collect();
        assert!(!dodged(&one) && dodged(&all));
        for (rows, moved) in [(&one, false), (&all, true)] {
            let mut any = false;
            for s in chart_series(rows)
                .iter()
                .filter(|s| s.style == Style::Points)
            {
                for (x, y) in &s.points {
                    let row = rows
                        .iter()
                        .find(|r| r.index == *y && (r.gamma_over_m / x).ln().abs() <= 0.065 + 1e-12)
                        .expect("a row at each point");
                    any |= row.gamma_over_m != *x;
                }
            }
            assert_eq!(any, moved);
        }
    }

    /// Every (N, M) has its own colour and marker, and its intervals drawn in its colour.
    #[test]
    fn every_series_has_its_own_colour_and_marker_and_its_intervals() {
        let rows = rows();
        let series = chart_series(&rows);
        let points: Vec<&Series> = series.iter().filter(|s| s.style == Style::Points).collect();
        assert_eq!(points.len(), 6);
        let mut colours: Vec<usize> = points.iter().map(|s| s.color).collect();
        colours.sort_unstable();
        colours.dedup();
        assert_eq!(colours.len(), 6, "one colour each");
        assert!(
            !colours.contains(&5),
            "the references' grey is not a series colour"
        );
        let mut markers: Vec<String> = points
            .iter()
            .map(|s| format!("{:?}", Marker::of(s.color)))
            .collect();
        markers.sort_unstable();
        markers.dedup();
        assert_eq!(markers.len(), 6, "one marker each");
        for s in &points {
            let bars = series
                .iter()
                .find(|b| b.style == Style::Intervals && b.color == s.color)
                .expect("intervals of the series");
            assert_eq!(bars.points.len(), 2 * s.points.len());
            for (p, bar) in s.points.iter().zip(bars.points.chunks_exact(2)) {
                // The bar is at the point's x, from 0.8 to 1.2 times the index (rows()).
                assert_eq!(bar[0].0, p.0);
                assert!(
                    (bar[0].1 - 0.8 * p.1).abs() < 1e-12 && (bar[1].1 - 1.2 * p.1).abs() < 1e-12
                );
            }
        }
        let (svg, _) = chart_with_layout("t", "x", "y", &series, Axes::LOG_X).unwrap();
        assert!(
            svg.matches("<polyline").count() >= rows.len(),
            "a line per interval"
        );
    }
}
