//! Activations: ReLU (the paper's experiments) and the smooth sigmoid and tanh (the theory's
//! assumptions need a smooth, bounded activation).

use crate::ModelError;
use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Relu,
    Sigmoid,
    Tanh,
}

impl Activation {
    /// act(h), elementwise.
    pub fn forward<const D: usize>(&self, h: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(h),
            Activation::Sigmoid => activation::sigmoid(h),
            Activation::Tanh => activation::tanh(h),
        }
    }

    /// act'(h) given the pre-activation h and the activation a = act(h) (whichever is cheaper).
    /// ReLU'(0) is taken as 0, as autodiff does.
    pub fn derivative<const D: usize>(&self, h: Tensor<D>, a: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => h.greater_elem(0.0).float(),
            Activation::Sigmoid => a.clone() * (a.neg().add_scalar(1.0)),
            Activation::Tanh => (a.clone() * a).neg().add_scalar(1.0),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        })
    }
}

impl FromStr for Activation {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relu" => Ok(Activation::Relu),
            "sigmoid" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            other => Err(ModelError::UnknownActivation(other.to_string())),
        }
    }
}
