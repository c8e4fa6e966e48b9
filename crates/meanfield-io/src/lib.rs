//! Writing result files so that a file with its final name is always complete.
//!
//! - [`atomic`] — [`write_atomic`] and [`write_atomic_with`]: a temporary file in the same
//!   folder, flushed, fsynced and renamed over the target. Used for every file a run, a figure
//!   or a study writes (configs, summaries, weights, checkpoints, CSVs, reports, plots).
//!
//! Errors are plain [`std::io::Error`]s; each caller wraps them in its own typed error, which
//! names the path.

pub mod atomic;

pub use atomic::{write_atomic, write_atomic_with, write_csv};
