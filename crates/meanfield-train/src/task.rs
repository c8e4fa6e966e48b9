//! The data a run trains and tests on.

use crate::{TrainConfig, TrainError};
use meanfield_data::{DataError, Dataset, DatasetKind};
use std::sync::Arc;

/// Training and test sets, already cut to `--train-subset` / `--test-subset`. The training set
/// is shared with the [`crate::Stepper`] that samples it (no copy).
pub struct Task {
    pub train: Arc<Dataset>,
    pub test: Dataset,
}

impl Task {
    /// Generates the synthetic task, or loads the dataset from `data_dir`. Never fetches: a
    /// missing dataset is an error that says how to get it (the command line fetches MNIST
    /// and Fashion-MNIST before training unless `--no-fetch`).
    pub fn load(config: &TrainConfig) -> Result<Self, TrainError> {
        let (train, test) = match config.dataset {
            DatasetKind::Synthetic => config.synthetic.generate()?,
            DatasetKind::Arrays => meanfield_data::arrays::load(&config.data_dir, &config.arrays)?,
            kind => kind.load(&config.data_dir)?,
        };
        Self::new(config, train, test)
    }

    /// The task of any Burn datasets of (features, label) examples with `classes` classes, read
    /// into memory ([`Dataset::from_burn`]); then cut and checked as [`Self::load`] does.
    pub fn from_burn<D, E, I>(
        config: &TrainConfig,
        train: &D,
        test: &E,
        classes: usize,
    ) -> Result<Self, TrainError>
    where
        D: burn_dataset::Dataset<I> + ?Sized,
        E: burn_dataset::Dataset<I> + ?Sized,
        I: Into<meanfield_data::Example>,
    {
        let train = Dataset::from_burn(train, classes)?;
        let test = if test.is_empty() {
            Dataset::new(Vec::new(), Vec::new(), train.dim, classes)?
        } else {
            Dataset::from_burn(test, classes)?
        };
        if test.dim != train.dim {
            return Err(DataError::Invalid {
                what: "Burn dataset",
                reason: format!(
                    "the test examples have {} features, the training examples {}",
                    test.dim, train.dim
                ),
            }
            .into());
        }
        Self::new(config, train, test)
    }

    /// Cuts the sets to `--train-subset` / `--test-subset` and checks them against the batch.
    fn new(config: &TrainConfig, train: Dataset, test: Dataset) -> Result<Self, TrainError> {
        let train = match config.train_subset {
            Some(k) => train.truncate(k),
            None => train,
        };
        let test = match config.test_subset {
            Some(k) => test.truncate(k),
            None => test,
        };
        if train.is_empty() {
            return Err(DataError::Empty {
                what: "training".into(),
                hint: "",
            }
            .into());
        }
        if config.batch > train.len() && config.sampling == meanfield_data::Sampling::Epochs {
            return Err(DataError::BatchTooLarge {
                batch: config.batch,
                len: train.len(),
                what: "training".into(),
            }
            .into());
        }
        Ok(Self {
            train: Arc::new(train),
            test,
        })
    }
}
