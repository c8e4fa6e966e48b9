//! The propagation-of-chaos study: for a list of widths and seeds under one setting, how far
//! each width's particles are from a reference and from an independent seed, and the rate.
//!
//! Distances per run (all exact or Monte-Carlo in 1-D, see `meanfield-chaos`):
//! - `w2_coordinate`: W2 between the laws of one hidden coordinate (default j = 0, the paper's
//!   "coordinate (1, 1)") across the N particles;
//! - `sliced_w2`: sliced W2 between the full particle clouds (R^p, or R^(p+C) with a trainable
//!   readout), mean and standard deviation over projection seeds.
//!
//! Kinds of pairs: `to-reference` (every run but the reference, against the reference run: the
//! largest width and first seed, or a given run directory) and `between-seeds` (every pair of
//! seeds at the same width). For each kind and distance the per-width mean is fitted as
//! log W2 = a + slope · log N (theory: slope ≈ −1/2).

use crate::grid::{Measured, Runs, or_planned};
use crate::particles::Particles;
use crate::plan::GridMode;
use crate::plot::{Axes, Series, Style, save_chart};
use crate::{StudyError, write_file, write_rows};
use meanfield_chaos::tail::law_distance;
use meanfield_chaos::{Cloud, RateFit, fit_rate, sliced_w2_seeds};
use meanfield_train::{StopHandle, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// What to run and measure.
#[derive(Debug, Clone)]
pub struct ChaosStudy {
    /// The setting; its `width`, `seed` and `out` are replaced per run.
    pub base: TrainConfig,
    pub widths: Vec<usize>,
    pub seeds: Vec<u64>,
    /// A finished run directory to measure against; default: the largest width, first seed.
    pub reference: Option<PathBuf>,
    /// Directions per sliced-W2 estimate.
    pub projections: usize,
    /// Projection seeds (the spread of the sliced W2 is over these).
    pub projection_seeds: Vec<u64>,
    /// The hidden coordinate for the 1-D W2.
    pub coordinate: usize,
    /// Runs at once.
    pub jobs: usize,
    /// Train, write the runs as jobs, or assemble from finished runs only.
    pub mode: GridMode,
    /// The study folder: `runs/`, `distances.csv`, `fits.json`, `chaos.svg`, `chaos.png`, `report.md`.
    pub out: PathBuf,
    /// The command line that reproduces the study (its report says it).
    pub command: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistanceRow {
    pub kind: String,
    pub width: usize,
    pub seed: u64,
    /// The other side: "reference" or the other seed.
    pub other: String,
    pub w2_coordinate: f64,
    pub sliced_w2_mean: f64,
    pub sliced_w2_std: f64,
    /// W1 and the trimmed W2 (quantiles 0.05 to 0.95) of the coordinate: finite for heavy tails.
    #[serde(default)]
    pub w1_coordinate: f64,
    #[serde(default)]
    pub trimmed_w2_coordinate: f64,
    /// Hill's tail index of this run's coordinate (k = ⌊√N⌋), when there are 20 particles.
    #[serde(default)]
    pub tail_index: Option<f64>,
    /// False when either side's tail index interval is not above 2: W2 cannot converge there.
    #[serde(default = "yes")]
    pub w2_meaningful: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChaosFits {
    pub to_reference_sliced: Option<RateFit>,
    pub to_reference_coordinate: Option<RateFit>,
    pub between_seeds_sliced: Option<RateFit>,
    pub between_seeds_coordinate: Option<RateFit>,
}

/// The numbers of a study ([`ChaosStudy::measure`]); [`ChaosStudy::render`] writes them.
#[derive(Debug, Clone)]
pub struct ChaosResult {
    pub rows: Vec<DistanceRow>,
    pub fits: ChaosFits,
    /// Per kind and distance: (label, (N, mean distance) points) in the order of the fits.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    pub reference_dir: PathBuf,
    /// Runs in the grid.
    pub runs: usize,
    pub seconds: f64,
    pub failed_runs: Vec<String>,
}

impl ChaosStudy {
    /// The preset its setting starts from unless another is named.
    pub const PRESET: &str = "chaos-quick";
    /// Directions per sliced-W2 estimate unless given.
    pub const PROJECTIONS: usize = meanfield_chaos::sliced::DEFAULT_PROJECTIONS;
    /// The projection seeds unless given (the sliced W2's spread is over them).
    pub const PROJECTION_SEEDS: &[u64] = meanfield_chaos::sliced::DEFAULT_PROJECTION_SEEDS;

    /// What the study sets in every run itself, refused as a setting, with why.
    pub fn refused() -> Vec<(&'static str, String)> {
        crate::axes::refused_settings("chaos", Self::AXES, &[], true, false)
    }

    /// Its results folder unless given: `studies/chaos-<dataset>-beta<β>…`.
    pub fn default_out(base: &TrainConfig) -> PathBuf {
        crate::folders::default_folder("chaos", base, "")
    }
    /// The grid axes the study varies.
    pub const AXES: &[crate::axes::Axis] = &[crate::axes::Axis::Widths, crate::axes::Axis::Seeds];
    /// Their lists unless given: six widths doubling from 250, three seeds.
    pub const DEFAULTS: &[(crate::axes::Axis, &str)] = &[
        (crate::axes::Axis::Widths, "250,500,1000,2000,4000,8000"),
        (crate::axes::Axis::Seeds, "0,1,2"),
    ];

    /// The config of one run of the grid.
    pub fn run_config(&self, width: usize, seed: u64) -> TrainConfig {
        TrainConfig {
            width,
            seed,
            out: None,
            runs_dir: self.out.join("runs"),
            ..self.base.clone()
        }
    }

    /// Runs (or reuses) the grid, measures and fits ([`Self::measure`]), then writes the study
    /// folder ([`Self::render`]).
    pub fn run(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<ChaosResult>, StudyError> {
        let result = or_planned!(self.measure(stop, log)?);
        self.render(&result)?;
        Ok(Measured::Done(result))
    }

    /// Runs (or reuses) the grid, then measures every distance and fits the rates. Writes only
    /// the runs.
    pub fn measure(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<ChaosResult>, StudyError> {
        if self.widths.is_empty() || self.seeds.is_empty() {
            return Err(StudyError::Invalid(
                "`widths` and `seeds` must each list at least one value".into(),
            ));
        }
        // The projection seeds, their count and a reference given by hand are checked before
        // any run is trained, not after.
        meanfield_chaos::sliced::check_projection_seeds(&self.projection_seeds)?;
        meanfield_chaos::sliced::check_projections(self.projections)?;
        if let Some(reference) = &self.reference {
            meanfield_train::run_dir::verify(reference)?;
        }
        let distinct: std::collections::BTreeSet<usize> = self.widths.iter().copied().collect();
        if distinct.len() < 2 && self.reference.is_none() {
            return Err(StudyError::Invalid(format!(
                "`widths` {:?}: the chaos study fits a rate in N and measures each width against the widest (the reference): give at least two widths, or a `reference` run",
                self.widths
            )));
        }
        if let Some(p) = crate::particles::known_input_dim(&self.base) {
            crate::particles::check_coordinate(self.coordinate, p)?;
        }
        let start = Instant::now();
        crate::folders::prepare_results(&self.out, &self.mode)?;
        let mut widths = self.widths.clone();
        widths.sort_unstable();
        widths.dedup();
        let configs: Vec<TrainConfig> = widths
            .iter()
            .flat_map(|&w| self.seeds.iter().map(move |&s| (w, s)))
            .map(|(w, s)| self.run_config(w, s))
            .collect();
        let runs = or_planned!(Runs::run(&configs, self.jobs, stop, &self.mode, log)?);
        let mut dirs: BTreeMap<(usize, u64), PathBuf> = BTreeMap::new();
        for config in &configs {
            if let Some(o) = runs.get(config) {
                dirs.insert((config.width, config.seed), o.dir().to_path_buf());
            }
        }
        let failed = runs.failed();
        let reference_dir = match &self.reference {
            Some(dir) => dir.clone(),
            None => dirs
                .get(&(*widths.last().expect("non-empty"), self.seeds[0]))
                .cloned()
                .ok_or_else(|| {
                    crate::report::nothing_measured(
                        &self.out,
                        &format!(
                            "# Propagation of chaos: {}, β = {}",
                            self.base.dataset, self.base.beta
                        ),
                        &self.command,
                        &failed,
                        configs.len(),
                        "the reference run (largest width, first seed) failed",
                    )
                })?,
        };
        let reference = Particles::load(&reference_dir)?;
        let loaded: BTreeMap<(usize, u64), Particles> = dirs
            .iter()
            .map(|(k, d)| Particles::load(d).map(|p| (*k, p)))
            .collect::<Result<_, _>>()?;

        let measure = |a: &Particles, b: &Particles| -> Result<DistanceRow, StudyError> {
            let law = law_distance(
                &a.hidden_coordinate(self.coordinate)?,
                &b.hidden_coordinate(self.coordinate)?,
            )?;
            let (ca, da) = a.cloud()?;
            let (cb, db) = b.cloud()?;
            let sw = sliced_w2_seeds(
                Cloud::new(&ca, da)?,
                Cloud::new(&cb, db)?,
                self.projections,
                &self.projection_seeds,
            )?;
            Ok(DistanceRow {
                kind: String::new(),
                width: 0,
                seed: 0,
                other: String::new(),
                w2_coordinate: law.w2,
                sliced_w2_mean: sw.mean,
                sliced_w2_std: sw.std,
                w1_coordinate: law.w1,
                trimmed_w2_coordinate: law.trimmed_w2,
                tail_index: law.tail.as_ref().map(|t| t.hill.index),
                w2_meaningful: law.w2_meaningful,
            })
        };
        let mut rows = Vec::new();
        for ((width, seed), p) in &loaded {
            if dirs.get(&(*width, *seed)) == Some(&reference_dir) {
                continue;
            }
            rows.push(DistanceRow {
                kind: "to-reference".into(),
                width: *width,
                seed: *seed,
                other: "reference".into(),
                ..measure(p, &reference)?
            });
        }
        for &width in &widths {
            for (i, &s1) in self.seeds.iter().enumerate() {
                for &s2 in &self.seeds[i + 1..] {
                    if let (Some(a), Some(b)) = (loaded.get(&(width, s1)), loaded.get(&(width, s2)))
                    {
                        rows.push(DistanceRow {
                            kind: "between-seeds".into(),
                            width,
                            seed: s1,
                            other: s2.to_string(),
                            ..measure(a, b)?
                        });
                    }
                }
            }
        }
        let means = |kind: &str, f: &dyn Fn(&DistanceRow) -> f64| -> Vec<(f64, f64)> {
            let mut by: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for r in rows.iter().filter(|r| r.kind == kind) {
                by.entry(r.width).or_default().push(f(r));
            }
            by.into_iter()
                .map(|(w, v)| (w as f64, v.iter().sum::<f64>() / v.len() as f64))
                .collect()
        };
        let sliced = |r: &DistanceRow| r.sliced_w2_mean;
        let coord = |r: &DistanceRow| r.w2_coordinate;
        let series_data = [
            ("to reference, sliced W2", means("to-reference", &sliced), 0),
            (
                "to reference, W2 of coordinate",
                means("to-reference", &coord),
                1,
            ),
            (
                "between seeds, sliced W2",
                means("between-seeds", &sliced),
                2,
            ),
            (
                "between seeds, W2 of coordinate",
                means("between-seeds", &coord),
                3,
            ),
        ];
        let fit = |pts: &[(f64, f64)]| fit_rate(pts).ok();
        let fits = ChaosFits {
            to_reference_sliced: fit(&series_data[0].1),
            to_reference_coordinate: fit(&series_data[1].1),
            between_seeds_sliced: fit(&series_data[2].1),
            between_seeds_coordinate: fit(&series_data[3].1),
        };
        Ok(Measured::Done(ChaosResult {
            rows,
            fits,
            series: series_data
                .into_iter()
                .map(|(label, pts, _)| (label.to_string(), pts))
                .collect(),
            reference_dir,
            runs: configs.len(),
            seconds: start.elapsed().as_secs_f64(),
            failed_runs: failed,
        }))
    }

    /// Writes `distances.csv`, `fits.json`, the plot (`chaos.svg`/`.png`) and `report.md`.
    pub fn render(&self, result: &ChaosResult) -> Result<(), StudyError> {
        crate::folders::claim_results(&self.out)?;
        let fits = &result.fits;
        let fit_list = [
            &fits.to_reference_sliced,
            &fits.to_reference_coordinate,
            &fits.between_seeds_sliced,
            &fits.between_seeds_coordinate,
        ];
        write_rows(&self.out.join("distances.csv"), &result.rows)?;
        write_file(
            &self.out.join("fits.json"),
            serde_json::to_string_pretty(fits)
                .expect("serialises")
                .as_bytes(),
        )?;
        let mut series = Vec::new();
        for (color, ((label, pts), f)) in result.series.iter().zip(fit_list).enumerate() {
            if pts.is_empty() {
                continue;
            }
            series.push(Series {
                label: format!("{label}: one dot per seed"),
                points: pts.clone(),
                style: Style::Points,
                color,
            });
            series.push(Series::means("mean over the seeds", pts, color));
            if let Some(f) = f {
                series.extend(Series::fit(
                    pts,
                    f,
                    color,
                    "",
                    format!(
                        "fit: slope {:.2} [{:.2}, {:.2}] (shaded: its 95% band)",
                        f.slope, f.ci_low, f.ci_high
                    ),
                ));
            }
        }
        let title = format!(
            "{}: β = {}, α = {}, γ = {}, M = {}, T = {}, readout {}",
            self.base.dataset,
            self.base.beta,
            self.base.alpha,
            self.base.gamma,
            self.base.batch,
            self.base.horizon,
            self.base.readout
        );
        save_chart(
            &self.out.join("chaos"),
            &title,
            "width N",
            "W2 distance",
            &series,
            Axes::LOG_LOG,
        )?;
        let mut widths = self.widths.clone();
        widths.sort_unstable();
        widths.dedup();
        let mut report = format!(
            "# Propagation of chaos: {title}\n\nWidths {:?}, seeds {:?}; reference run `{}`; sliced W2 with {} directions × projection seeds {:?}; coordinate {} of the hidden weights. {} runs, {:.0} s in all (including runs reused from earlier calls).\n\n![chaos](chaos.png)\n\n| distance | slope | 95% interval | points |\n|---|---:|---|---:|\n",
            widths,
            self.seeds,
            result.reference_dir.display(),
            self.projections,
            self.projection_seeds,
            self.coordinate,
            result.runs,
            result.seconds
        );
        for ((label, _), f) in result.series.iter().zip(fit_list) {
            match f {
                Some(f) => report.push_str(&format!(
                    "| {label} | {:.3} | [{:.3}, {:.3}] | {} |\n",
                    f.slope, f.ci_low, f.ci_high, f.points
                )),
                None => report.push_str(&format!("| {label} | – | – | – |\n")),
            }
        }
        report.push_str("\nTheory (docs/paper.md): W2 to the limit shrinks like N^(−1/2). Numbers: `distances.csv`, `fits.json`.\n");
        report.push_str(&tails_section(&result.rows));
        crate::report::write(&self.out, &report, &self.command, &result.failed_runs, "")?;
        Ok(())
    }
}

/// The report's tail section: each run's tail index, and a warning when a W2 is not meaningful.
fn tails_section(rows: &[DistanceRow]) -> String {
    let mut md = String::from(
        "\n## Tails\n\nHill's tail index of the coordinate (k = ⌊√N⌋, centred on the median), W1 and the trimmed W2 (quantiles 0.05 to 0.95) beside the W2 of each pair:\n\n| pair | width | seed | tail index | W2 | W1 | trimmed W2 |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut marked = false;
    for r in rows {
        marked |= !r.w2_meaningful;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.4}{} | {:.4} | {:.4} |\n",
            r.kind,
            r.width,
            r.seed,
            r.tail_index.map_or("–".into(), |t| format!("{t:.2}")),
            r.w2_coordinate,
            if r.w2_meaningful { "" } else { " †" },
            r.w1_coordinate,
            r.trimmed_w2_coordinate
        ));
    }
    if marked {
        md.push_str(&crate::tails::not_meaningful_note(
            "W2",
            "a side's coordinate (centred on its median)",
            "The fitted rate of such a W2 measures nothing; read W1 and the trimmed W2.",
        ));
    }
    md
}
