//! Settings of the network, separate from its weights: `MeanFieldNetConfig::init` joins them.

use crate::{Activation, Init, MeanFieldNet, ModelError};
use burn::config::Config;
use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Whether the readout (second layer) is trained.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Readout {
    /// Both layers are trained: particle k is (row k of W1, row k of W2). The authors' code.
    #[default]
    Trainable,
    /// The readout keeps its initial value and is not handed to the optimizer. The theory.
    Fixed,
}

/// Hyperparameters of the network. The defaults here are the only defaults of the model.
#[derive(Config, Debug, PartialEq)]
pub struct MeanFieldNetConfig {
    /// N, the number of hidden neurons (particles).
    pub width: usize,
    /// p, the input dimension (784 for MNIST, 3072 for CIFAR-10).
    pub input_dim: usize,
    /// C, the number of classes.
    #[config(default = 10)]
    pub classes: usize,
    #[config(default = "Readout::Trainable")]
    pub readout: Readout,
    /// Law of the hidden weights W1.
    #[config(default = "Init::Pytorch")]
    pub hidden_init: Init,
    /// Law of the readout W2.
    #[config(default = "Init::Pytorch")]
    pub readout_init: Init,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl MeanFieldNetConfig {
    /// Checks the sizes and that a fixed readout has an N-independent law.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.check_sizes()?;
        if self.readout == Readout::Fixed && self.readout_init.depends_on_fan_in() {
            return Err(ModelError::FixedReadoutNeedsWidthFreeInit);
        }
        Ok(())
    }

    /// Checks only that N, p and C are positive (weights given from files have no law to check).
    pub fn check_sizes(&self) -> Result<(), ModelError> {
        for (what, value) in [
            ("`width` (N)", self.width),
            ("the input dimension p", self.input_dim),
            ("the number of classes C", self.classes),
        ] {
            if value == 0 {
                return Err(ModelError::ZeroSize { what, value });
            }
        }
        Ok(())
    }

    /// Draws the initial weights from `seed` (on the CPU, so every backend gets the same
    /// numbers; see [`Self::sample_particles`]) and builds the module on `device`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<MeanFieldNet, ModelError> {
        self.validate()?;
        let (hidden, readout) = self.sample_particles(seed);
        self.init_with(device, hidden, readout)
    }

    /// The initial particles, row-major: hidden [N, p] and readout [N, C]. Particle k (its
    /// hidden row, then its readout row) is drawn from ChaCha8 stream k of `seed`, so it
    /// depends only on (seed, k): a network of width N starts from exactly the first N
    /// particles of any wider network with the same seed (the coupling of Theorems 1 and 2).
    /// An N-dependent law (`pytorch`'s readout U(±1/√N)) scales the same draw by its width.
    pub fn sample_particles(&self, seed: u64) -> (Vec<f32>, Vec<f32>) {
        self.sample_particle_rows(seed, 0..self.width)
    }

    /// Particles `rows` of [`Self::sample_particles`] (a shard's block), drawn alone: the same
    /// values as those rows of the whole draw, without drawing the others.
    pub fn sample_particle_rows(
        &self,
        seed: u64,
        rows: std::ops::Range<usize>,
    ) -> (Vec<f32>, Vec<f32>) {
        let (p, c) = (self.input_dim, self.classes);
        let mut hidden = Vec::with_capacity(rows.len() * p);
        let mut readout = Vec::with_capacity(rows.len() * c);
        let base = ChaCha8Rng::seed_from_u64(seed);
        for k in rows {
            let mut rng = base.clone();
            rng.set_stream(k as u64);
            hidden.extend(self.hidden_init.sample(1, p, p, &mut rng));
            readout.extend(self.readout_init.sample(1, c, self.width, &mut rng));
        }
        (hidden, readout)
    }

    /// Builds the module from given row-major weights: `hidden` [N, p], `readout` [N, C].
    pub fn init_with(
        &self,
        device: &Device,
        hidden: Vec<f32>,
        readout: Vec<f32>,
    ) -> Result<MeanFieldNet, ModelError> {
        self.check_sizes()?;
        let check = |name: &str, len: usize, expected: [usize; 2]| {
            if len == expected[0] * expected[1] {
                Ok(())
            } else {
                Err(ModelError::Shape {
                    name: name.to_string(),
                    got: vec![len],
                    expected: expected.to_vec(),
                    hint: "values, row-major",
                })
            }
        };
        check("hidden weights", hidden.len(), [self.width, self.input_dim])?;
        check("readout weights", readout.len(), [self.width, self.classes])?;
        let hidden = Tensor::<2>::from_data(
            TensorData::new(hidden, [self.width, self.input_dim]),
            device,
        );
        let readout =
            Tensor::<2>::from_data(TensorData::new(readout, [self.width, self.classes]), device);
        let readout = Param::from_tensor(readout);
        let readout = match self.readout {
            Readout::Trainable => readout,
            Readout::Fixed => readout.set_require_grad(false),
        };
        Ok(MeanFieldNet {
            hidden: Param::from_tensor(hidden),
            readout,
            activation: self.activation,
            readout_mode: self.readout,
        })
    }
}
