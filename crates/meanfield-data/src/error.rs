//! Errors of the data crate. Each names the file (or setting) and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid {format} file: {reason}")]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },
    #[error(
        "{images} has {n_images} images but {labels} has {n_labels} labels: the two files do not belong together"
    )]
    LengthMismatch {
        images: PathBuf,
        labels: PathBuf,
        n_images: usize,
        n_labels: usize,
    },
    #[error("{dataset} not found in {dir}: missing {missing}. {fix}")]
    Missing {
        dataset: &'static str,
        dir: PathBuf,
        missing: String,
        fix: String,
    },
    #[error(
        "{path}: SHA-256 is {got}, expected {expected}; the file is corrupt or not the canonical one: delete it and run `experiments fetch {dataset}`"
    )]
    Checksum {
        path: PathBuf,
        dataset: &'static str,
        got: String,
        expected: String,
    },
    #[error("fetching {dataset} failed: {reason}")]
    Fetch {
        dataset: &'static str,
        reason: String,
    },
    #[error("the {what} set is empty{hint}")]
    Empty { what: String, hint: &'static str },
    #[error(
        "`batch` {batch} is larger than the {what} set ({len} examples): lower `batch` or raise `train_subset`"
    )]
    BatchTooLarge {
        batch: usize,
        len: usize,
        what: String,
    },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A feature no normalised data set holds ([`crate::dataset::check_features`]).
    #[error(
        "{origin}: row {row}, feature {feature} is {value:e} after normalisation, {}: {fix}",
        feature_problem(*value)
    )]
    Feature {
        /// The file (or the source) the rows came from.
        origin: String,
        row: usize,
        feature: usize,
        value: f32,
        fix: String,
    },
}

fn feature_problem(value: f32) -> String {
    if value.is_finite() {
        format!(
            "beyond the ±{:e} a feature may have (the training step's float32 products grow with |x|²)",
            crate::dataset::MAX_FEATURE
        )
    } else {
        "not a finite number".into()
    }
}
