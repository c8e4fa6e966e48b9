//! The synchronous-coupling study: Theorems 1 and 2 measured. Every run starts from the same
//! initial particles (one initial-weight seed; particle k depends only on it and k), so particle
//! k of a width-N run and particle k of a wide reference run are coupled, and
//!
//!   D(N) = mean_{k<N} max_j |W^{k,N}_{t_j} − W^{k,N_ref}_{t_j}|²
//!
//! over the snapshot times t_j = jT/K (`meanfield_chaos::coupling_distance`) is the theorems'
//! E sup_t |W^{k,N}_t − W^{k,*}_t|², with the reference standing in for the limit.
//!
//! - **Independent noise** (default): the reference and each width draw their own batches
//!   (data seeds 0..S per width; the reference its own). Theorem 1 (β < 1) bounds D by
//!   C (N^{−(1−β)/(1−α)}/M + 1/N).
//! - **Shared noise** (`shared_batches`): one data seed for all. At β = 1 every width takes the
//!   same steps on the same time grid with the same batches, which isolates the interaction
//!   term; Theorem 2 bounds it by C/N.
//! - **Batch size** (`batches`): D against M at one width, against the same reference.
//! - **The reference's own share**: D between a run at N_ref/2 and the reference.
//!
//! [`CouplingStudy::measure`] trains (or reuses) the runs and returns the numbers;
//! [`CouplingStudy::render`] writes `coupling.csv`, `sup.csv`, `fits.json`, the plots and
//! `report.md`.

use crate::grid::Runs;
use crate::plan::GridMode;
use crate::plot::{Axes, Series, Style, save_chart};
use crate::{StudyError, write_file, write_rows};
use meanfield_chaos::sliced::concat_columns;
use meanfield_chaos::two_term::Term;
use meanfield_chaos::{RateFit, TwoTermFit, WidthRuns, coupling_distance, fit_rate, fit_two_terms};
use meanfield_model::Readout;
use meanfield_train::snapshot::{self, Snapshots};
use meanfield_train::{Dynamics, StopHandle, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The data seed of the reference run (the widths use 0..S); far from them so they never meet.
pub const REFERENCE_DATA_SEED: u64 = 1_000_000;

/// What to run and measure.
#[derive(Debug, Clone)]
pub struct CouplingStudy {
    /// The setting; width, batch, data seed and snapshots are set per run. Its initial-weight
    /// seed (`init_seed`, else `seed`) is shared by every run.
    pub base: TrainConfig,
    pub widths: Vec<usize>,
    /// N_ref, the run that stands for the limit.
    pub reference_width: usize,
    /// S, data seeds per width (1 with shared batches).
    pub seeds: u64,
    pub shared_batches: bool,
    /// Batch sizes for the D-against-M sweep (empty: no sweep).
    pub batches: Vec<usize>,
    /// The width of the batch sweep (default: the largest of `widths`).
    pub batch_width: Option<usize>,
    /// K: snapshots at t_j = jT/K, j = 0..K.
    pub snapshots: u64,
    pub jobs: usize,
    /// Train, write the runs as jobs, or assemble from finished runs only.
    pub mode: GridMode,
    pub out: PathBuf,
}

/// Which part of the study a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    Width,
    Batch,
    ReferenceShare,
}

/// D at one snapshot time for one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeRow {
    pub part: Part,
    pub width: usize,
    pub batch: usize,
    pub seed: u64,
    pub time: f64,
    pub d: f64,
}

/// D (the sup over the grid) for one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SupRow {
    pub part: Part,
    pub width: usize,
    pub batch: usize,
    pub seed: u64,
    pub d: f64,
    pub particles: usize,
    /// Hill's tail index of the particles' sup displacements, and whether D can converge
    /// (the index interval lies above 2).
    #[serde(default)]
    pub tail_index: Option<f64>,
    #[serde(default = "yes")]
    pub d_meaningful: bool,
    /// Each particle's max_j |Δ_k(t_j)|² (their mean is `d`); kept for the bootstrap, not
    /// written.
    #[serde(skip)]
    pub per_particle: Vec<f64>,
}

fn yes() -> bool {
    true
}

/// A measured exponent next to the theorem's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExponentFit {
    /// Log-log least squares over every (x, D) point, with its 95% interval.
    pub fit: Option<RateFit>,
    /// The exponents the theorem's terms predict for this axis.
    pub predicted: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CouplingFits {
    pub width: ExponentFit,
    pub batch: Option<ExponentFit>,
    /// D between N_ref/2 and N_ref, and the smallest width's mean D, for scale.
    pub reference_share: Option<f64>,
    pub smallest_width_d: Option<f64>,
    /// The slope of D(t) = mean_k |W^{k,N}_t − W^{k,N_ref}_t|² against N at each snapshot time
    /// t > 0 (the sup over t is the theorems' quantity; a slope that fades with t shows a
    /// constant C that grows with the horizon).
    #[serde(default)]
    pub per_time: Vec<(f64, Option<RateFit>)>,
    /// D(N) = a N^{−(1−β)/(1−α)}/M + b/N fitted with bootstrap intervals, after the
    /// reference's share ([`meanfield_chaos::two_term`]); `None` with fewer than two widths.
    #[serde(default)]
    pub two_term: Option<TwoTermFit>,
}

#[derive(Debug, Clone)]
pub struct CouplingResult {
    pub times: Vec<TimeRow>,
    pub sups: Vec<SupRow>,
    pub fits: CouplingFits,
    /// Distinct runs (a batch-sweep point at the base M is the width run itself).
    pub runs: usize,
    pub failed_runs: Vec<String>,
    pub seconds: f64,
}

impl CouplingStudy {
    fn data_seeds(&self) -> Vec<u64> {
        if self.shared_batches {
            vec![REFERENCE_DATA_SEED]
        } else {
            (0..self.seeds.max(1)).collect()
        }
    }

    /// The run at (`width`, `batch`, data seed `seed`), keeping `rows` particles per snapshot.
    pub fn run_config(&self, width: usize, batch: usize, seed: u64, rows: usize) -> TrainConfig {
        TrainConfig {
            width,
            batch,
            init_seed: Some(self.base.init_seed()),
            data_seed: Some(seed),
            snapshots: Some(self.snapshots),
            snapshot_rows: Some(rows.min(width)),
            out: None,
            runs_dir: self.out.join("runs"),
            ..self.base.clone()
        }
    }

    /// Every run of the study with its part: (part, config).
    pub fn plan(&self) -> Result<Vec<(Part, TrainConfig)>, StudyError> {
        let mut widths = self.widths.clone();
        widths.sort_unstable();
        widths.dedup();
        let Some(&largest) = widths.last() else {
            return Err(StudyError::Invalid(
                "--widths must list at least one width".into(),
            ));
        };
        if self.reference_width <= largest {
            return Err(StudyError::Invalid(format!(
                "the reference width {} must exceed the largest width {largest}: it stands for the limit",
                self.reference_width
            )));
        }
        if self.snapshots == 0 {
            return Err(StudyError::Invalid("--snapshots K must be ≥ 1".into()));
        }
        let batch_width = self.batch_width.unwrap_or(largest);
        let rows = largest.max(batch_width).max(self.reference_width / 2);
        let m = self.base.batch;
        let mut plan = vec![(
            Part::Width,
            self.run_config(self.reference_width, m, REFERENCE_DATA_SEED, rows),
        )];
        for &seed in &self.data_seeds() {
            for &width in &widths {
                plan.push((Part::Width, self.run_config(width, m, seed, width)));
            }
            for &batch in &self.batches {
                plan.push((
                    Part::Batch,
                    self.run_config(batch_width, batch, seed, batch_width),
                ));
            }
        }
        let share_seed = if self.shared_batches {
            REFERENCE_DATA_SEED
        } else {
            REFERENCE_DATA_SEED + 1
        };
        let half = self.reference_width / 2;
        plan.push((
            Part::ReferenceShare,
            self.run_config(half, m, share_seed, half),
        ));
        Ok(plan)
    }

    /// Trains (or reuses) the runs and measures D for each against the reference.
    pub fn measure(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<CouplingResult, StudyError> {
        let start = Instant::now();
        let plan = self.plan()?;
        crate::create_dir(&self.out)?;
        let configs: Vec<TrainConfig> = plan.iter().map(|(_, c)| c.clone()).collect();
        let mut runs = Runs::run(&configs, self.jobs, stop, &self.mode, log)?;
        let reference = &plan[0].1;
        let reference_dir = runs
            .get(reference)
            .map(|o| o.dir().to_path_buf())
            .ok_or_else(|| {
                StudyError::Invalid(format!(
                    "the reference run failed: {}",
                    runs.failed().join("; ")
                ))
            })?;
        let reference = trajectory(&reference_dir, reference.readout)?;
        let (mut times, mut sups) = (Vec::new(), Vec::new());
        for (part, c) in &plan[1..] {
            let Some(dir) = runs.get(c).map(|o| o.dir().to_path_buf()) else {
                continue;
            };
            let run = match trajectory(&dir, c.readout) {
                Ok(t) => t,
                Err(e) => {
                    runs.fail(c, &e);
                    continue;
                }
            };
            let d = coupling_distance(&run.particles, &reference.particles, run.dim)?;
            for (point, value) in run.points.iter().zip(&d.per_time) {
                times.push(TimeRow {
                    part: *part,
                    width: c.width,
                    batch: c.batch,
                    seed: c.data_seed(),
                    time: point.time,
                    d: *value,
                });
            }
            sups.push(SupRow {
                part: *part,
                width: c.width,
                batch: c.batch,
                seed: c.data_seed(),
                d: d.sup,
                particles: d.particles,
                tail_index: d.tail.map(|t| t.index),
                d_meaningful: d.d_meaningful(),
                per_particle: d.per_particle,
            });
        }
        let fits = self.fit(&sups, &times);
        Ok(CouplingResult {
            times,
            sups,
            fits,
            runs: configs
                .iter()
                .map(meanfield_train::run_dir::run_dir)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            failed_runs: runs.failed(),
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The theorem's exponents in N for this setting.
    pub fn predicted_width_exponents(&self) -> Vec<(String, f64)> {
        let (a, b) = (self.base.alpha, self.base.beta);
        // The diffusion's noise follows the data seed, as SGD's batches do: with shared noise
        // every width has the same Brownian motions (and drift sets), Theorem 2's coupling.
        if self.base.dynamics == Dynamics::Diffusion && b >= 1.0 {
            return if self.shared_batches {
                vec![("Theorem 2 on the particle system (6): C/N".into(), -1.0)]
            } else {
                vec![(
                    "diffusion with independent noise: each run its own Brownian motions, no decay"
                        .into(),
                    0.0,
                )]
            };
        }
        if b >= 1.0 && !self.shared_batches {
            vec![(
                "Theorem 2 with independent noise: each run has its own limit, no decay".into(),
                0.0,
            )]
        } else if b < 1.0 {
            vec![
                (
                    "Theorem 1 noise term N^-(1-β)/(1-α) / M".into(),
                    -(1.0 - b) / (1.0 - a),
                ),
                ("Theorem 1 interaction term 1/N".into(), -1.0),
            ]
        } else {
            vec![("Theorem 2, same noise: C/N".into(), -1.0)]
        }
    }

    fn fit(&self, sups: &[SupRow], times: &[TimeRow]) -> CouplingFits {
        let mut snapshot_times: Vec<f64> = times
            .iter()
            .filter(|t| t.part == Part::Width && t.time > 0.0)
            .map(|t| t.time)
            .collect();
        snapshot_times.sort_by(f64::total_cmp);
        snapshot_times.dedup();
        let per_time = snapshot_times
            .into_iter()
            .map(|time| {
                let pts: Vec<(f64, f64)> = times
                    .iter()
                    .filter(|t| t.part == Part::Width && t.time == time)
                    .map(|t| (t.width as f64, t.d))
                    .collect();
                (time, fit_rate(&pts).ok())
            })
            .collect();
        let points = |part: Part, x: fn(&SupRow) -> f64| -> Vec<(f64, f64)> {
            sups.iter()
                .filter(|r| r.part == part)
                .map(|r| (x(r), r.d))
                .collect()
        };
        let width_points = points(Part::Width, |r| r.width as f64);
        let batch_points = points(Part::Batch, |r| r.batch as f64);
        let smallest = self.widths.iter().min().copied();
        let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let reference_share = mean(
            sups.iter()
                .filter(|r| r.part == Part::ReferenceShare)
                .map(|r| r.d)
                .collect(),
        );
        let mut widths = self.widths.clone();
        widths.sort_unstable();
        widths.dedup();
        let width_runs: Vec<WidthRuns> = widths
            .iter()
            .map(|&w| WidthRuns {
                width: w,
                runs: sups
                    .iter()
                    .filter(|r| r.part == Part::Width && r.width == w)
                    .map(|r| r.per_particle.clone())
                    .collect(),
            })
            .collect();
        let (a, b) = (self.base.alpha, self.base.beta);
        let exponent = if b < 1.0 { (1.0 - b) / (1.0 - a) } else { 0.0 };
        let two_term = fit_two_terms(
            &width_runs,
            exponent,
            self.base.batch,
            reference_share,
            1000,
            0,
        )
        .ok();
        CouplingFits {
            width: ExponentFit {
                fit: fit_rate(&width_points).ok(),
                predicted: self.predicted_width_exponents(),
            },
            batch: (!self.batches.is_empty()).then(|| ExponentFit {
                fit: fit_rate(&batch_points).ok(),
                predicted: vec![("Theorem 1 noise term ∝ 1/M".into(), -1.0)],
            }),
            reference_share,
            smallest_width_d: mean(
                sups.iter()
                    .filter(|r| r.part == Part::Width && Some(r.width) == smallest)
                    .map(|r| r.d)
                    .collect(),
            ),
            per_time,
            two_term,
        }
    }

    /// Trains and measures, then writes the study folder.
    pub fn run(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<CouplingResult, StudyError> {
        let result = self.measure(stop, log)?;
        self.render(&result)?;
        Ok(result)
    }

    /// Writes `coupling.csv` (D at each time), `sup.csv` (D), `fits.json`, `coupling_width.png`
    /// (log-log D against N with the theorem's slopes), `coupling_time.png` (D(t) per width),
    /// `coupling_batch.png` (with a batch sweep) and `report.md`.
    pub fn render(&self, r: &CouplingResult) -> Result<(), StudyError> {
        crate::create_dir(&self.out)?;
        write_rows(&self.out.join("coupling.csv"), &r.times)?;
        write_rows(&self.out.join("sup.csv"), &r.sups)?;
        write_file(
            &self.out.join("fits.json"),
            serde_json::to_string_pretty(&r.fits)
                .expect("serialises")
                .as_bytes(),
        )?;
        let title = self.short_title();
        let width_pts: Vec<(f64, f64)> = r
            .sups
            .iter()
            .filter(|s| s.part == Part::Width)
            .map(|s| (s.width as f64, s.d))
            .collect();
        save_chart(
            &self.out.join("coupling_width"),
            &format!("D(N) against N: {title}"),
            "width N",
            "D = mean_k max_t |W_k(N) − W_k(N_ref)|²",
            &with_slopes(&width_pts, &r.fits.width),
            Axes::LOG_LOG,
        )?;
        let mut by_width: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
        for t in r
            .times
            .iter()
            .filter(|t| t.part == Part::Width && t.d > 0.0)
        {
            by_width.entry(t.width).or_default().push((t.time, t.d));
        }
        let series: Vec<Series> = by_width
            .into_iter()
            .enumerate()
            .map(|(i, (w, pts))| Series {
                label: format!("N = {w}"),
                points: pts,
                style: Style::Points,
                color: i,
            })
            .collect();
        save_chart(
            &self.out.join("coupling_time"),
            &format!("D(t) along the trajectory: {title}"),
            "time t",
            "mean_k |W_k(N, t) − W_k(N_ref, t)|²",
            &series,
            Axes::LOG_LOG,
        )?;
        if let Some(batch) = &r.fits.batch {
            let pts: Vec<(f64, f64)> = r
                .sups
                .iter()
                .filter(|s| s.part == Part::Batch)
                .map(|s| (s.batch as f64, s.d))
                .collect();
            save_chart(
                &self.out.join("coupling_batch"),
                &format!("D against the batch size M: {title}"),
                "batch size M",
                "D",
                &with_slopes(&pts, batch),
                Axes::LOG_LOG,
            )?;
        }
        write_file(&self.out.join("report.md"), self.report(r).as_bytes())
    }

    /// The setting in a few words, for plot titles.
    fn short_title(&self) -> String {
        format!(
            "{}β = {}, {} noise, N_ref = {}",
            self.dynamics_words(),
            self.base.beta,
            if self.shared_batches {
                "shared"
            } else {
                "independent"
            },
            self.reference_width
        )
    }

    /// "" for SGD; the diffusion and its sets otherwise.
    fn dynamics_words(&self) -> String {
        match self.base.dynamics {
            Dynamics::Sgd => String::new(),
            Dynamics::Diffusion => format!(
                "diffusion (6) (drift {}, noise {}), ",
                self.base.drift_set, self.base.noise_set
            ),
        }
    }

    fn title(&self) -> String {
        let b = &self.base;
        format!(
            "{}{}, β = {}, α = {}, γ = {}, M = {}, T = {}, readout {}, {} noise",
            self.dynamics_words(),
            b.dataset,
            b.beta,
            b.alpha,
            b.gamma,
            b.batch,
            b.horizon,
            b.readout,
            if self.shared_batches {
                "shared"
            } else {
                "independent"
            }
        )
    }

    fn report(&self, r: &CouplingResult) -> String {
        let mut md = format!(
            "# Synchronous coupling: {}\n\nWidths {:?} against the reference N_ref = {}; {} data seed(s) per width; {} snapshots (t_j = jT/K, K = {}); initial-weight seed {}. {} runs, {:.0} s in all (including runs reused from earlier calls).\n\n\
             D(N) = mean over the particles k < N of max_j |W^{{k,N}}_{{t_j}} − W^{{k,N_ref}}_{{t_j}}|² (hidden row, and readout row when trained).\n\n\
             ![D against N](coupling_width.png)\n\n![D along the trajectory](coupling_time.png)\n\n",
            self.title(),
            self.widths,
            self.reference_width,
            self.data_seeds().len(),
            self.snapshots + 1,
            self.snapshots,
            self.base.init_seed(),
            r.runs,
            r.seconds
        );
        md.push_str("| N | runs | mean D | min D | max D | tail index of the displacements |\n|---:|---:|---:|---:|---:|---|\n");
        let mut by: BTreeMap<(Part, usize, usize), Vec<&SupRow>> = BTreeMap::new();
        for s in &r.sups {
            by.entry((s.part, s.width, s.batch)).or_default().push(s);
        }
        let mut marked = false;
        for ((_, width, _), v) in by.iter().filter(|((p, _, _), _)| *p == Part::Width) {
            let d: Vec<f64> = v.iter().map(|s| s.d).collect();
            let heavy = v.iter().any(|s| !s.d_meaningful);
            marked |= heavy;
            let tails: Vec<String> = v
                .iter()
                .map(|s| s.tail_index.map_or("–".into(), |t| format!("{t:.2}")))
                .collect();
            md.push_str(&format!(
                "| {width} | {} | {:.4e}{} | {:.4e} | {:.4e} | {} |\n",
                v.len(),
                d.iter().sum::<f64>() / d.len() as f64,
                if heavy { " †" } else { "" },
                d.iter().copied().fold(f64::INFINITY, f64::min),
                d.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                tails.join(", ")
            ));
        }
        if marked {
            md.push_str(&crate::tails::not_meaningful_note(
                "D",
                "the particles' sup displacements max_j |Δ_k(t_j)|",
                "The fitted exponent below does not test the theorems there.",
            ));
        }
        md.push_str("\n## Exponents\n\n| axis | measured slope | 95% interval | points | theorem |\n|---|---:|---|---:|---|\n");
        let mut row = |axis: &str, e: &ExponentFit| {
            let theory = e
                .predicted
                .iter()
                .map(|(what, s)| format!("{s:.3} ({what})"))
                .collect::<Vec<_>>()
                .join("; ");
            match &e.fit {
                Some(f) => md.push_str(&format!(
                    "| {axis} | {:.3} | [{:.3}, {:.3}] | {} | {theory} |\n",
                    f.slope, f.ci_low, f.ci_high, f.points
                )),
                None => md.push_str(&format!("| {axis} | – | – | – | {theory} |\n")),
            }
        };
        row("N", &r.fits.width);
        if let Some(b) = &r.fits.batch {
            row("M", b);
        }
        if let (Some(share), Some(small)) = (r.fits.reference_share, r.fits.smallest_width_d) {
            md.push_str(&format!(
                "\nThe reference's own share: D between N_ref/2 = {} and N_ref is {share:.4e}, against {small:.4e} at the smallest width: widths whose D is not well above it measure the reference as much as themselves.\n",
                self.reference_width / 2
            ));
        }
        if let Some(f) = &r.fits.two_term {
            md.push_str(&format!(
                "\n## In the theorem's own form\n\nD(N) = a·N^(−{e:.3})/M + b/N with a, b ≥ 0 (M = {m}; {first}), fitted by non-negative least squares on relative residuals after subtracting the reference's own share D(N_ref/2, N_ref)/3 = {c:.4e} (the share under independent errors and 1/N near N_ref){left}. 95% intervals: percentiles of {reps} bootstrap replicates resampling runs and, within each, particles (particles interact, so the intervals are somewhat optimistic; `meanfield_chaos::two_term`).\n\n- a = {a:.4e} [{al:.4e}, {ah:.4e}]\n- b = {b:.4e} [{bl:.4e}, {bh:.4e}]\n\n| N | D − correction | a·N^(−e)/M | b/N | larger term |\n|---:|---:|---:|---:|---|\n",
                e = f.noise_exponent,
                m = f.batch,
                first = if f.noise_exponent == 0.0 {
                    "at β = 1 the first term is an N-independent part"
                } else {
                    "the first term is Theorem 1's noise term"
                },
                c = f.reference_correction,
                left = if f.widths_left_out > 0 {
                    format!("; {} width(s) whose D is at or below it are left out", f.widths_left_out)
                } else {
                    String::new()
                },
                reps = f.replicates,
                a = f.a,
                al = f.a_ci.0,
                ah = f.a_ci.1,
                b = f.b,
                bl = f.b_ci.0,
                bh = f.b_ci.1,
            ));
            for w in &f.per_width {
                md.push_str(&format!(
                    "| {} | {:.4e} | {:.4e} | {:.4e} | {} |\n",
                    w.width,
                    w.d,
                    w.noise,
                    w.interaction,
                    match w.dominant {
                        Term::Noise if f.noise_exponent == 0.0 => "N-independent",
                        Term::Noise => "noise",
                        Term::Interaction => "interaction (1/N)",
                    }
                ));
            }
        }
        if !r.fits.per_time.is_empty() {
            md.push_str("\n## The slope at each time\n\nD(t) against N at each snapshot time (log-log least squares over every run). The theorems bound the sup over t by C/N (or their two terms); C grows with the horizon, so a slope near the theorem's at early times that fades later says the constant, not the rate, dominates there.\n\n| t | slope | 95% interval | points |\n|---:|---:|---|---:|\n");
            for (t, fit) in &r.fits.per_time {
                match fit {
                    Some(f) => md.push_str(&format!(
                        "| {t} | {:.3} | [{:.3}, {:.3}] | {} |\n",
                        f.slope, f.ci_low, f.ci_high, f.points
                    )),
                    None => md.push_str(&format!("| {t} | – | – | – |\n")),
                }
            }
        }
        if !r.failed_runs.is_empty() {
            md.push_str(&format!(
                "\n## Failed runs (left out)\n\n- {}\n",
                r.failed_runs.join("\n- ")
            ));
        }
        md.push_str(
            "\nNumbers: `coupling.csv` (D at each time), `sup.csv` (D per run), `fits.json`. Theory: docs/paper.md, \"The two limits\".\n",
        );
        md
    }
}

/// A run's snapshots as particle matrices (hidden rows, with the readout rows appended when the
/// readout was trained).
struct Trajectory {
    points: Vec<snapshot::SnapshotPoint>,
    particles: Vec<Vec<f32>>,
    dim: usize,
}

fn trajectory(dir: &Path, readout: Readout) -> Result<Trajectory, StudyError> {
    let Snapshots {
        points,
        hidden,
        readout: readouts,
        input_dim,
        classes,
    } = snapshot::load(dir)?;
    if readout == Readout::Trainable {
        let particles = hidden
            .iter()
            .zip(&readouts)
            .map(|(h, r)| concat_columns(h, input_dim, r, classes))
            .collect::<Result<_, _>>()?;
        Ok(Trajectory {
            points,
            particles,
            dim: input_dim + classes,
        })
    } else {
        Ok(Trajectory {
            points,
            particles: hidden,
            dim: input_dim,
        })
    }
}

/// The runs (one dot per seed), their mean at each x, the fitted line with its 95% band, and
/// the theorem's slopes (dashed) anchored at the fitted line's value at the smallest x, each
/// named in the legend.
fn with_slopes(points: &[(f64, f64)], e: &ExponentFit) -> Vec<Series> {
    let mut series = vec![
        Series {
            label: "runs (one per data seed)".into(),
            points: points.to_vec(),
            style: Style::Points,
            color: 0,
        },
        Series::means("mean over the seeds", points, 0),
    ];
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let (Some(lo), Some(hi)) = (
        xs.iter().copied().reduce(f64::min),
        xs.iter().copied().reduce(f64::max),
    ) else {
        return series;
    };
    if let Some(f) = &e.fit {
        let at = |x: f64| (f.intercept + f.slope * x.ln()).exp();
        let grid: Vec<f64> = (0..=20)
            .map(|i| lo * (hi / lo).powf(i as f64 / 20.0))
            .collect();
        let band = meanfield_chaos::confidence_band(points, f, &grid);
        if !band.is_empty() {
            series.push(Series::band("95% band of the fit", &band, 0));
        }
        series.push(Series {
            label: format!(
                "fit: slope {:.2} [{:.2}, {:.2}]",
                f.slope, f.ci_low, f.ci_high
            ),
            points: vec![(lo, at(lo)), (hi, at(hi))],
            style: Style::Line,
            color: 0,
        });
        for (i, (what, s)) in e.predicted.iter().enumerate() {
            let y0 = at(lo);
            series.push(Series {
                label: format!("slope {s:.2}: {what} (through the fit at {lo})"),
                points: vec![(lo, y0), (hi, y0 * (hi / lo).powf(*s))],
                style: Style::Dashed,
                color: i + 2,
            });
        }
    }
    series
}
