//! SGD against its diffusion: the paper's step (5), "SGD ≈ the particle system (6) when
//! γ_{α,β}(N) is small", measured.
//!
//! For each β and γ of a grid, at one width N, S runs of SGD and S runs of the diffusion (6)
//! from the same initial particles (one initial-weight seed), run s of each with data seed s.
//! For each (β, γ):
//! - **the law distance** between SGD's and the diffusion's final particles: W2 of one hidden
//!   coordinate across the particles, and sliced W2 of the whole particles, averaged over the S
//!   pairs; beside it the same distances between two runs of one dynamics (seeds s and s + 1),
//!   the run-to-run baseline the gap must exceed to mean anything;
//! - **the between-run spread** of the coordinate's empirical mean (its standard deviation over
//!   the S runs) for each dynamics, and the within-run spread (the coordinate's standard
//!   deviation across the particles, averaged over the runs);
//! - **SGD's cross-particle noise correlation** ([`crate::noise_correlation`]) at the initial
//!   particles and at SGD's final particles (seed 0); for (6) it is zero by construction;
//! - Hill's tail index of the coordinate for both dynamics: below 2, W2 is not meaningful (†).
//!
//! Measure, then render: [`SgdVsDiffusion::measure`] returns the rows,
//! [`SgdVsDiffusion::render`] writes `sgd_vs_diffusion.csv`, the chart and `report.md`.

use crate::grid::{Measured, Runs, or_planned};
use crate::noise_correlation::{NoiseCorrelation, noise_correlation};
use crate::particles::Particles;
use crate::plan::GridMode;
use crate::plot::{Axes, Series, Style, save_chart};
use crate::stats::{mean, sd};
use crate::tails::not_meaningful_note;
use crate::{StudyError, write_rows};
use meanfield_chaos::sliced::{Cloud, sliced_w2};
use meanfield_chaos::tail::tail_index;
use meanfield_chaos::w2_1d;
use meanfield_train::stepper::initial_model;
use meanfield_train::task::Task;
use meanfield_train::{Dynamics, ExampleSet, StopHandle, TrainConfig};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What to run and measure.
#[derive(Debug, Clone)]
pub struct SgdVsDiffusion {
    /// The setting, with the diffusion's drift and noise sets (`dynamics` is set per run; the
    /// SGD runs step on batches of M).
    pub base: TrainConfig,
    pub betas: Vec<f64>,
    pub gammas: Vec<f64>,
    /// The data seeds: one run per dynamics, (β, γ) and data seed.
    pub data_seeds: Vec<u64>,
    /// The hidden coordinate (0: the paper's (1,1)).
    pub coordinate: usize,
    /// Directions of the sliced W2.
    pub projections: usize,
    /// Particles (the first) and training examples (the first) of the noise correlation.
    pub correlation_particles: usize,
    pub correlation_examples: usize,
    pub jobs: usize,
    pub mode: GridMode,
    pub out: PathBuf,
    /// The command line that reproduces the study (its report says it).
    pub command: String,
}

/// One (β, γ) of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct GapRow {
    pub beta: f64,
    pub gamma: f64,
    pub steps: u64,
    /// SGD against the diffusion, mean over the S pairs: W2 of the coordinate, sliced W2.
    pub w2_gap: f64,
    pub sliced_gap: f64,
    /// Between two runs of the same dynamics (seeds s, s + 1), mean over S − 1 pairs.
    pub w2_sgd_runs: Option<f64>,
    pub w2_diffusion_runs: Option<f64>,
    pub sliced_sgd_runs: Option<f64>,
    pub sliced_diffusion_runs: Option<f64>,
    /// Standard deviation over the S runs of the coordinate's mean across the particles.
    pub mean_spread_sgd: Option<f64>,
    pub mean_spread_diffusion: Option<f64>,
    /// The coordinate's standard deviation across the particles, mean over the runs.
    pub within_sd_sgd: f64,
    pub within_sd_diffusion: f64,
    /// Hill's tail index of the coordinate (seed 0) for each dynamics.
    pub tail_sgd: Option<f64>,
    pub tail_diffusion: Option<f64>,
    pub w2_meaningful: bool,
    /// SGD's mean cross-particle noise correlation at its final particles (seed 0), and its
    /// mean absolute value.
    pub correlation_final: f64,
    pub correlation_final_abs: f64,
}

#[derive(Debug, Clone)]
pub struct GapResult {
    pub rows: Vec<GapRow>,
    /// SGD's noise correlation at the initial particles (the same for every γ).
    pub correlation_initial: Option<NoiseCorrelation>,
    pub failed_runs: Vec<String>,
    pub seconds: f64,
}

impl SgdVsDiffusion {
    /// The grid axes the study varies.
    pub const AXES: &[crate::axes::Axis] = &[
        crate::axes::Axis::Betas,
        crate::axes::Axis::Gammas,
        crate::axes::Axis::DataSeeds,
    ];
    /// Their lists unless given: β = 1 (the McKean–Vlasov limit) and 0.75, γ over two decades,
    /// three runs per dynamics.
    pub const DEFAULTS: &[(crate::axes::Axis, &str)] = &[
        (crate::axes::Axis::Betas, "1,0.75"),
        (crate::axes::Axis::Gammas, "1,0.3,0.1,0.03"),
        (crate::axes::Axis::DataSeeds, "0,1,2"),
    ];
    /// Settings the study sets itself in each run, with why (beyond its axes).
    pub const SETS: &[(&str, &str)] = &[(
        "dynamics",
        "the study trains both dynamics, SGD and the diffusion, at every point",
    )];

    /// Run s of `dynamics` at (β, γ).
    pub fn run_config(&self, dynamics: Dynamics, beta: f64, gamma: f64, seed: u64) -> TrainConfig {
        let sets = |set| {
            if dynamics.is_sgd() {
                ExampleSet::Batch
            } else {
                set
            }
        };
        TrainConfig {
            beta,
            gamma,
            dynamics,
            drift_set: sets(self.base.drift_set),
            noise_set: sets(self.base.noise_set),
            init_seed: Some(self.base.init_seed()),
            data_seed: Some(seed),
            out: None,
            runs_dir: self.out.join("runs"),
            ..self.base.clone()
        }
    }

    fn configs(&self) -> Result<Vec<TrainConfig>, StudyError> {
        if self.betas.is_empty() || self.gammas.is_empty() || self.data_seeds.is_empty() {
            return Err(StudyError::Invalid(
                "`betas`, `gammas` and `data_seeds` must each list a value".into(),
            ));
        }
        let mut out = Vec::new();
        for &b in &self.betas {
            for &g in &self.gammas {
                for &s in &self.data_seeds {
                    for d in [Dynamics::Sgd, Dynamics::Diffusion] {
                        let c = self.run_config(d, b, g, s);
                        c.validate()?;
                        out.push(c);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Trains (or reuses) every run and measures the gap.
    pub fn measure(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<GapResult>, StudyError> {
        if let Some(p) = crate::particles::known_input_dim(&self.base) {
            crate::particles::check_coordinate(self.coordinate, p)?;
        }
        let start = Instant::now();
        let configs = self.configs()?;
        crate::folders::prepare_results(&self.out, &self.mode)?;
        let mut runs = or_planned!(Runs::run(&configs, self.jobs, stop, &self.mode, log)?);
        let task = Task::load(&self.base)?;
        let device = burn::tensor::Device::flex();
        let correlation = |hidden: Vec<f32>, readout: Vec<f32>| {
            let net = self.base.net(task.train.dim, task.train.classes);
            let model = net.init_with(&device, hidden, readout)?;
            noise_correlation(
                &model,
                &task.train,
                self.correlation_particles,
                self.correlation_examples,
                &device,
            )
        };
        let initial = initial_model(&self.base, task.train.dim, task.train.classes, &device)?;
        let (h0, r0) = initial.weights_to_vec();
        let correlation_initial = Some(correlation(h0, r0)?);
        let mut rows = Vec::new();
        for &beta in &self.betas {
            for &gamma in &self.gammas {
                let mut load = |d: Dynamics| -> Vec<Option<(Particles, u64)>> {
                    self.data_seeds
                        .iter()
                        .map(|&s| {
                            let c = self.run_config(d, beta, gamma, s);
                            let outcome = runs.get(&c).cloned()?;
                            match Particles::load(outcome.dir()) {
                                Ok(p) => Some((p, outcome.summary().steps)),
                                Err(e) => {
                                    runs.fail(&c, &e);
                                    None
                                }
                            }
                        })
                        .collect()
                };
                let sgd = load(Dynamics::Sgd);
                let diffusion = load(Dynamics::Diffusion);
                if let Some(row) = self.row(beta, gamma, &sgd, &diffusion, &correlation)? {
                    rows.push(row);
                }
            }
        }
        if rows.is_empty() {
            return Err(crate::report::nothing_measured(
                &self.out,
                "# SGD against its diffusion",
                &self.command,
                &runs.failed(),
                configs.len(),
                "no (β, γ) has its first data seed's SGD and diffusion runs both finished",
            ));
        }
        Ok(Measured::Done(GapResult {
            rows,
            correlation_initial,
            failed_runs: runs.failed(),
            seconds: start.elapsed().as_secs_f64(),
        }))
    }

    /// The row of one (β, γ) from the runs that finished (None when a seed-0 pair is missing).
    fn row(
        &self,
        beta: f64,
        gamma: f64,
        sgd: &[Option<(Particles, u64)>],
        diffusion: &[Option<(Particles, u64)>],
        correlation: &dyn Fn(Vec<f32>, Vec<f32>) -> Result<NoiseCorrelation, StudyError>,
    ) -> Result<Option<GapRow>, StudyError> {
        let (Some((s0, steps)), Some(_)) = (&sgd[0], &diffusion[0]) else {
            return Ok(None);
        };
        let j = self.coordinate;
        let coord = |p: &Particles| p.hidden_coordinate(j);
        let sliced = |a: &Particles, b: &Particles| -> Result<f64, StudyError> {
            let (ca, dim) = a.cloud()?;
            let (cb, _) = b.cloud()?;
            Ok(sliced_w2(
                Cloud::new(&ca, dim)?,
                Cloud::new(&cb, dim)?,
                self.projections,
                0,
            )?)
        };
        let (mut w2_gap, mut sliced_gap) = (Vec::new(), Vec::new());
        for (a, b) in sgd.iter().zip(diffusion) {
            if let (Some((a, _)), Some((b, _))) = (a, b) {
                w2_gap.push(w2_1d(&coord(a)?, &coord(b)?)?);
                sliced_gap.push(sliced(a, b)?);
            }
        }
        let between =
            |runs: &[Option<(Particles, u64)>]| -> Result<(Vec<f64>, Vec<f64>), StudyError> {
                let (mut w, mut s) = (Vec::new(), Vec::new());
                for pair in runs.windows(2) {
                    if let (Some((a, _)), Some((b, _))) = (&pair[0], &pair[1]) {
                        w.push(w2_1d(&coord(a)?, &coord(b)?)?);
                        s.push(sliced(a, b)?);
                    }
                }
                Ok((w, s))
            };
        let (w_sgd, s_sgd) = between(sgd)?;
        let (w_diff, s_diff) = between(diffusion)?;
        let stats = |runs: &[Option<(Particles, u64)>]| -> Result<_, StudyError> {
            let coords: Vec<Vec<f64>> = runs
                .iter()
                .flatten()
                .map(|(p, _)| coord(p))
                .collect::<Result<_, _>>()?;
            let means: Vec<f64> = coords.iter().filter_map(|c| mean(c)).collect();
            let within: Vec<f64> = coords.iter().filter_map(|c| sd(c, 1)).collect();
            Ok((sd(&means, 1), mean(&within).unwrap_or(f64::NAN)))
        };
        let (spread_sgd, within_sgd) = stats(sgd)?;
        let (spread_diff, within_diff) = stats(diffusion)?;
        let tail = |runs: &[Option<(Particles, u64)>]| {
            runs[0]
                .as_ref()
                .and_then(|(p, _)| tail_index(&coord(p).ok()?, None).ok())
        };
        let (t_sgd, t_diff) = (tail(sgd), tail(diffusion));
        let meaningful = [&t_sgd, &t_diff]
            .iter()
            .all(|t| t.as_ref().is_none_or(|t| t.verdict.w2_meaningful()));
        let corr = correlation(s0.hidden.clone(), s0.readout.clone())?;
        Ok(Some(GapRow {
            beta,
            gamma,
            steps: *steps,
            w2_gap: mean(&w2_gap).unwrap_or(f64::NAN),
            sliced_gap: mean(&sliced_gap).unwrap_or(f64::NAN),
            w2_sgd_runs: mean(&w_sgd),
            w2_diffusion_runs: mean(&w_diff),
            sliced_sgd_runs: mean(&s_sgd),
            sliced_diffusion_runs: mean(&s_diff),
            mean_spread_sgd: spread_sgd,
            mean_spread_diffusion: spread_diff,
            within_sd_sgd: within_sgd,
            within_sd_diffusion: within_diff,
            tail_sgd: t_sgd.map(|t| t.hill.index),
            tail_diffusion: t_diff.map(|t| t.hill.index),
            w2_meaningful: meaningful,
            correlation_final: corr.mean,
            correlation_final_abs: corr.mean_abs,
        }))
    }

    /// Writes the table, the chart and the report.
    pub fn render(&self, r: &GapResult) -> Result<(), StudyError> {
        write_rows(&self.out.join("sgd_vs_diffusion.csv"), &r.rows)?;
        let mut series = Vec::new();
        for (i, &beta) in self.betas.iter().enumerate() {
            let pick = |f: &dyn Fn(&GapRow) -> Option<f64>| -> Vec<(f64, f64)> {
                let mut v: Vec<(f64, f64)> = r
                    .rows
                    .iter()
                    .filter(|x| x.beta == beta)
                    .filter_map(|x| f(x).map(|y| (x.gamma, y)))
                    .filter(|(_, y)| *y > 0.0 && y.is_finite())
                    .collect();
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
                v
            };
            let gap = pick(&|x| Some(x.sliced_gap));
            series.push(Series {
                label: String::new(),
                points: gap.clone(),
                style: Style::Line,
                color: 2 * i % 6,
            });
            series.push(Series {
                label: format!("β = {beta}: sliced W2, SGD vs diffusion"),
                points: gap,
                style: Style::Points,
                color: 2 * i % 6,
            });
            series.push(Series {
                label: format!("β = {beta}: sliced W2, SGD run vs SGD run"),
                points: pick(&|x| x.sliced_sgd_runs),
                style: Style::Dashed,
                color: 2 * i % 6,
            });
            series.push(Series {
                label: format!("β = {beta}: sliced W2, diffusion run vs diffusion run"),
                points: pick(&|x| x.sliced_diffusion_runs),
                style: Style::Dashed,
                color: (2 * i + 1) % 6,
            });
        }
        if r.rows.len() >= 2 {
            save_chart(
                &self.out.join("sgd_vs_diffusion"),
                &format!("SGD against the diffusion (6): {}", self.setting()),
                "γ",
                "sliced W2 between final particle laws",
                &series,
                Axes::LOG_LOG,
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

    fn setting(&self) -> String {
        let b = &self.base;
        format!(
            "{}, N = {}, M = {}, T = {}, α = {}, readout {}",
            b.dataset, b.width, b.batch, b.horizon, b.alpha, b.readout
        )
    }

    fn report(&self, r: &GapResult) -> String {
        let opt = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.4}"));
        let mut md = format!(
            "# SGD against its diffusion (the paper's step (5)): {}\n\n\
             At each β and γ, {} runs of SGD and {} of the particle diffusion (6) (drift over {}, noise covariance Σ/M over {}), all from the same initial particles (initial-weight seed {}); run s of each dynamics has data seed s (data seeds {:?}). {} (β, γ) measured, {:.0} s in all (runs reused from earlier calls included).\n\n\
             ![SGD against the diffusion](sgd_vs_diffusion.png)\n\n\
             Law distances between final particles: W2 of hidden coordinate ({}, 1), and sliced W2 of the whole particles ({} directions), SGD run s against diffusion run s, mean over the pairs; \"runs\" columns: two runs of one dynamics (consecutive data seeds), the baseline. Spread: standard deviation over the runs of the coordinate's mean across the particles (between runs), and the coordinate's standard deviation across the particles (within a run). ρ: SGD's mean cross-particle noise correlation at its final particles (|ρ| its mean absolute value); the diffusion's is 0 by construction.\n\n\
             | β | γ | steps | W2 gap | W2 SGD runs | W2 diffusion runs | sliced gap | sliced SGD runs | sliced diffusion runs | mean spread SGD | mean spread diffusion | within sd SGD | within sd diffusion | tail SGD | tail diffusion | ρ | |ρ| |\n|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            self.setting(),
            self.data_seeds.len(),
            self.data_seeds.len(),
            self.base.drift_set,
            self.base.noise_set,
            self.base.init_seed(),
            self.data_seeds,
            r.rows.len(),
            r.seconds,
            self.coordinate + 1,
            self.projections,
        );
        for x in &r.rows {
            md.push_str(&format!(
                "| {} | {} | {} | {:.4}{} | {} | {} | {:.4} | {} | {} | {} | {} | {:.4} | {:.4} | {} | {} | {:.3} | {:.3} |\n",
                x.beta,
                x.gamma,
                x.steps,
                x.w2_gap,
                if x.w2_meaningful { "" } else { " †" },
                opt(x.w2_sgd_runs),
                opt(x.w2_diffusion_runs),
                x.sliced_gap,
                opt(x.sliced_sgd_runs),
                opt(x.sliced_diffusion_runs),
                opt(x.mean_spread_sgd),
                opt(x.mean_spread_diffusion),
                x.within_sd_sgd,
                x.within_sd_diffusion,
                x.tail_sgd.map_or("–".into(), |t| format!("{t:.2}")),
                x.tail_diffusion.map_or("–".into(), |t| format!("{t:.2}")),
                x.correlation_final,
                x.correlation_final_abs,
            ));
        }
        if r.rows.iter().any(|x| !x.w2_meaningful) {
            md.push_str(&not_meaningful_note(
                "W2",
                "the coordinate across the particles (SGD's or the diffusion's)",
                "Read the sliced W2 with the same caution, and the tail indices themselves.",
            ));
        }
        if let Some(c) = &r.correlation_initial {
            md.push_str(&format!(
                "\nSGD's noise correlation at the initial particles: ρ = {:.3}, |ρ| = {:.3} (first {} particles, {} examples).\n",
                c.mean, c.mean_abs, c.particles, c.examples
            ));
        }
        md.push_str("\nReading it: where the gap is no larger than the run-to-run baselines, SGD and the diffusion have the same law at this N as far as S runs can tell, and step (5) holds; where it is larger, SGD's shared batch (ρ ≠ 0) or the discretisation matters. Theorem 2's limit has a diffusion only through the noise's covariance, which both share.\n");
        md.push_str("\nNumbers: `sgd_vs_diffusion.csv`. The dynamics: docs/diffusion.md.\n");
        md
    }
}
