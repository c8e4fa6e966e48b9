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
//! - **Shared noise** (`shared_noise`): the widths and the reference on one data seed. At β = 1
//!   every width takes the same steps on the same time grid with the same batches (the same
//!   Brownian motions for the diffusion), which isolates the interaction term; Theorem 2 bounds
//!   it by C/N. With several data seeds each is a replicate family: its widths against its
//!   own reference on that seed's noise.
//! - **Batch size** (`batches`): D against M at one width, against the same reference.
//! - **The reference's own share**: D between a run at N_ref/2 and the reference.
//!
//! [`CouplingStudy::measure`] trains (or reuses) the runs and returns the numbers;
//! [`CouplingStudy::render`] writes `coupling.csv`, `sup.csv`, `fits.json`, the plots and
//! `report.md`.

use crate::StudyError;
use crate::grid::{Measured, Runs, or_planned};
use crate::plan::GridMode;
use meanfield_chaos::sliced::concat_columns;
use meanfield_chaos::{
    RateFit, ReplicateInterval, TwoTermFit, WidthRuns, corrected_rate, coupling_distance, fit_rate,
    fit_two_terms, replicate_interval, theorem1_noise_exponent,
};
use meanfield_model::Readout;
use meanfield_train::snapshot::{self, Snapshots};
use meanfield_train::{Dynamics, StopHandle, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The data seed of the one reference run with independent noise (the widths use 0..S by
/// default, far from it), and of every run with shared noise unless data seeds are given.
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
    /// The data seeds of the widths' runs (their batches and noise; the initial particles are
    /// shared); `None`: 0 and 1 with independent noise, [`REFERENCE_DATA_SEED`] with shared
    /// noise.
    pub data_seeds: Option<Vec<u64>>,
    /// Each width on its reference's noise (the same batches for SGD, the same Brownian motions
    /// for the diffusion): one reference per data seed, each seed a replicate family.
    pub shared_noise: bool,
    /// Batch sizes for the D-against-M sweep (empty: no sweep).
    pub batch_sweep: Vec<usize>,
    /// The width of the batch sweep (default: the largest of `widths`).
    pub batch_sweep_width: Option<usize>,
    /// The command line that reproduces the study (its report says it).
    pub command: String,
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
    /// A run that stands for the limit (one, or one per family with shared noise); the others
    /// are measured against it.
    Reference,
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
    /// The slope in N of D − the reference's own error ([`reference_correction`]), over the
    /// runs whose D lies above it: how much the finite reference moves the slope.
    #[serde(default)]
    pub width_corrected: Option<RateFit>,
    /// With two or more data seeds, each seed's runs across the widths are one replicate family
    /// (independent noise: one batch sequence per width, against the one reference; shared
    /// noise: the widths on the seed's noise against a reference on it too): the slope of each
    /// family, and their mean with its interval across families.
    #[serde(default)]
    pub families: Option<ReplicateInterval>,
    /// The data seed of each family, in the order of `families`' values.
    #[serde(default)]
    pub family_seeds: Vec<u64>,
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
    /// The preset its setting starts from unless another is named.
    pub const PRESET: &str = "chaos-quick";
    /// K, the snapshots of every run unless the setting gives `snapshots`.
    pub const SNAPSHOTS: u64 = 10;

    /// What the study sets in every run itself, refused as a setting, with why.
    pub fn refused() -> Vec<(&'static str, String)> {
        crate::axes::refused_settings(
            "coupling",
            Self::AXES,
            &[(
                "steps",
                "each width takes the steps to the snapshot times t_j = jT/K that every width shares (⌊t_j/γ_{α,β}(N)⌋), so the horizon T sets them: give `horizon`",
            )],
            true,
            true,
        )
    }

    /// Its results folder unless given: `studies/coupling-<dataset>-beta<β>…`, `-shared` with
    /// shared noise.
    pub fn default_out(base: &TrainConfig, shared_noise: bool) -> PathBuf {
        crate::folders::default_folder("coupling", base, if shared_noise { "-shared" } else { "" })
    }

    /// N_ref unless given: 8 × the largest width.
    pub fn default_reference_width(widths: &[usize]) -> usize {
        8 * widths.iter().copied().max().unwrap_or(0)
    }

    /// The grid axes the study varies (the batch sweep is a part of its own, `batch_sweep`).
    pub const AXES: &[crate::axes::Axis] =
        &[crate::axes::Axis::Widths, crate::axes::Axis::DataSeeds];
    /// Their lists unless given (the data seeds: [`Self::data_seeds`](CouplingStudy::data_seeds)).
    pub const DEFAULTS: &[(crate::axes::Axis, &str)] =
        &[(crate::axes::Axis::Widths, "250,500,1000,2000,4000")];

    /// The data seeds of the widths' runs (see [`Self::data_seeds`](CouplingStudy::data_seeds)).
    pub(crate) fn data_seeds(&self) -> Vec<u64> {
        match &self.data_seeds {
            Some(seeds) => seeds.clone(),
            None if self.shared_noise => vec![REFERENCE_DATA_SEED],
            None => vec![0, 1],
        }
    }

    /// The data seed of the reference a run on data seed `seed` is measured against: its own
    /// with shared noise, else the one reference's.
    pub fn reference_seed(&self, seed: u64) -> u64 {
        if self.shared_noise {
            seed
        } else {
            REFERENCE_DATA_SEED
        }
    }

    /// Whether the study has a reference per data seed (shared noise, several seeds).
    pub fn reference_per_family(&self) -> bool {
        self.shared_noise && self.data_seeds().len() > 1
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
        if self.batch_sweep_width.is_some() && self.batch_sweep.is_empty() {
            return Err(StudyError::Invalid(
                "`batch_sweep_width` is the width of the batch sweep, and `batch_sweep` lists no batch: give `batch_sweep`, or leave `batch_sweep_width` out".into(),
            ));
        }
        if let Some((i, m)) = meanfield_chaos::first_repeat(&self.batch_sweep) {
            return Err(StudyError::Invalid(format!(
                "`batch_sweep` gives {m} twice (at position {i}): give each batch once"
            )));
        }
        if let Some(seeds) = &self.data_seeds {
            if seeds.is_empty() {
                return Err(StudyError::Invalid(
                    "`data_seeds` is empty: give at least one, or leave it out".into(),
                ));
            }
            // With independent noise the reference and its share have data seeds of their own:
            // a width on one of them would share its noise.
            if let Some(seed) = seeds.iter().find(|s| {
                !self.shared_noise && [REFERENCE_DATA_SEED, REFERENCE_DATA_SEED + 1].contains(s)
            }) {
                return Err(StudyError::Invalid(format!(
                    "`data_seeds` gives {seed}, the data seed of the reference (or of its share) with independent noise: the widths would share its noise; give another seed, or `shared_noise` to share it on purpose"
                )));
            }
            if let Some((i, seed)) = meanfield_chaos::first_repeat(seeds) {
                return Err(StudyError::Invalid(format!(
                    "`data_seeds` gives {seed} twice (at position {i}): each seed is one set of runs, give it once"
                )));
            }
        }
        let mut widths = self.widths.clone();
        widths.sort_unstable();
        widths.dedup();
        let Some(&largest) = widths.last() else {
            return Err(StudyError::Invalid(
                "`widths` must list at least one width".into(),
            ));
        };
        if self.reference_width <= largest {
            return Err(StudyError::Invalid(format!(
                "the reference width {} must exceed the largest width {largest}: it stands for the limit",
                self.reference_width
            )));
        }
        if self.snapshots == 0 {
            return Err(StudyError::Invalid("`snapshots` K must be ≥ 1".into()));
        }
        let batch_width = self.batch_sweep_width.unwrap_or(largest);
        if batch_width >= self.reference_width {
            return Err(StudyError::Invalid(format!(
                "`batch_sweep_width` {batch_width} must be below the reference width {}: each run is measured against the reference's first particles",
                self.reference_width
            )));
        }
        let m = self.base.batch;
        let seeds = self.data_seeds();
        // One reference, or one per family with shared noise. The first keeps the rows the
        // reference's share needs (N_ref/2), the others only the widths'.
        let mut reference_seeds: Vec<u64> = seeds.iter().map(|&s| self.reference_seed(s)).collect();
        reference_seeds.dedup();
        let mut plan: Vec<(Part, TrainConfig)> = reference_seeds
            .iter()
            .enumerate()
            .map(|(i, &seed)| {
                let rows = largest.max(batch_width);
                let rows = if i == 0 {
                    rows.max(self.reference_width / 2)
                } else {
                    rows
                };
                (
                    Part::Reference,
                    self.run_config(self.reference_width, m, seed, rows),
                )
            })
            .collect();
        for &seed in &seeds {
            for &width in &widths {
                plan.push((Part::Width, self.run_config(width, m, seed, width)));
            }
            for &batch in &self.batch_sweep {
                plan.push((
                    Part::Batch,
                    self.run_config(batch_width, batch, seed, batch_width),
                ));
            }
        }
        // With shared noise on the first family's noise; else on noise of its own.
        let share_seed = if self.shared_noise {
            reference_seeds[0]
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
    ) -> Result<Measured<CouplingResult>, StudyError> {
        let start = Instant::now();
        let plan = self.plan()?;
        crate::folders::prepare_results(&self.out, &self.mode)?;
        let configs: Vec<TrainConfig> = plan.iter().map(|(_, c)| c.clone()).collect();
        let mut runs = or_planned!(Runs::run(&configs, self.jobs, stop, &self.mode, log)?);
        // One reference in memory at a time (N_ref/2 rows × K + 1 snapshots each), its own runs
        // measured against it; the rows are then put in the plan's order.
        let mut measured: Vec<Option<(Vec<TimeRow>, SupRow)>> = plan.iter().map(|_| None).collect();
        let mut any_reference = false;
        for (reference_part, reference) in &plan {
            if *reference_part != Part::Reference {
                continue;
            }
            let family: Vec<usize> = (0..plan.len())
                .filter(|&i| {
                    plan[i].0 != Part::Reference
                        && self.reference_seed(plan[i].1.data_seed()) == reference.data_seed()
                })
                .collect();
            let loaded = match runs.get(reference).map(|o| o.dir().to_path_buf()) {
                None => Err("its reference run failed".to_string()),
                Some(dir) => trajectory(&dir, reference.readout).map_err(|e| {
                    runs.fail(reference, &e);
                    "its reference run's snapshots could not be read".to_string()
                }),
            };
            match loaded {
                Ok(trajectory) => {
                    any_reference = true;
                    for i in family {
                        let (part, c) = &plan[i];
                        measured[i] = self.measure_run(*part, c, &trajectory, &mut runs)?;
                    }
                }
                // The family's own runs trained but cannot be measured: listed, not dropped.
                Err(why) => {
                    for i in family {
                        let c = &plan[i].1;
                        if runs.get(c).is_some() {
                            runs.fail(
                                c,
                                &format!(
                                    "not measured: {why} (N_ref = {}, data seed {})",
                                    reference.width,
                                    reference.data_seed()
                                ),
                            );
                        }
                    }
                }
            }
        }
        if !any_reference {
            return Err(crate::report::nothing_measured(
                &self.out,
                &format!("# Synchronous coupling: {}", self.title()),
                &self.command,
                &runs.failed(),
                configs.len(),
                "no reference run could be used",
            ));
        }
        let (mut times, mut sups) = (Vec::new(), Vec::new());
        for (run_times, sup) in measured.into_iter().flatten() {
            times.extend(run_times);
            sups.push(sup);
        }
        let fits = self.fit(&sups, &times);
        Ok(Measured::Done(CouplingResult {
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
        }))
    }

    /// D of one finished run against its reference: a row per snapshot time and the sup; `None`
    /// when the run failed, and a run whose snapshots cannot be read is listed as failed.
    fn measure_run(
        &self,
        part: Part,
        c: &TrainConfig,
        reference: &Trajectory,
        runs: &mut Runs,
    ) -> Result<Option<(Vec<TimeRow>, SupRow)>, StudyError> {
        let Some(dir) = runs.get(c).map(|o| o.dir().to_path_buf()) else {
            return Ok(None);
        };
        let run = match trajectory(&dir, c.readout) {
            Ok(t) => t,
            Err(e) => {
                runs.fail(c, &e);
                return Ok(None);
            }
        };
        let d = coupling_distance(&run.particles, &reference.particles, run.dim)?;
        let times = run
            .points
            .iter()
            .zip(&d.per_time)
            .map(|(point, value)| TimeRow {
                part,
                width: c.width,
                batch: c.batch,
                seed: c.data_seed(),
                time: point.time,
                d: *value,
            })
            .collect();
        let sup = SupRow {
            part,
            width: c.width,
            batch: c.batch,
            seed: c.data_seed(),
            d: d.sup,
            particles: d.particles,
            tail_index: d.tail.map(|t| t.index),
            d_meaningful: d.d_meaningful(),
            per_particle: d.per_particle,
        };
        Ok(Some((times, sup)))
    }

    /// The theorem's exponents in N for this setting.
    pub fn predicted_width_exponents(&self) -> Vec<(String, f64)> {
        let (a, b) = (self.base.alpha, self.base.beta);
        // The diffusion's noise follows the data seed, as SGD's batches do: with shared noise
        // every width has the same Brownian motions (and drift sets), Theorem 2's coupling.
        if self.base.dynamics == Dynamics::Diffusion && b >= 1.0 {
            return if self.shared_noise {
                vec![("Theorem 2 on the particle system (6): C/N".into(), -1.0)]
            } else {
                vec![(
                    "diffusion with independent noise: each run its own Brownian motions, no decay"
                        .into(),
                    0.0,
                )]
            };
        }
        if b >= 1.0 && !self.shared_noise {
            vec![(
                "Theorem 2 with independent noise: each run has its own limit, no decay".into(),
                0.0,
            )]
        } else if b < 1.0 {
            vec![
                (
                    "Theorem 1 noise term N^-(1-β)/(1-α) / M".into(),
                    -theorem1_noise_exponent(a, b),
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
        let exponent = theorem1_noise_exponent(self.base.alpha, self.base.beta);
        let two_term = fit_two_terms(
            &width_runs,
            exponent,
            self.base.batch,
            reference_share,
            1000,
            0,
        )
        .ok();
        // Each data seed's runs over the widths: its slope, when it has two or more widths.
        let families: Vec<(u64, f64)> = self
            .data_seeds()
            .into_iter()
            .filter_map(|seed| {
                let family: Vec<(f64, f64)> = sups
                    .iter()
                    .filter(|r| r.part == Part::Width && r.seed == seed)
                    .map(|r| (r.width as f64, r.d))
                    .collect();
                fit_rate(&family).ok().map(|f| (seed, f.slope))
            })
            .collect();
        CouplingFits {
            width: ExponentFit {
                fit: fit_rate(&width_points).ok(),
                predicted: self.predicted_width_exponents(),
            },
            batch: (!self.batch_sweep.is_empty()).then(|| ExponentFit {
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
            width_corrected: reference_share
                .and_then(|share| corrected_rate(&width_points, share).ok()),
            families: replicate_interval(&families.iter().map(|f| f.1).collect::<Vec<_>>()).ok(),
            family_seeds: families.iter().map(|f| f.0).collect(),
        }
    }

    /// Trains and measures, then writes the study folder.
    pub fn run(
        &self,
        stop: &StopHandle,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<Measured<CouplingResult>, StudyError> {
        let result = or_planned!(self.measure(stop, log)?);
        self.render(&result)?;
        Ok(Measured::Done(result))
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
