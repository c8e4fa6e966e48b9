//! One run from Python: trained from settings into the run directory the command line would
//! write ([`meanfield_train::train`], the same resolver, checks and files), and a finished run
//! directory opened after its files are verified against their digests
//! ([`meanfield_train::run_dir::verify`]).

use crate::{errors, interrupt, settings};
use meanfield_train::{Outcome, RunOptions, layout, run_dir};
use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::{Path, PathBuf};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(open_run, m)?)?;
    m.add_function(wrap_pyfunction!(snapshots, m)?)?;
    m.add_function(wrap_pyfunction!(list_runs, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    Ok(())
}

/// The complete setting the arguments resolve to, as config.toml's dict, and the run directory
/// it trains into.
#[pyfunction]
#[pyo3(signature = (preset, config, config_file, keywords))]
fn resolve<'py>(
    py: Python<'py>,
    preset: Option<&str>,
    config: Option<&Bound<'py, PyDict>>,
    config_file: Option<&str>,
    keywords: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyAny>, String)> {
    let c = settings::resolve(preset, config, config_file, keywords, &[])?;
    let table: toml::Table = toml::from_str(&c.to_toml()).map_err(errors::convert)?;
    let dict = pythonize::pythonize(py, &table).map_err(errors::convert)?;
    Ok((dict, run_dir::run_dir(&c).display().to_string()))
}

/// The CIFAR-10 archive to fetch: the published one, or the mirror named by the environment
/// (the same variables as the command line reads).
pub fn cifar_archive() -> meanfield_data::fetch::Archive {
    use meanfield_data::fetch::Archive;
    Archive::chosen(
        false,
        std::env::var(Archive::URL_VARIABLE).ok(),
        std::env::var(Archive::MD5_VARIABLE).ok(),
    )
}

/// Trains (or reuses) the run; returns (its directory, "trained" or "reused", the setting's
/// warnings).
#[pyfunction]
#[pyo3(signature = (preset, config, config_file, keywords, quiet, force, resume, wait, no_fetch))]
#[allow(clippy::too_many_arguments)]
fn train<'py>(
    py: Python<'py>,
    preset: Option<&str>,
    config: Option<&Bound<'py, PyDict>>,
    config_file: Option<&str>,
    keywords: Option<&Bound<'py, PyDict>>,
    quiet: bool,
    force: bool,
    resume: bool,
    wait: bool,
    no_fetch: bool,
) -> PyResult<(String, &'static str, Vec<String>)> {
    let c = settings::resolve(preset, config, config_file, keywords, &[])?;
    let warnings = c.warnings();
    let (dir, outcome) = interrupt::run(py, move |stop| {
        let log = &mut |line: &str| {
            if !quiet {
                eprintln!("{line}")
            }
        };
        meanfield_data::fetch::ensure(c.dataset, &c.data_dir, no_fetch, &cifar_archive(), log)
            .map_err(errors::data)?;
        let options = RunOptions {
            quiet,
            force,
            resume,
            stop,
            wait,
            shard: None,
        };
        match meanfield_train::train(&c, options).map_err(errors::train)? {
            Outcome::Trained { dir, .. } => Ok((dir.display().to_string(), "trained")),
            Outcome::Reused { dir, .. } => Ok((dir.display().to_string(), "reused")),
        }
    })?;
    Ok((dir, outcome, warnings))
}

/// A verified finished run: its setting (config.toml as a dict), summary, metrics (one numpy
/// column per field, NaN where a row has no value) and the paths of its weight files.
#[pyfunction]
fn open_run<'py>(py: Python<'py>, dir: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    if !dir.is_dir() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "{}: no such folder (give the directory of a finished run: `meanfield.runs()` lists them)",
            dir.display()
        )));
    }
    let summary = py.detach(|| run_dir::verify(&dir)).map_err(errors::train)?;
    let out = PyDict::new(py);
    out.set_item("dir", dir.display().to_string())?;
    let config_path = dir.join(layout::CONFIG);
    let text = std::fs::read_to_string(&config_path).map_err(|source| {
        errors::train(meanfield_train::TrainError::Read {
            path: config_path.clone(),
            source,
        })
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(errors::convert)?;
    out.set_item(
        "config",
        pythonize::pythonize(py, &table).map_err(errors::convert)?,
    )?;
    out.set_item(
        "summary",
        pythonize::pythonize(py, &summary).map_err(errors::convert)?,
    )?;
    let rows = meanfield_train::metrics::read(&dir.join(layout::METRICS)).map_err(errors::train)?;
    let metrics = PyDict::new(py);
    let column = |f: fn(&meanfield_train::metrics::MetricsRow) -> Option<f64>| -> Vec<f64> {
        rows.iter().map(|r| f(r).unwrap_or(f64::NAN)).collect()
    };
    metrics.set_item(
        "step",
        rows.iter()
            .map(|r| r.step)
            .collect::<Vec<u64>>()
            .into_pyarray(py),
    )?;
    metrics.set_item("time", column(|r| Some(r.time)).into_pyarray(py))?;
    metrics.set_item("step_size", column(|r| r.step_size).into_pyarray(py))?;
    metrics.set_item("batch_loss", column(|r| r.batch_loss).into_pyarray(py))?;
    metrics.set_item(
        "batch_accuracy",
        column(|r| r.batch_accuracy).into_pyarray(py),
    )?;
    metrics.set_item("train_loss", column(|r| r.train_loss).into_pyarray(py))?;
    metrics.set_item(
        "train_accuracy",
        column(|r| r.train_accuracy).into_pyarray(py),
    )?;
    metrics.set_item("test_loss", column(|r| r.test_loss).into_pyarray(py))?;
    metrics.set_item(
        "test_accuracy",
        column(|r| r.test_accuracy).into_pyarray(py),
    )?;
    out.set_item("metrics", metrics)?;
    let weights = PyDict::new(py);
    for (key, name) in [
        ("hidden", layout::HIDDEN),
        ("readout", layout::READOUT),
        ("hidden_avg", layout::HIDDEN_AVG),
        ("readout_avg", layout::READOUT_AVG),
    ] {
        let path = dir.join(name);
        if path.is_file() {
            weights.set_item(key, path.display().to_string())?;
        }
    }
    out.set_item("weights", weights)?;
    Ok(out)
}

/// A finished run's snapshots (verified): (the index as dicts, hidden [rows, p] arrays,
/// readout [rows, C] arrays), one of each per time of the grid.
#[pyfunction]
fn snapshots<'py>(
    py: Python<'py>,
    dir: PathBuf,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>, Bound<'py, PyList>)> {
    let s = py
        .detach(|| meanfield_train::snapshot::load(&dir))
        .map_err(errors::train)?;
    let index = pythonize::pythonize(py, &s.points).map_err(errors::convert)?;
    let (hidden, readout) = (PyList::empty(py), PyList::empty(py));
    for ((h, r), point) in s.hidden.into_iter().zip(s.readout).zip(&s.points) {
        hidden.append(h.into_pyarray(py).reshape([point.rows, s.input_dim])?)?;
        readout.append(r.into_pyarray(py).reshape([point.rows, s.classes])?)?;
    }
    Ok((index, hidden, readout))
}

/// Every run directory under `dir` (or `dir` itself), with its status and every problem found,
/// as `experiments runs` lists them.
#[pyfunction]
fn list_runs<'py>(py: Python<'py>, dir: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let listing = py
        .detach(|| meanfield_train::listing::list(Path::new(&dir)))
        .map_err(errors::train)?;
    pythonize::pythonize(py, &listing).map_err(errors::convert)
}

/// The names of the presets (configs/*.toml, compiled in).
#[pyfunction]
fn presets() -> Vec<&'static str> {
    meanfield_train::config::PRESETS
        .iter()
        .map(|(n, _)| *n)
        .collect()
}
