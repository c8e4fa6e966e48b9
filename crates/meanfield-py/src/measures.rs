//! The chaos measures of `meanfield-chaos` on numpy arrays: 1-D samples are float64 vectors
//! (one coordinate across particles), clouds and trajectories float32 (the weights' type). The
//! arrays are read in place (the Python layer makes them contiguous, copying only when they
//! are not); the work runs with the GIL released.

use crate::errors;
use meanfield_chaos as chaos;
use numpy::{
    IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(w2, m)?)?;
    m.add_function(wrap_pyfunction!(w1, m)?)?;
    m.add_function(wrap_pyfunction!(trimmed_w2, m)?)?;
    m.add_function(wrap_pyfunction!(sliced_w2, m)?)?;
    m.add_function(wrap_pyfunction!(sliced_w2_seeds, m)?)?;
    m.add_function(wrap_pyfunction!(law_distance, m)?)?;
    m.add_function(wrap_pyfunction!(tail_index, m)?)?;
    m.add_function(wrap_pyfunction!(hill, m)?)?;
    m.add_function(wrap_pyfunction!(coupling_distance, m)?)?;
    m.add_function(wrap_pyfunction!(fit_rate, m)?)?;
    m.add_function(wrap_pyfunction!(replicate_interval, m)?)?;
    m.add_function(wrap_pyfunction!(fit_two_terms, m)?)?;
    m.add_function(wrap_pyfunction!(theorem1_noise_exponent, m)?)?;
    m.add_function(wrap_pyfunction!(reference_correction, m)?)?;
    // The libraries' defaults, which the Python signatures show.
    m.add("DEFAULT_PROJECTIONS", chaos::sliced::DEFAULT_PROJECTIONS)?;
    m.add(
        "DEFAULT_PROJECTION_SEEDS",
        chaos::sliced::DEFAULT_PROJECTION_SEEDS.to_vec(),
    )?;
    m.add("LAW_TRIM", chaos::tail::LAW_TRIM)?;
    Ok(())
}

/// The array `name` as a slice (it must be contiguous: the Python layer makes it so).
fn slice<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    array: &'a numpy::PyReadonlyArray<'_, T, D>,
    name: &str,
) -> PyResult<&'a [T]> {
    let not_c = || {
        PyValueError::new_err(format!(
            "`{name}` is not a C-contiguous array: pass numpy.ascontiguousarray({name})"
        ))
    };
    // A Fortran-ordered array is contiguous too, but its rows are not where a row-major read
    // looks for them.
    if !array.is_c_contiguous() {
        return Err(not_c());
    }
    array.as_slice().map_err(|_| not_c())
}

fn dict<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyDict>> {
    pythonize::pythonize(py, value)
        .map_err(errors::convert)?
        .cast_into::<PyDict>()
        .map_err(errors::convert)
}

#[pyfunction]
fn w2(py: Python<'_>, a: PyReadonlyArray1<'_, f64>, b: PyReadonlyArray1<'_, f64>) -> PyResult<f64> {
    let (a, b) = (slice(&a, "a")?, slice(&b, "b")?);
    py.detach(|| chaos::w2_1d(a, b)).map_err(errors::chaos)
}

#[pyfunction]
fn w1(py: Python<'_>, a: PyReadonlyArray1<'_, f64>, b: PyReadonlyArray1<'_, f64>) -> PyResult<f64> {
    let (a, b) = (slice(&a, "a")?, slice(&b, "b")?);
    py.detach(|| chaos::w1_1d(a, b)).map_err(errors::chaos)
}

#[pyfunction]
fn trimmed_w2(
    py: Python<'_>,
    a: PyReadonlyArray1<'_, f64>,
    b: PyReadonlyArray1<'_, f64>,
    trim: f64,
) -> PyResult<f64> {
    let (a, b) = (slice(&a, "a")?, slice(&b, "b")?);
    py.detach(|| chaos::trimmed_w2_1d(a, b, trim))
        .map_err(errors::chaos)
}

fn cloud<'a>(array: &'a PyReadonlyArray2<'_, f32>, name: &str) -> PyResult<chaos::Cloud<'a>> {
    let dim = array.shape()[1];
    chaos::Cloud::new(slice(array, name)?, dim).map_err(errors::chaos)
}

#[pyfunction]
fn sliced_w2(
    py: Python<'_>,
    a: PyReadonlyArray2<'_, f32>,
    b: PyReadonlyArray2<'_, f32>,
    projections: usize,
    seed: u64,
) -> PyResult<f64> {
    let (a, b) = (cloud(&a, "a")?, cloud(&b, "b")?);
    py.detach(|| chaos::sliced_w2(a, b, projections, seed))
        .map_err(errors::chaos)
}

#[pyfunction]
fn sliced_w2_seeds<'py>(
    py: Python<'py>,
    a: PyReadonlyArray2<'_, f32>,
    b: PyReadonlyArray2<'_, f32>,
    projections: usize,
    seeds: Vec<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (a, b) = (cloud(&a, "a")?, cloud(&b, "b")?);
    let r = py
        .detach(|| chaos::sliced_w2_seeds(a, b, projections, &seeds))
        .map_err(errors::chaos)?;
    dict(py, &r)
}

#[pyfunction]
fn law_distance<'py>(
    py: Python<'py>,
    sample: PyReadonlyArray1<'_, f64>,
    reference: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (s, r) = (slice(&sample, "sample")?, slice(&reference, "reference")?);
    let d = py
        .detach(|| chaos::tail::law_distance(s, r))
        .map_err(errors::chaos)?;
    dict(py, &d)
}

#[pyfunction]
#[pyo3(signature = (values, k=None))]
fn tail_index<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'_, f64>,
    k: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let v = slice(&values, "values")?;
    let t = py
        .detach(|| chaos::tail_index(v, k))
        .map_err(errors::chaos)?;
    dict(py, &t)
}

#[pyfunction]
fn hill<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'_, f64>,
    k: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let v = slice(&values, "values")?;
    let h = py.detach(|| chaos::hill(v, k)).map_err(errors::chaos)?;
    dict(py, &h)
}

/// `a` and `b`: [times, particles, dim] float32, the particles of two coupled runs at the same
/// times. The library takes one matrix per time, so each time's rows are copied once.
#[pyfunction]
fn coupling_distance<'py>(
    py: Python<'py>,
    a: PyReadonlyArray3<'_, f32>,
    b: PyReadonlyArray3<'_, f32>,
) -> PyResult<Bound<'py, PyDict>> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    if sa[2] != sb[2] {
        return Err(errors::chaos(chaos::ChaosError::Dimension {
            left: sa[2],
            right: sb[2],
        }));
    }
    let split = |values: &[f32], shape: &[usize]| -> Vec<Vec<f32>> {
        let per_time = shape[1] * shape[2];
        if per_time == 0 {
            return vec![Vec::new(); shape[0]];
        }
        values.chunks_exact(per_time).map(<[f32]>::to_vec).collect()
    };
    let (va, vb) = (slice(&a, "a")?, slice(&b, "b")?);
    let d = py
        .detach(|| chaos::coupling_distance(&split(va, &sa), &split(vb, &sb), sa[2]))
        .map_err(errors::chaos)?;
    let out = dict(py, &d)?;
    out.set_item("per_time", d.per_time.clone().into_pyarray(py))?;
    out.set_item("per_particle", d.per_particle.into_pyarray(py))?;
    Ok(out)
}

#[pyfunction]
fn fit_rate<'py>(
    py: Python<'py>,
    widths: PyReadonlyArray1<'_, f64>,
    distances: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, y) = (slice(&widths, "widths")?, slice(&distances, "distances")?);
    if x.len() != y.len() {
        return Err(PyValueError::new_err(format!(
            "`widths` has {} values and `distances` {}: give one distance per width",
            x.len(),
            y.len()
        )));
    }
    let points: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    dict(py, &chaos::fit_rate(&points).map_err(errors::chaos)?)
}

#[pyfunction]
fn replicate_interval<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let v = slice(&values, "values")?;
    dict(py, &chaos::replicate_interval(v).map_err(errors::chaos)?)
}

/// `runs[i]`: the runs at `widths[i]`, each a vector of per-particle sup distances.
#[pyfunction]
#[pyo3(signature = (widths, runs, noise_exponent, batch, reference_share, replicates, seed))]
#[allow(clippy::too_many_arguments)]
fn fit_two_terms<'py>(
    py: Python<'py>,
    widths: Vec<usize>,
    runs: Vec<Vec<Vec<f64>>>,
    noise_exponent: f64,
    batch: usize,
    reference_share: Option<f64>,
    replicates: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    if widths.len() != runs.len() {
        return Err(PyValueError::new_err(format!(
            "`widths` has {} values and `runs` {}: give the runs of each width",
            widths.len(),
            runs.len()
        )));
    }
    let data: Vec<chaos::WidthRuns> = widths
        .into_iter()
        .zip(runs)
        .map(|(width, runs)| chaos::WidthRuns { width, runs })
        .collect();
    let fit = py
        .detach(|| {
            chaos::fit_two_terms(
                &data,
                noise_exponent,
                batch,
                reference_share,
                replicates,
                seed,
            )
        })
        .map_err(errors::chaos)?;
    dict(py, &fit)
}

#[pyfunction]
fn theorem1_noise_exponent(alpha: f64, beta: f64) -> PyResult<f64> {
    chaos::noise_exponent_checked(alpha, beta).map_err(errors::chaos)
}

#[pyfunction]
fn reference_correction(reference_share: f64) -> PyResult<f64> {
    chaos::check_reference_share(reference_share).map_err(errors::chaos)?;
    Ok(chaos::reference_correction(reference_share))
}
