//! The data a run trains and tests on.

use crate::{TrainConfig, TrainError};
use meanfield_data::{DataError, Dataset, DatasetKind};

/// Training and test sets, already cut to `--train-subset` / `--test-subset`.
pub struct Task {
    pub train: Dataset,
    pub test: Dataset,
}

impl Task {
    /// Generates the synthetic task, or loads the dataset from `data_dir` (fetching MNIST or
    /// Fashion-MNIST first when files are missing and `fetch` is on).
    pub fn load(config: &TrainConfig, log: &mut dyn FnMut(&str)) -> Result<Self, TrainError> {
        let (train, test) = match config.dataset {
            DatasetKind::Synthetic => config.synthetic.generate()?,
            kind => {
                let dir = kind.dir(&config.data_dir);
                let fetchable = matches!(kind, DatasetKind::Mnist | DatasetKind::FashionMnist);
                if config.fetch && fetchable && !kind.missing(&dir).is_empty() {
                    log(&format!(
                        "{kind} is missing from {}: fetching it",
                        dir.display()
                    ));
                    kind.fetch(&config.data_dir, log)?;
                }
                kind.load(&config.data_dir)?
            }
        };
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
        Ok(Self { train, test })
    }
}
