//! The files this program writes: each lands whole, carries a digest to check it by when read
//! back, and goes only into a folder the program owns.
//!
//! - [`atomic`] — [`write_atomic`] and [`write_atomic_with`]: a temporary file in the same
//!   folder, flushed, fsynced and renamed over the target, its digest computed on the way. Used
//!   for every file a run, a figure or a study writes (configs, summaries, weights,
//!   checkpoints, CSVs, reports, plots).
//! - [`digest`] — [`Digest`]: a file's size and BLAKE3 hash, of bytes, files and file prefixes.
//! - [`owned`] — folders the program owns: the marker it writes first, and what it finds in a
//!   folder before it writes there (new, empty, its own, the user's, a system location).
//!
//! Errors are plain [`std::io::Error`]s; each caller wraps them in its own typed error, which
//! names the path.

pub mod atomic;
pub mod digest;
pub mod owned;

pub use atomic::{write_atomic, write_atomic_with, write_csv};
pub use digest::Digest;
