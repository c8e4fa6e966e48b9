//! Datasets for the mean-field trainer, with no dependency on Burn's tensors (only on
//! `burn-dataset`, the interface).
//!
//! - [`dataset`] — [`Dataset`], images as normalised row-major f32 rows and labels.
//! - [`idx`] — the IDX format of MNIST and Fashion-MNIST (gzipped or raw).
//! - [`arrays`] — your own data as NumPy `.npy` arrays, checked file by file.
//! - [`burn`] — Burn's dataset interface: ours implement it, any implementation converts to ours.
//! - [`cifar`] — the CIFAR-10 binary batches.
//! - [`normalize`] — per-channel normalisation constants of `docs/paper.md`.
//! - [`synthetic`] — a random-teacher classification task that needs no files.
//! - [`sampler`] — batches of M indices, by reshuffled epochs or i.i.d. draws, seeded.
//! - [`source`] — where each dataset's files live, and loading by name.
//! - [`download`] — resumable HTTP downloads with byte progress ([`download::FetchLog`]).
//! - [`fetch`] — fetching a dataset's files (mirrors, offline sources), checked by SHA-256.
//! - [`error`] — typed errors naming the file and the fix.

pub mod arrays;
pub mod burn;
pub mod cifar;
pub mod dataset;
pub mod download;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod normalize;
pub mod sampler;
pub mod source;
pub mod synthetic;

pub use burn::Example;
pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use sampler::{Sampler, Sampling};
pub use source::DatasetKind;
