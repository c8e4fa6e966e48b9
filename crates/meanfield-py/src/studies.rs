//! The coupling, chaos and tails studies from Python: the same study values the command line
//! builds ([`meanfield_study`]), from the same presets, axis checks, refusals and default
//! folders, run with Ctrl-C as a checkpointed stop; the result's tables as dicts of lists.

use crate::{errors, interrupt, settings};
use meanfield_study::StudyError;
use meanfield_study::axes::{Axis, Grid};
use meanfield_study::chaos::ChaosStudy;
use meanfield_study::coupling::CouplingStudy;
use meanfield_study::grid::Measured;
use meanfield_study::plan::GridMode;
use meanfield_study::tails::TailStudy;
use meanfield_train::{StopHandle, TrainConfig};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(coupling, m)?)?;
    m.add_function(wrap_pyfunction!(chaos, m)?)?;
    m.add_function(wrap_pyfunction!(tails, m)?)?;
    Ok(())
}

/// What every study takes besides its own lists.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Common<'py> {
    preset: Option<String>,
    config: Option<Bound<'py, PyDict>>,
    config_file: Option<String>,
    keywords: Option<Bound<'py, PyDict>>,
    jobs: usize,
    out: Option<PathBuf>,
    force: bool,
    assemble_only: bool,
    no_fetch: bool,
    quiet: bool,
    command: String,
}

impl Common<'_> {
    /// The study's shared setting: its preset (or the one named), then the config, then the
    /// keywords, with the keys it sets itself (`refused`) refused; and the grid's mode. Both
    /// are checked before anything is fetched or trained.
    fn setting(
        &self,
        preset: &str,
        refused: &[(&'static str, String)],
    ) -> PyResult<(TrainConfig, GridMode)> {
        let mode =
            GridMode::for_call(self.assemble_only, self.force, self.jobs).map_err(errors::study)?;
        let mut base = settings::resolve(
            Some(self.preset.as_deref().unwrap_or(preset)),
            self.config.as_ref(),
            self.config_file.as_deref(),
            self.keywords.as_ref(),
            refused,
        )?;
        base.out = None;
        Ok((base, mode))
    }

    /// Fetches the data, then runs the study (`run`) on a worker thread with Ctrl-C heard
    /// ([`interrupt::run`]), progress on stderr unless `quiet`.
    fn measure<T: Send>(
        &self,
        py: Python<'_>,
        base: &TrainConfig,
        run: impl FnOnce(&StopHandle, &(dyn Fn(&str) + Sync)) -> Result<Measured<T>, StudyError> + Send,
    ) -> PyResult<T> {
        let (no_fetch, quiet) = (self.no_fetch, self.quiet);
        let progress = move |line: &str| {
            if !quiet {
                eprintln!("{line}")
            }
        };
        interrupt::run(py, |stop| {
            fetch(base, no_fetch, quiet)?;
            run(&stop, &progress).map_err(errors::study).and_then(done)
        })
    }
}

/// The keys every study's result has: its folder, the runs that failed, the time it took.
fn outcome<'py>(
    py: Python<'py>,
    out: &std::path::Path,
    failed_runs: &[String],
    seconds: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("out", out.display().to_string())?;
    d.set_item("failed_runs", failed_runs.to_vec())?;
    d.set_item("seconds", seconds)?;
    Ok(d)
}

/// Fetches the study's data when missing (on the worker, so that Ctrl-C is heard meanwhile).
fn fetch(base: &TrainConfig, no_fetch: bool, quiet: bool) -> PyResult<()> {
    meanfield_data::fetch::ensure(
        base.dataset,
        &base.data_dir,
        no_fetch,
        &crate::runs::cifar_archive(),
        &mut |line: &str| {
            if !quiet {
                eprintln!("{line}")
            }
        },
    )
    .map_err(errors::data)
}

/// The list `values` of `axis` (as Python gave it, numbers), or the study's default, checked
/// as the command line checks it (range, duplicates).
fn axis_list(
    grid: &mut Grid,
    axis: Axis,
    values: Option<Vec<String>>,
    defaults: &[(Axis, &str)],
) -> PyResult<()> {
    let text = match values {
        Some(v) => v.join(","),
        None => match defaults.iter().find(|(a, _)| *a == axis) {
            Some((_, d)) => d.to_string(),
            None => return Ok(()),
        },
    };
    let parsed = axis
        .parse_list(&text)
        .map_err(|e| PyValueError::new_err(format!("`{}`: {e}", axis.key())))?;
    grid.set(axis, parsed);
    Ok(())
}

fn done<T>(measured: Measured<T>) -> PyResult<T> {
    measured.done().ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err(
            "the study planned its runs instead of running them: this is a bug",
        )
    })
}

fn pythonize<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(errors::convert)
}

/// The synchronous-coupling study (Theorems 1 and 2): D(N) against a reference width.
#[pyfunction]
#[pyo3(signature = (common, widths, data_seeds, reference_width, shared_noise, batch_sweep, batch_sweep_width))]
#[allow(clippy::too_many_arguments)]
fn coupling<'py>(
    py: Python<'py>,
    common: Common<'py>,
    widths: Option<Vec<String>>,
    data_seeds: Option<Vec<String>>,
    reference_width: Option<usize>,
    shared_noise: bool,
    batch_sweep: Vec<usize>,
    batch_sweep_width: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (base, mode) = common.setting(CouplingStudy::PRESET, &CouplingStudy::refused())?;
    let mut grid = Grid::default();
    axis_list(&mut grid, Axis::Widths, widths, CouplingStudy::DEFAULTS)?;
    axis_list(
        &mut grid,
        Axis::DataSeeds,
        data_seeds,
        CouplingStudy::DEFAULTS,
    )?;
    let widths = grid.sizes(Axis::Widths).unwrap_or_default();
    let out = common
        .out
        .clone()
        .unwrap_or_else(|| CouplingStudy::default_out(&base, shared_noise));
    let study = CouplingStudy {
        snapshots: base.snapshots.unwrap_or(CouplingStudy::SNAPSHOTS),
        reference_width: reference_width
            .unwrap_or_else(|| CouplingStudy::default_reference_width(&widths)),
        base,
        widths,
        data_seeds: grid.whole(Axis::DataSeeds),
        shared_noise,
        batch_sweep,
        batch_sweep_width,
        jobs: common.jobs,
        mode,
        out: out.clone(),
        command: common.command.clone(),
    };
    let r = common.measure(py, &study.base, |stop, log| study.run(stop, log))?;
    let d = outcome(py, &out, &r.failed_runs, r.seconds)?;
    d.set_item("times", pythonize(py, &r.times)?)?;
    d.set_item("sups", pythonize(py, &r.sups)?)?;
    d.set_item("fits", pythonize(py, &r.fits)?)?;
    d.set_item("runs", r.runs)?;
    Ok(d)
}

/// The chaos study: distances between runs of growing width and to a reference.
#[pyfunction]
#[pyo3(signature = (common, widths, seeds, reference, projections, projection_seeds, coordinate))]
#[allow(clippy::too_many_arguments)]
fn chaos<'py>(
    py: Python<'py>,
    common: Common<'py>,
    widths: Option<Vec<String>>,
    seeds: Option<Vec<String>>,
    reference: Option<PathBuf>,
    projections: Option<usize>,
    projection_seeds: Option<Vec<u64>>,
    coordinate: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (base, mode) = common.setting(ChaosStudy::PRESET, &ChaosStudy::refused())?;
    let mut grid = Grid::default();
    axis_list(&mut grid, Axis::Widths, widths, ChaosStudy::DEFAULTS)?;
    axis_list(&mut grid, Axis::Seeds, seeds, ChaosStudy::DEFAULTS)?;
    let projection_seeds =
        projection_seeds.unwrap_or_else(|| ChaosStudy::PROJECTION_SEEDS.to_vec());
    let out = common
        .out
        .clone()
        .unwrap_or_else(|| ChaosStudy::default_out(&base));
    let study = ChaosStudy {
        base,
        widths: grid.sizes(Axis::Widths).unwrap_or_default(),
        seeds: grid.whole(Axis::Seeds).unwrap_or_default(),
        reference,
        projections: projections.unwrap_or(ChaosStudy::PROJECTIONS),
        projection_seeds,
        coordinate,
        jobs: common.jobs,
        mode,
        out: out.clone(),
        command: common.command.clone(),
    };
    let r = common.measure(py, &study.base, |stop, log| study.run(stop, log))?;
    let d = outcome(py, &out, &r.failed_runs, r.seconds)?;
    d.set_item("rows", pythonize(py, &r.rows)?)?;
    d.set_item("fits", pythonize(py, &r.fits)?)?;
    d.set_item("reference_dir", r.reference_dir.display().to_string())?;
    d.set_item("runs", r.runs)?;
    Ok(d)
}

/// The tails study: Hill's index of one coordinate across widths, step sizes and batches.
#[pyfunction]
#[pyo3(signature = (common, widths, gammas, batches, coordinate))]
fn tails<'py>(
    py: Python<'py>,
    common: Common<'py>,
    widths: Option<Vec<String>>,
    gammas: Option<Vec<String>>,
    batches: Option<Vec<String>>,
    coordinate: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (base, mode) = common.setting(TailStudy::PRESET, &TailStudy::refused())?;
    let mut grid = Grid::default();
    axis_list(&mut grid, Axis::Widths, widths, TailStudy::DEFAULTS)?;
    axis_list(&mut grid, Axis::Gammas, gammas, TailStudy::DEFAULTS)?;
    axis_list(&mut grid, Axis::Batches, batches, TailStudy::DEFAULTS)?;
    let out = common
        .out
        .clone()
        .unwrap_or_else(|| TailStudy::default_out(&base));
    let study = TailStudy {
        base,
        widths: grid.sizes(Axis::Widths).unwrap_or_default(),
        gammas: grid.reals(Axis::Gammas).unwrap_or_default(),
        batches: grid.sizes(Axis::Batches).unwrap_or_default(),
        coordinate,
        jobs: common.jobs,
        mode,
        out: out.clone(),
        command: common.command.clone(),
    };
    let r = common.measure(py, &study.base, |stop, log| study.run(stop, log))?;
    let d = outcome(py, &out, &r.failed_runs, r.seconds)?;
    d.set_item("rows", pythonize(py, &r.rows)?)?;
    d.set_item("hill", pythonize(py, &r.hill)?)?;
    d.set_item("crossings", meanfield_study::tails::crossings(&r.rows))?;
    Ok(d)
}
