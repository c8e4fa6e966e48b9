//! An in-memory classification dataset: normalised, flattened f32 rows and u8 labels.

use crate::DataError;

/// The largest |feature| a dataset takes, after normalisation: 10^6.
///
/// Why this bound. No normalised data come near it: pixels divided by 255 and standardised with
/// the published constants stay within ±4 (MNIST's (1 − 0.1307)/0.3081 = 2.82, CIFAR-10's
/// (1 − 0.447)/0.262 = 2.11), raw pixels are at most 255, and a column standardised with its own
/// mean and population standard deviation stays within √(n − 1) (Samuelson's inequality): 245
/// for 60,000 rows; reaching 10^6 takes 10^12 rows. Features far beyond it cannot be meant: the
/// network's logits (1/N) Σ_k a_k relu(⟨w_k, x⟩) grow like |x|, and a step of size γN^β (178 at
/// N = 1000, β = 0.75, γ = 1) moves each w_k along x, so it moves the logits in proportion to
/// γN^β |x|²: one feature of 10^6 makes that move 10^12 times what features of order 1 give,
/// and values toward f32's largest, 3.4·10^38, overflow the very first product ⟨w_k, x⟩. Such a
/// run then stops as "diverged", blaming the step size, when the data are at fault: this bound
/// names the data instead.
pub const MAX_FEATURE: f32 = 1e6;

/// Refuses rows (`dim` features each) holding a feature that is not finite or beyond
/// ±[`MAX_FEATURE`]: the error names `origin`, the row, the feature and its value, and ends
/// with `fix`. The one check every dataset passes: [`Dataset::new`] calls it; the readers of
/// your own data (`.npy` arrays, Burn datasets) call it first, to name the file or source.
pub fn check_features(
    values: &[f32],
    dim: usize,
    origin: &str,
    fix: &str,
) -> Result<(), DataError> {
    match values
        .iter()
        .position(|v| !v.is_finite() || v.abs() > MAX_FEATURE)
    {
        None => Ok(()),
        Some(i) => Err(DataError::Feature {
            origin: origin.to_string(),
            row: i / dim.max(1),
            feature: i % dim.max(1),
            value: values[i],
            fix: fix.to_string(),
        }),
    }
}

/// The fix [`Dataset::new`] suggests for a feature out of range.
const NORMALISE: &str = "normalise the features before making the dataset (for instance, \
    standardise each one with the training set's mean and standard deviation)";

/// Training or test part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// `len` rows of `dim` features (row-major in `images`) and their labels in `0..classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
    pub dim: usize,
    pub classes: usize,
}

impl Dataset {
    /// Checks that sizes agree, every label is in range and every feature is finite and within
    /// ±[`MAX_FEATURE`] ([`check_features`]).
    pub fn new(
        images: Vec<f32>,
        labels: Vec<u8>,
        dim: usize,
        classes: usize,
    ) -> Result<Self, DataError> {
        if dim == 0 || images.len() != labels.len() * dim {
            return Err(DataError::Invalid {
                what: "dataset",
                reason: format!(
                    "{} values is not {} rows of {dim} features",
                    images.len(),
                    labels.len()
                ),
            });
        }
        if let Some((i, y)) = labels
            .iter()
            .enumerate()
            .find(|(_, y)| **y as usize >= classes)
        {
            return Err(DataError::Invalid {
                what: "labels",
                reason: format!(
                    "label {y} at index {i} is not below the number of classes {classes}"
                ),
            });
        }
        check_features(&images, dim, "the dataset's features", NORMALISE)?;
        Ok(Self {
            images,
            labels,
            dim,
            classes,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Row i.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.images[i * self.dim..(i + 1) * self.dim]
    }

    /// The first `k` examples (all of them if k ≥ len).
    pub fn truncate(mut self, k: usize) -> Self {
        let k = k.min(self.len());
        self.labels.truncate(k);
        self.images.truncate(k * self.dim);
        self
    }

    /// Copies rows `indices` into one row-major batch, with their labels.
    pub fn gather(&self, indices: &[usize]) -> (Vec<f32>, Vec<u8>) {
        let mut x = Vec::with_capacity(indices.len() * self.dim);
        let mut y = Vec::with_capacity(indices.len());
        for &i in indices {
            x.extend_from_slice(self.row(i));
            y.push(self.labels[i]);
        }
        (x, y)
    }
}
