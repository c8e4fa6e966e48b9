//! SGD for the width-scaled schedule, as a Burn [`Optimizer`].
//!
//! One step on a parameter tensor `w` (any rank; for this project the rows are particles):
//!
//! ```text
//! w ← w − lr · (∇_w R̂ + (λ/N) · w)
//! ```
//! where `lr = step(n)` comes from [`crate::Schedule::step_size`] and `λ/N · w` is the gradient of
//! the penalty `(1/N) Σ_k λ/2 |w_k|²` of eq. (1) (the penalty V averaged over the N particles).
//! With λ = 0 this is exactly eq. (2). The optimizer has no state, so it can be rebuilt at any
//! step (resuming needs nothing from it).

use burn::optim::{LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};

/// Plain SGD with the optional per-particle L2 penalty λ/2·|w|² of eq. (1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaledSgd {
    penalty: f64,
    width: usize,
}

impl ScaledSgd {
    /// `penalty` is λ ≥ 0 (0 disables it); `width` is N.
    pub fn new(penalty: f64, width: usize) -> Self {
        Self { penalty, width }
    }

    /// λ, the penalty coefficient.
    pub fn penalty(&self) -> f64 {
        self.penalty
    }

    /// The optimizer wrapped for whole Burn modules: `optim.step(lr, module, grads)`.
    pub fn into_module_optimizer(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }

    /// The same update applied to a bare tensor and its gradient (used by the closed-form
    /// gradient path, which computes gradients without an autodiff graph).
    pub fn update<const D: usize>(&self, lr: f64, tensor: Tensor<D>, grad: Tensor<D>) -> Tensor<D> {
        let grad = if self.penalty > 0.0 {
            grad + tensor.clone().mul_scalar(self.penalty / self.width as f64)
        } else {
            grad
        };
        tensor - grad.mul_scalar(lr)
    }
}

impl Optimizer for ScaledSgd {
    type State<const D: usize> = ();

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        _state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        (self.update(lr, tensor, grad), None)
    }

    fn to_device<const D: usize>(state: Self::State<D>, _device: &Device) -> Self::State<D> {
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    // Hand computation: w = [1, -2], g = [0.5, 0.25], lr = 2, λ = 0.5, N = 4:
    // w - lr (g + λ/N w) = [1 - 2(0.5 + 0.125), -2 - 2(0.25 - 0.25)] = [-0.25, -2].
    #[test]
    fn one_step_matches_hand_computation() {
        let device = Device::flex();
        let w = Tensor::<1>::from_floats([1.0, -2.0], &device);
        let g = Tensor::<1>::from_floats([0.5, 0.25], &device);
        let (out, state) = ScaledSgd::new(0.5, 4).step(2.0, w, g, None);
        assert!(state.is_none());
        out.into_data()
            .assert_approx_eq::<f32>(&TensorData::from([-0.25f32, -2.0]), Default::default());
    }
}
