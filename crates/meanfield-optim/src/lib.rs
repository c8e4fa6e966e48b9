//! Width-scaled SGD of De Bortoli et al. (2020), eq. (2), for Burn modules.
//!
//! - [`schedule`] — the step size `γ N^β (n + 1/γ_{α,β}(N))^(-α)` and the horizon `n_T`, in f64.
//! - [`scaled_sgd`] — plain SGD (with the optional penalty λ/2·|w|² per particle) written against
//!   Burn's [`burn::optim::Optimizer`] API, so it drives any Burn module.
//! - [`polyak`] — the running (Polyak) average of the weights from step `n0`.
//! - [`error`] — the typed errors, each naming the offending setting.

pub mod error;
pub mod polyak;
pub mod scaled_sgd;
pub mod schedule;

pub use error::OptimError;
pub use polyak::PolyakAverage;
pub use scaled_sgd::ScaledSgd;
pub use schedule::{Schedule, ScheduleConfig};
