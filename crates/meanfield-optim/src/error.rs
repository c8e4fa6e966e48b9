//! Errors of the optimizer crate.

/// A hyperparameter outside its allowed range. `flag` is the command-line flag (and config key)
/// that set it, so the message tells the user what to change.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptimError {
    #[error("invalid {flag} = {value}: must be {allowed}")]
    OutOfRange {
        flag: &'static str,
        value: f64,
        allowed: &'static str,
    },
    #[error(
        "{flag} = {value} gives no training step: n_T = floor(T / γ_αβ(N)) = 0; raise `horizon` or pass `steps`"
    )]
    NoSteps { flag: &'static str, value: f64 },
}
