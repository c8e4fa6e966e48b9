//! An in-memory classification dataset: normalised, flattened f32 rows and u8 labels.

use crate::DataError;

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
    /// Checks that sizes agree and every label is in range.
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
