//! Errors of the model crate.

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "unknown initialisation {0:?}: use `pytorch`, `normal:<std>`, `uniform:<a>` or `const:<c>`"
    )]
    UnknownInit(String),
    #[error("initialisation {spec:?}: {reason}")]
    BadInitParameter { spec: String, reason: String },
    #[error(
        "a fixed readout needs an N-independent initial law, but `readout_init` is `pytorch` (U(±1/sqrt(N)) vanishes as N grows): pass e.g. `readout_init` uniform:1 or normal:1"
    )]
    FixedReadoutNeedsWidthFreeInit,
    #[error("{what} must be ≥ 1, got {value}")]
    ZeroSize { what: &'static str, value: usize },
    #[error("{name} has shape {got:?}, expected {expected:?} ({hint})")]
    Shape {
        name: String,
        got: Vec<usize>,
        expected: Vec<usize>,
        hint: &'static str,
    },
}
