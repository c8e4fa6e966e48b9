//! A run's particles, read back from its weights.

use crate::StudyError;
use meanfield_chaos::sliced::concat_columns;
use meanfield_model::Readout;
use meanfield_train::{TrainConfig, weights};
use std::path::Path;

/// Hidden weights [N, p] and readout [N, C] of one run.
#[derive(Debug, Clone)]
pub struct Particles {
    pub width: usize,
    pub input_dim: usize,
    pub classes: usize,
    pub hidden: Vec<f32>,
    pub readout: Vec<f32>,
    /// Whether the readout was trained (then a particle is its hidden row and readout row).
    pub trainable_readout: bool,
}

/// `coordinate` j is one of the p = `input_dim` coordinates of a hidden particle, else an
/// error saying which are.
pub fn check_coordinate(j: usize, input_dim: usize) -> Result<(), StudyError> {
    if j < input_dim {
        Ok(())
    } else {
        Err(StudyError::Invalid(format!(
            "`coordinate` {j} is not a coordinate of the hidden particles, which have p = {input_dim} (0 to {})",
            input_dim.saturating_sub(1)
        )))
    }
}

/// The input dimension p of `base`'s dataset when it is known before any data is read (MNIST,
/// Fashion-MNIST, CIFAR-10, the synthetic task; not your own arrays).
pub fn known_input_dim(base: &meanfield_train::TrainConfig) -> Option<usize> {
    use meanfield_data::DatasetKind;
    match base.dataset {
        DatasetKind::Mnist | DatasetKind::FashionMnist => Some(784),
        DatasetKind::Cifar10 => Some(3072),
        DatasetKind::Synthetic => Some(base.synthetic.dim),
        DatasetKind::Arrays => None,
    }
}

impl Particles {
    /// Reads `hidden.npy` and `readout.npy` of a finished run, after checking its files are
    /// as written ([`meanfield_train::run_dir::verify`]): the widths from its `config.toml`, p
    /// and C from the files (so any dataset works, your own arrays too).
    pub fn load(dir: &Path) -> Result<Self, StudyError> {
        meanfield_train::run_dir::verify(dir)?;
        let config_path = dir.join(meanfield_train::layout::CONFIG);
        let table = meanfield_train::config::read_table(&config_path)?;
        let config = TrainConfig::resolve(vec![(config_path.display().to_string(), table)])?;
        let (hidden, [rows, input_dim]) = weights::load_matrix(&dir.join(weights::HIDDEN))?;
        let (readout, [readout_rows, classes]) = weights::load_matrix(&dir.join(weights::READOUT))?;
        if rows != config.net_width() || readout_rows != rows {
            return Err(StudyError::Invalid(format!(
                "{}: {rows} hidden rows and {readout_rows} readout rows for a width-{} run: the weights are not this run's",
                dir.display(),
                config.net_width()
            )));
        }
        Ok(Self {
            width: rows,
            input_dim,
            classes,
            hidden,
            readout,
            trainable_readout: config.readout == Readout::Trainable,
        })
    }

    /// Column `j` of the hidden weights: coordinate j of every particle (j = 0 is the paper's
    /// "coordinate (1, 1)"); an error naming `coordinate` when the particles have no such one.
    pub fn hidden_coordinate(&self, j: usize) -> Result<Vec<f64>, StudyError> {
        check_coordinate(j, self.input_dim)?;
        Ok(self
            .hidden
            .chunks_exact(self.input_dim)
            .map(|row| row[j] as f64)
            .collect())
    }

    /// The particle cloud: rows of W1 in R^p, or (W1 row, W2 row) in R^(p+C) when the readout
    /// was trained.
    pub fn cloud(&self) -> Result<(Vec<f32>, usize), StudyError> {
        if self.trainable_readout {
            Ok((
                concat_columns(&self.hidden, self.input_dim, &self.readout, self.classes)?,
                self.input_dim + self.classes,
            ))
        } else {
            Ok((self.hidden.clone(), self.input_dim))
        }
    }
}
