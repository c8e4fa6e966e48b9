//! Burn's dataset interface (`burn_dataset::Dataset`): every dataset here (MNIST, Fashion-MNIST,
//! CIFAR-10, the synthetic task, your arrays) is one, item by item, and any Burn dataset of
//! (features, label) examples becomes one of ours with [`Dataset::from_burn`].
//!
//! How the two meet: Burn's interface is the *source* of examples; training still draws its
//! batches with this crate's [`crate::Sampler`] over the rows of a [`Dataset`], whose state
//! (seed, stream position, permutation, cursor) is what a checkpoint stores for an exact resume.
//! So a Burn dataset is read once into memory, then sampled as ours are.

use crate::{DataError, Dataset};
use burn_dataset::DatasetError;

/// One example: its features and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub features: Vec<f32>,
    pub label: usize,
}

impl From<(Vec<f32>, usize)> for Example {
    fn from((features, label): (Vec<f32>, usize)) -> Self {
        Example { features, label }
    }
}

impl burn_dataset::Dataset<Example> for Dataset {
    fn get(&self, index: usize) -> Result<Example, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(DataError::Invalid {
                what: "index",
                reason: format!("{index} is past the {} examples", self.len()),
            }));
        }
        Ok(Example {
            features: self.row(index).to_vec(),
            label: self.labels[index] as usize,
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

impl Dataset {
    /// Reads every example of a Burn dataset into one of ours, with `classes` classes. Every
    /// example must have the first one's number of features, finite values within
    /// ±[`crate::dataset::MAX_FEATURE`] and a label below `classes` (at most 256).
    pub fn from_burn<D, I>(source: &D, classes: usize) -> Result<Self, DataError>
    where
        D: burn_dataset::Dataset<I> + ?Sized,
        I: Into<Example>,
    {
        let bad = |reason: String| DataError::Invalid {
            what: "Burn dataset",
            reason,
        };
        if classes == 0 || classes > 256 {
            return Err(bad(format!("{classes} classes: give between 1 and 256")));
        }
        let mut images = Vec::new();
        let mut labels = Vec::with_capacity(source.len());
        let mut dim = None;
        for i in 0..source.len() {
            let example: Example = source
                .get(i)
                .map_err(|e| bad(format!("example {i} cannot be read: {e}")))?
                .into();
            let p = *dim.get_or_insert(example.features.len());
            if example.features.len() != p {
                return Err(bad(format!(
                    "example {i} has {} features, example 0 has {p}",
                    example.features.len()
                )));
            }
            if let Some(j) = example.features.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!("feature {j} of example {i} is not finite")));
            }
            if example.label >= classes {
                return Err(bad(format!(
                    "label {} of example {i} is not below the {classes} classes",
                    example.label
                )));
            }
            images.extend(example.features);
            labels.push(example.label as u8);
        }
        let Some(dim) = dim else {
            return Err(DataError::Empty {
                what: "Burn".into(),
                hint: "",
            });
        };
        crate::dataset::check_features(
            &images,
            dim,
            "the Burn dataset",
            "normalise its features before reading it (rows are its examples)",
        )?;
        Dataset::new(images, labels, dim, classes)
    }
}
