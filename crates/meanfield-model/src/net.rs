//! The network's weights as a Burn module, and its forward pass.

use crate::{Activation, Readout, flex_products};
use burn::module::{Module, Param};
use burn::tensor::{Tensor, TensorData};

/// `f(x) = (1/N) · act(x W1ᵀ) W2`, for a batch x of shape [M, p]; logits [M, C].
///
/// Row k of `hidden` (W1, [N, p]) and row k of `readout` (W2, [N, C]) together are particle k.
/// No biases. With [`Readout::Fixed`] the readout parameter does not require a gradient, so
/// autodiff computes none and no Burn optimizer touches it.
#[derive(Module, Debug)]
pub struct MeanFieldNet {
    pub hidden: Param<Tensor<2>>,
    pub readout: Param<Tensor<2>>,
    #[module(skip)]
    pub activation: Activation,
    #[module(skip)]
    pub readout_mode: Readout,
}

/// Forward quantities kept for the closed-form gradient.
pub struct ForwardTrace {
    /// Pre-activations H = x W1ᵀ, [M, N] (a transposed view of the particle-major [N, M]
    /// tensor the forward computes: `pre.transpose()` is contiguous).
    pub pre: Tensor<2>,
    /// Activations A = act(H), [M, N] (particle-major underneath, as `pre`).
    pub act: Tensor<2>,
    /// Logits A W2 / N, [M, C].
    pub logits: Tensor<2>,
}

impl MeanFieldNet {
    /// N.
    pub fn width(&self) -> usize {
        self.hidden.dims()[0]
    }

    /// p.
    pub fn input_dim(&self) -> usize {
        self.hidden.dims()[1]
    }

    /// C.
    pub fn classes(&self) -> usize {
        self.readout.dims()[1]
    }

    /// Logits [M, C] of a batch [M, p].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_trace(x).logits
    }

    /// The forward pass, keeping the intermediate tensors.
    pub fn forward_trace(&self, x: Tensor<2>) -> ForwardTrace {
        self.forward_trace_in(x, None)
    }

    /// [`Self::forward_trace`] of this network, or, with `part`, of the block of particles it
    /// holds of the whole network `part` describes: the logits are then the whole network's
    /// ([`PartialSum::sum`] of every block's `A W2 / N`, N the whole width).
    pub fn forward_trace_in(&self, x: Tensor<2>, part: Option<&dyn PartialSum>) -> ForwardTrace {
        let n = part.map_or(self.width(), |p| p.total_width()) as f64;
        let w = self.hidden.val();
        // Particle-major, Hᵀ = W1 xᵀ [N, M]: the layout the step's products and elementwise
        // passes want ([`flex_products`]).
        let on_flex = flex_products::applies(&[&w, &x]);
        // With ReLU on Flex, the forward's kernel writes ReLU's output as it goes.
        let both = (on_flex && self.activation == Activation::Relu)
            .then(|| flex_products::product_transposed_relu(&w, &x))
            .flatten();
        let (pre_t, act_t) = both.unwrap_or_else(|| {
            let pre_t = if on_flex {
                flex_products::product_transposed(&w, &x)
            } else {
                w.matmul(x.transpose())
            };
            let act_t = self.activation.forward(pre_t.clone());
            (pre_t, act_t)
        });
        let w2 = self.readout.val();
        let logits = if crate::flex_logits::applies(&act_t, &w2) {
            crate::flex_logits::logits(&act_t, &w2)
        } else {
            act_t.clone().transpose().matmul(w2)
        }
        .div_scalar(n);
        let pre = pre_t.transpose();
        let act = act_t.transpose();
        let logits = match part {
            None => logits,
            Some(p) => p.sum(logits),
        };
        ForwardTrace { pre, act, logits }
    }

    /// Replaces the weights (keeping parameter ids and each parameter's training state, so a
    /// fixed readout stays frozen).
    pub fn with_weights(self, hidden: Tensor<2>, readout: Tensor<2>) -> Self {
        Self {
            hidden: self.hidden.map(|_| hidden),
            readout: self.readout.map(|_| readout),
            activation: self.activation,
            readout_mode: self.readout_mode,
        }
    }

    /// The weights as row-major f32 vectors: (hidden [N·p], readout [N·C]).
    pub fn weights_to_vec(&self) -> (Vec<f32>, Vec<f32>) {
        (to_vec(self.hidden.val()), to_vec(self.readout.val()))
    }
}

/// A network's particles split into blocks (shards), each held by one process: the logits
/// `(1/N) Σ_k a_k act(<w_k, x>)` are a sum over particles, so each block computes its partial
/// sum and the blocks add them up. Nothing else couples the particles.
pub trait PartialSum {
    /// N, the whole network's width (the 1/N of every block's partial logits).
    fn total_width(&self) -> usize;
    /// The particles of the largest block (every block sizes what it shares by it, so all
    /// take the same steps).
    fn largest_block(&self) -> usize;
    /// The whole network's logits [M, C] from this block's partial logits [M, C]: the sum over
    /// every block, added in one fixed order, so that every block gets the same bits.
    fn sum(&self, partial: Tensor<2>) -> Tensor<2>;
}

/// A float tensor's values on the host, row-major.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data: TensorData = t.into_data();
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .expect("a float tensor converts to f32")
}
