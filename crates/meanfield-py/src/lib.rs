//! `meanfield._native`: the Python extension over the workspace's libraries. Nothing here
//! computes: each function converts its arguments, calls the library function of the same
//! name, and converts the result (numpy arrays without copies where the layout allows, the
//! libraries' serde values as dicts). The Python package (python/meanfield) coerces array-likes
//! and documents each function.
//!
//! - [`measures`] — the chaos measures of `meanfield-chaos` on numpy arrays.
//! - [`runs`] — training one run from settings, and opening a run directory.
//! - [`studies`] — the coupling, chaos and tails studies.
//! - [`settings`] — keyword arguments and config dicts as the settings' TOML tables.
//! - [`interrupt`] — long calls on a worker thread, Ctrl-C as a checkpointed stop.
//! - [`errors`] — the libraries' errors as Python exceptions.
//!
//! Everything is behind the `python` feature (maturin turns it on): without it the crate is
//! empty and builds without Python.

#![cfg(feature = "python")]

mod errors;
mod interrupt;
mod measures;
mod runs;
mod settings;
mod studies;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    measures::register(m)?;
    runs::register(m)?;
    studies::register(m)?;
    Ok(())
}
