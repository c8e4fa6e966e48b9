//! Where each dataset's files live and loading by name (fetching them: [`crate::fetch`]).
//!
//! Layout under the data directory (default `data/`):
//! - `mnist/` and `fashion-mnist/`: `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
//!   `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz` (or the same without `.gz`).
//! - `cifar10/`: `data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin`.

use crate::idx;
use crate::normalize::{MNIST_MEAN, MNIST_STD};
use crate::{DataError, Dataset};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::{fmt, str::FromStr};

/// The datasets the trainer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
    Cifar10,
    Synthetic,
    /// Your own `.npy` arrays, in the data directory itself ([`crate::arrays`]).
    Arrays,
}

/// IDX file names in train-images, train-labels, test-images, test-labels order.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mnist" => Ok(Self::Mnist),
            "fashion-mnist" => Ok(Self::FashionMnist),
            "cifar10" | "cifar" | "cifar-10" => Ok(Self::Cifar10),
            "synthetic" => Ok(Self::Synthetic),
            "arrays" => Ok(Self::Arrays),
            other => Err(DataError::Invalid {
                what: "dataset",
                reason: format!(
                    "{other:?}: use mnist, fashion-mnist, cifar10, synthetic or arrays"
                ),
            }),
        }
    }
}

impl DatasetKind {
    /// The name used on the command line and as the folder under the data directory.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Cifar10 => "cifar10",
            Self::Synthetic => "synthetic",
            Self::Arrays => "arrays",
        }
    }

    /// The folder holding this dataset's files (for `arrays`, the data directory itself).
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        match self {
            Self::Arrays => data_dir.to_path_buf(),
            _ => data_dir.join(self.name()),
        }
    }

    /// Input dimension p.
    pub fn input_dim(&self) -> Option<usize> {
        match self {
            Self::Mnist | Self::FashionMnist => Some(784),
            Self::Cifar10 => Some(3072),
            Self::Synthetic | Self::Arrays => None,
        }
    }

    pub(crate) fn files(&self) -> Vec<&'static str> {
        match self {
            Self::Mnist | Self::FashionMnist => IDX_FILES.to_vec(),
            Self::Cifar10 => {
                let mut v = crate::cifar::TRAIN_FILES.to_vec();
                v.push(crate::cifar::TEST_FILE);
                v
            }
            Self::Arrays => crate::arrays::FILES[..2].to_vec(),
            Self::Synthetic => vec![],
        }
    }

    /// The files a load of this dataset reads from the data directory (those present): the
    /// inputs a run's fingerprint covers. None for the generated synthetic task.
    pub fn input_files(&self, data_dir: &Path) -> Vec<PathBuf> {
        match self {
            Self::Mnist | Self::FashionMnist => {
                let dir = self.dir(data_dir);
                IDX_FILES
                    .iter()
                    .filter_map(|f| idx::find(&dir, f))
                    .collect()
            }
            Self::Cifar10 => crate::cifar::locate(data_dir)
                .map(|(dir, format)| {
                    crate::cifar::files(format)
                        .iter()
                        .map(|f| dir.join(f))
                        .collect()
                })
                .unwrap_or_default(),
            Self::Arrays => crate::arrays::FILES
                .iter()
                .map(|f| data_dir.join(f))
                .filter(|p| p.is_file())
                .collect(),
            Self::Synthetic => Vec::new(),
        }
    }

    /// Files missing from `dir` (an `.gz` IDX file may also be present uncompressed).
    pub fn missing(&self, dir: &Path) -> Vec<&'static str> {
        self.files()
            .into_iter()
            .filter(|f| idx::find(dir, f).is_none())
            .collect()
    }

    fn missing_error(&self, dir: &Path, missing: &[&str]) -> DataError {
        let fix = match self {
            Self::Arrays => "save them from NumPy (np.save) into that folder, or point `data_dir` at the folder that has them".to_string(),
            Self::Cifar10 => format!(
                "No package registry carries CIFAR-10: download {}, unpack it and put \
                 data_batch_1.bin .. data_batch_5.bin and test_batch.bin in {} (or, on a machine \
                 with internet access, run the same command without `no_fetch`, or \
                 `experiments fetch cifar10`). The Python \
                 version (cifar-10-batches-py/, as torchvision keeps it) is read too, from \
                 that folder or from the data directory itself",
                crate::cifar::CIFAR10_URL,
                dir.display()
            ),
            _ => format!(
                "run `experiments fetch {}` (add `data_dir` {} if you use another data directory)",
                self.name(),
                dir.parent().unwrap_or(dir).display()
            ),
        };
        DataError::Missing {
            dataset: self.name(),
            dir: dir.to_path_buf(),
            missing: missing.join(", "),
            fix,
        }
    }

    /// Ok when every file is in `data_dir/<name>`; else the error that says which files are
    /// missing and how to get them.
    pub fn check_present(&self, data_dir: &Path) -> Result<(), DataError> {
        if *self == Self::Cifar10 && crate::cifar::locate(data_dir).is_some() {
            return Ok(());
        }
        let dir = self.dir(data_dir);
        let missing = self.missing(&dir);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(self.missing_error(&dir, &missing))
        }
    }

    /// Loads (train, test) from `data_dir/<name>`. Files are checked for structure; their
    /// checksums are checked when fetched.
    pub fn load(&self, data_dir: &Path) -> Result<(Dataset, Dataset), DataError> {
        self.check_present(data_dir)?;
        let dir = self.dir(data_dir);
        let path = |f: &str| idx::find(&dir, f).expect("checked above");
        match self {
            Self::Mnist | Self::FashionMnist => {
                let load = |i: usize, l: usize| {
                    idx::load_pair(
                        &path(IDX_FILES[i]),
                        &path(IDX_FILES[l]),
                        MNIST_MEAN[0],
                        MNIST_STD[0],
                        10,
                    )
                };
                Ok((load(0, 1)?, load(2, 3)?))
            }
            Self::Cifar10 => crate::cifar::load_dir(data_dir).expect("checked above"),
            Self::Synthetic => Err(DataError::Invalid {
                what: "dataset",
                reason: "the synthetic task is generated, not loaded: use SyntheticConfig".into(),
            }),
            // Without normalisation or a class count: `crate::arrays::load` takes them.
            Self::Arrays => crate::arrays::load(data_dir, &crate::arrays::ArraysConfig::default()),
        }
    }
}
