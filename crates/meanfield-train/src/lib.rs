//! Training runs of the mean-field network: from a resolved config to a run directory.
//!
//! - [`config`] — [`TrainConfig`], every setting of a run declared once with its default (the
//!   only place defaults live) and its [`setting::Setting`]; presets from `configs/`, TOML
//!   overrides, validation.
//! - [`setting`] — what a setting is beyond its field: its flag, its role in the identity,
//!   its own range.
//! - [`backend`] — [`Backend`], the run-time choice of Burn device (flex, ndarray, wgpu, cuda).
//! - [`task`] — loading (or generating) the dataset a config asks for.
//! - [`engine`] — one update of the weights, by Burn autodiff + the Burn optimizer API, or by the
//!   closed-form gradient; both apply [`meanfield_optim::ScaledSgd`].
//! - [`diffusion`] — the particle system (6) as Euler–Maruyama: its example sets and each
//!   particle's own Gaussian multipliers ([`Dynamics`]).
//! - [`identity`] — a run's identity (the settings that decide its trajectory, versioned):
//!   what reuse and resume compare and what names a run directory.
//! - [`stepper`] — [`Stepper`], the one training step (schedule, noise seed, batch, update)
//!   that the run, the coordinate check and the benchmark share.
//! - [`shard`] — [`shard::Shard`]: one run's particles split over processes (MPI in the
//!   binary), the all-gather of partial logits, agreement between the processes.
//! - [`run`] — [`Run`], a training run as a value: fresh or resumed, step, fit, finish.
//! - [`trainer`] — [`train`]: reuse a finished run, else fresh or resume, fit, finish.
//! - [`stop`] — [`StopHandle`], how a caller asks runs to checkpoint and stop.
//! - [`clock`] — training and evaluation time, carried across resumes.
//! - [`checkpoint`] — atomic checkpoints and exact resume.
//! - [`memory`] — what a run needs against what the machine has, checked before allocating.
//! - [`lock`] — the exclusive lock a process holds on a run directory while it trains it.
//! - [`evaluate`] — loss and accuracy over a whole dataset, in chunks.
//! - [`weights`] — `.npy` float32 weight files (save, load with shape checks).
//! - [`metrics`] — the rows of `metrics.csv`.
//! - [`summary`] — `summary.json`: [`summary::Status`], finished or diverged.
//! - [`run_lines`] — what a run says when it starts and when it ends.
//! - [`folders`] — folders the program writes into, of every kind: checked (never the user's,
//!   never the system's) and claimed with the program's marker.
//! - [`layout`] — the name of every file a run writes (a leaf module).
//! - [`run_dir`] — the run directory: whose it is (the marker, earlier layouts), its name,
//!   whether its files are whole, what a fresh start removes.
//! - [`manifest`] — `manifest.json`: every file a run or checkpoint wrote, with its digest.
//! - [`listing`] — what `experiments runs` says of each run directory.
//! - [`snapshot`] — the particles at K + 1 evenly spaced times (`--snapshots K`).
//! - [`progress`] — the progress bar (plain lines when not on a terminal).
//! - [`bench`] — timing of the training step and of the backend's matrix-product peak.
//! - [`error`] — [`TrainError`].

pub mod backend;
pub mod batches;
pub mod bench;
pub mod buffers;
pub mod checkpoint;
pub mod clock;
pub mod config;
pub mod diffusion;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod folders;
pub mod identity;
pub mod inputs;
pub mod layout;
pub mod listing;
pub mod lock;
pub mod manifest;
pub mod memory;
pub mod metrics;
pub mod progress;
pub mod run;
pub mod run_dir;
pub mod run_lines;
pub mod setting;
pub mod shard;
pub mod snapshot;
pub mod stepper;
pub mod stop;
pub mod summary;
pub mod task;
pub mod trainer;
pub mod weights;

pub use backend::Backend;
pub use config::{Engine, TrainConfig};
pub use diffusion::{Dynamics, ExampleSet};
pub use error::TrainError;
pub use run::Run;
pub use stepper::Stepper;
pub use stop::StopHandle;
pub use summary::Summary;
pub use trainer::{Outcome, RunOptions, train, train_on};

pub use meanfield_data as data;
pub use meanfield_model as model;
pub use meanfield_optim as optim;
