//! Training runs of the mean-field network: from a resolved config to a run directory.
//!
//! - [`config`] — [`TrainConfig`], every setting of a run with its default (the only place
//!   defaults live), presets from `configs/`, TOML overrides, validation.
//! - [`backend`] — [`Backend`], the run-time choice of Burn device (flex, ndarray, wgpu, cuda).
//! - [`allocator`] — keep large freed buffers for reuse (the per-step gradient), for speed.
//! - [`checkpoint`] — atomic checkpoints and exact resume.
//! - [`bench`] — timing of the training step and of the backend's matrix-product peak.
//! - [`task`] — loading (or fetching, or generating) the dataset a config asks for.
//! - [`fused_update`] — the W1 update fused into its gradient product (Flex), in place.
//! - [`engine`] — one training step, by Burn autodiff + the Burn optimizer API, or by the closed-form
//!   gradient; both apply [`meanfield_optim::ScaledSgd`].
//! - [`evaluate`] — loss and accuracy over a whole dataset, in chunks.
//! - [`weights`] — `.npy` float32 weight files (save, load with shape checks).
//! - [`metrics`] — the rows of `metrics.csv`.
//! - [`summary`] — `summary.json`.
//! - [`run_dir`] — the run directory's layout and naming.
//! - [`progress`] — the progress bar (plain lines when not on a terminal).
//! - [`trainer`] — the training loop that ties them together.
//! - [`error`] — [`TrainError`].

pub mod allocator;
pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod fused_update;
pub mod metrics;
pub mod progress;
pub mod run_dir;
pub mod summary;
pub mod task;
pub mod trainer;
pub mod weights;

pub use backend::Backend;
pub use config::{Engine, TrainConfig};
pub use error::TrainError;
pub use summary::Summary;
pub use trainer::{Outcome, train};

pub use meanfield_data as data;
pub use meanfield_model as model;
pub use meanfield_optim as optim;
