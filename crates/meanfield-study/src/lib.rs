//! Studies built from many training runs.
//!
//! - [`grid`] — run a list of configs (reusing finished runs, so an interrupted grid resumes),
//!   `jobs` at a time, collecting failures instead of stopping.
//! - [`particles`] — a run's particles read back from its `.npy` weights.
//! - [`chaos`] — the propagation-of-chaos study: W2 and sliced W2 of each width's particles to a
//!   reference and between seeds, and the fitted rate in N.
//! - [`coord_check`] — sizes of pre-activations, logits and per-particle updates across widths.
//! - [`figure_preset`] — a figure's preset (`configs/<figure>.toml`: `[paper]` protocol and
//!   `[quick]` variant) and its command-line overrides.
//! - [`figures`] — what the paper's figure commands share, and dispatch by name.
//! - [`histogram_figure`] — a grid of histogram panels over limit densities (Figures 1, 3, S5).
//! - [`figure1`], [`figure2`], [`figure3`], [`figure_s5`], [`table1`] — the paper's experiments.
//! - [`report`] — a figure's `report.md`.
//! - [`plot`] — log-log and line plots as SVG (plotters) and PNG (resvg, embedded font).
//! - [`error`] — [`StudyError`].

pub mod chaos;
pub mod coord_check;
pub mod error;
pub mod figure1;
pub mod figure2;
pub mod figure3;
pub mod figure_preset;
pub mod figure_s5;
pub mod figures;
pub mod grid;
pub mod histogram_figure;
pub mod particles;
pub mod plot;
pub mod report;
pub mod table1;

pub use error::StudyError;
