//! The data a run trains and tests on.

use crate::{TrainConfig, TrainError};
use meanfield_data::{DataError, Dataset, DatasetKind};
use std::sync::Arc;

/// Training and test sets, already cut to `--train-subset` / `--test-subset`. Both are shared,
/// not copied: the training set with the [`crate::Stepper`] that samples it, both with the
/// blocks of a run split over one device's buffers ([`crate::trainer`]).
#[derive(Clone)]
pub struct Task {
    pub train: Arc<Dataset>,
    pub test: Arc<Dataset>,
}

impl Task {
    /// Generates the synthetic task, or loads the dataset from `data_dir`. Never fetches: a
    /// missing dataset is an error that says how to get it (the command line fetches MNIST
    /// and Fashion-MNIST before training unless `--no-fetch`).
    pub fn load(config: &TrainConfig) -> Result<Self, TrainError> {
        let (train, test) = match config.dataset {
            DatasetKind::Synthetic => {
                let s = &config.synthetic;
                let values = (s.train as u128 + s.test as u128) * s.dim as u128;
                let bytes = values * 4;
                let available = crate::memory::available().map_or(u128::MAX, |b| b as u128);
                let gb = |b: u128| format!("{:.1} GB", b as f64 / 1e9);
                if bytes > available {
                    return Err(TrainError::Config {
                        source_name: "`synthetic`".into(),
                        message: format!(
                            "{} + {} examples of {} features take {} of memory, more than the {} available: lower `train`, `test` or `dim` in the [synthetic] table",
                            s.train,
                            s.test,
                            s.dim,
                            gb(bytes),
                            gb(available)
                        ),
                    });
                }
                s.generate()?
            }
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
    /// A subset larger than its set is refused (config.toml would record examples the run
    /// never saw), naming the set's size.
    fn new(config: &TrainConfig, train: Dataset, test: Dataset) -> Result<Self, TrainError> {
        if !test.is_empty() && test.dim != train.dim {
            return Err(DataError::Invalid {
                what: "dataset",
                reason: format!(
                    "the test examples of {} in {} have {} features, the training examples {}: the files do not belong together",
                    config.dataset,
                    config.data_dir.display(),
                    test.dim,
                    train.dim
                ),
            }
            .into());
        }
        let cut = |set: Dataset, subset: Option<usize>, key: &str, what: &str| match subset {
            Some(_) if set.is_empty() => Err(TrainError::Config {
                source_name: format!("`{key}`"),
                message: format!("{} has no {what} set: leave `{key}` out", config.dataset),
            }),
            Some(k) if k > set.len() => Err(TrainError::Config {
                source_name: format!("`{key}`"),
                message: format!(
                    "{k} is more than the {} examples of the {what} set of {}: leave `{key}` out to use all of them, or give at most {}",
                    set.len(),
                    config.dataset,
                    set.len()
                ),
            }),
            Some(k) => Ok(set.truncate(k)),
            None => Ok(set),
        };
        let train = cut(train, config.train_subset, "train_subset", "training")?;
        let test = cut(test, config.test_subset, "test_subset", "test")?;
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
            test: Arc::new(test),
        })
    }
}
