//! Studies built from many training runs.
//!
//! - [`axes`] — the grid axes (`widths`, `betas`, …), each declared once: its list flag, the
//!   setting it varies, how its values read; [`axes::Grid`], the values a command was given.
//! - [`grid`] — run a list of configs (reusing finished runs, so an interrupted grid resumes),
//!   `jobs` at a time, collecting failures instead of stopping; [`grid::Runs`], the one rule
//!   for failed runs.
//! - [`particles`] — a run's particles read back from its `.npy` weights.
//! - [`chaos`] — the propagation-of-chaos study: W2 and sliced W2 of each width's particles to a
//!   reference and between seeds, and the fitted rate in N ([`chaos::ChaosStudy::measure`],
//!   then [`chaos::ChaosStudy::render`]).
//! - [`coupling`] — the synchronous-coupling study: Theorems 1 and 2's E sup_t |W^{k,N} − W^{k,*}|²
//!   measured against a wide reference, and its exponents in N and M.
//! - [`coupling_report`] — the coupling study's tables, charts and report.
//! - [`coord_check`] — sizes of pre-activations, logits and per-particle updates across widths
//!   ([`coord_check::CoordCheck::measure`], then [`coord_check::render`]).
//! - [`figures`] — the paper's figure commands ([`figures::Figure`]).
//! - [`sgd_vs_diffusion`] — the paper's step (5) measured: SGD and the particle diffusion (6)
//!   side by side across γ, with SGD's cross-particle noise correlation
//!   ([`noise_correlation`]).
//! - [`stats`] — means and standard deviations of samples.
//! - [`tails`] — the tail phase study: Hill's tail index of the particle law against γ/M, and
//!   where it crosses 2 (no finite variance below).
//! - [`histogram_grid`] — the figures' grids of histogram panels with their limit densities.
//! - [`folders`] — the results folder (`out`) and the job list (`--plan DIR`): checked before
//!   any run starts (never a folder of the user's), claimed with the program's marker.
//! - [`plan`] — grids as job lists for Slurm and GNU parallel (`--plan DIR`), and assembling
//!   from finished runs only (`--assemble-only`).
//! - [`report`] — `report.md`, written in one place for every study and figure (the failed
//!   runs always listed the same way).
//! - [`plot`] — every chart's rules in one place (labelled 1-2-5 log ticks, the legend off the
//!   data with the series' own marks, fit bands, seed means); SVG (plotters) and PNG (resvg,
//!   embedded font).
//! - [`error`] — [`StudyError`].

pub mod axes;
pub mod chaos;
pub mod coord_check;
pub mod coupling;
pub mod coupling_report;
pub mod error;
pub mod figures;
pub mod folders;
pub mod grid;
pub mod histogram_grid;
pub mod noise_correlation;
pub mod particles;
pub mod plan;
pub mod plot;
pub mod report;
pub mod sgd_vs_diffusion;
pub mod stats;
pub mod tails;

pub use error::StudyError;

use std::path::Path;

/// Writes a file atomically ([`meanfield_io`]), naming `path` in the error.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), StudyError> {
    meanfield_io::write_atomic(path, bytes)
        .map(|_| ())
        .map_err(|source| StudyError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes `rows` as CSV atomically, a header from their field names.
pub fn write_rows<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<(), StudyError> {
    meanfield_io::write_csv(path, rows)
        .map(|_| ())
        .map_err(|source| StudyError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Creates a folder (and parents), naming it in the error.
pub(crate) fn create_dir(path: &Path) -> Result<(), StudyError> {
    std::fs::create_dir_all(path).map_err(|source| StudyError::Write {
        path: path.to_path_buf(),
        source,
    })
}
