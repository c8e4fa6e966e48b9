//! Errors of the chaos measures.

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ChaosError {
    #[error("{what} is empty: a Wasserstein distance needs at least one particle on each side")]
    Empty { what: &'static str },
    #[error("{what} contains a non-finite value at index {index}")]
    NotFinite { what: &'static str, index: usize },
    #[error(
        "the clouds live in different dimensions ({left} vs {right}): compare weights of the same dataset and readout mode"
    )]
    Dimension { left: usize, right: usize },
    #[error("{values} values do not make rows of dimension {dim}")]
    Ragged { values: usize, dim: usize },
    #[error("a rate fit needs at least {needed} points with positive distance, got {got}")]
    TooFewPoints { needed: usize, got: usize },
    #[error(
        "a histogram needs a window lo < hi and at least one bin (got [{lo}, {hi}), {bins} bins)"
    )]
    Window { lo: f64, hi: f64, bins: usize },
    #[error(
        "the trajectories have {left} and {right} snapshot times: compare runs with the same `snapshots` K and horizon T"
    )]
    Times { left: usize, right: usize },
    #[error("`projections` must be ≥ 1")]
    NoProjections,
    #[error("{0}")]
    Invalid(String),
}
