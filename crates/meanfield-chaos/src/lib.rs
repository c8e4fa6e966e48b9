//! Measures of propagation of chaos for particle systems (no Burn dependency).
//!
//! - [`wasserstein`] — the exact Wasserstein-2 distance between two empirical laws on the line.
//! - [`sliced`] — the sliced Wasserstein-2 distance between two clouds in R^d, with seeded
//!   projections, and its mean and spread over projection seeds.
//! - [`density`] — histogram on a fixed window and Gaussian kernel density estimate of one
//!   coordinate (the paper's histograms and "limit densities").
//! - [`coupling`] — the synchronous-coupling distance of Theorems 1 and 2 between two runs
//!   started from the same particles, along a shared time grid.
//! - [`tail`] — tail indices (Hill, moment estimator) with their intervals, whether W2 can
//!   converge for such a law, and distances that stay finite for heavy tails (W1, trimmed W2).
//! - [`rate`] — the least-squares fit of log W2 against log N, with a confidence interval.
//! - [`repeat`] — the first value a list gives twice.
//! - [`error`] — typed errors.

pub mod coupling;
pub mod density;
pub mod error;
pub mod rate;
pub mod repeat;
pub mod sliced;
pub mod tail;
pub mod two_term;
pub mod wasserstein;

pub use coupling::{CouplingDistance, coupling_distance};
pub use density::{Histogram, histogram, kde, linspace};
pub use error::ChaosError;
pub use rate::{RateFit, ReplicateInterval, confidence_band, fit_rate, replicate_interval};
pub use repeat::first_repeat;
pub use sliced::{Cloud, SlicedW2, sliced_w2, sliced_w2_seeds};
pub use tail::{TailIndex, TailVerdict, hill, tail_index, trimmed_w2_1d, w1_1d};
pub use two_term::{
    TwoTermFit, WidthRuns, check_reference_share, corrected_rate, fit_two_terms,
    noise_exponent_checked, reference_correction, theorem1_noise_exponent,
};
pub use wasserstein::w2_1d;
