//! Studies built from many training runs.
//!
//! - [`grid`] — run a list of configs (reusing finished runs, so an interrupted grid resumes),
//!   `jobs` at a time, collecting failures instead of stopping.
//! - [`particles`] — a run's particles read back from its `.npy` weights.
//! - [`chaos`] — the propagation-of-chaos study: W2 and sliced W2 of each width's particles to a
//!   reference and between seeds, and the fitted rate in N.
//! - [`coord_check`] — sizes of pre-activations, logits and per-particle updates across widths.
//! - [`plot`] — log-log and line plots as SVG (plotters) and PNG (resvg, embedded font).
//! - [`error`] — [`StudyError`].

pub mod chaos;
pub mod coord_check;
pub mod error;
pub mod grid;
pub mod particles;
pub mod plot;

pub use error::StudyError;
