//! One training step: gradients (closed form, or Burn autodiff) and the [`ScaledSgd`] update.

use crate::Engine;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use meanfield_model::{
    MeanFieldNet, PartialSum, block_factors, closed_form_factors, cross_entropy, flex_products,
    weighted_factors,
};
use meanfield_optim::ScaledSgd;

/// The model and whatever its engine needs between steps.
pub enum StepEngine {
    // The model is an `Option` only so a step can move it out and back without a copy.
    ClosedForm {
        model: Option<MeanFieldNet>,
        sgd: ScaledSgd,
        /// How the W1 step is applied.
        hidden_update: HiddenUpdate,
    },
    Autodiff {
        model: Option<MeanFieldNet>,
        optim: ModuleOptimizer,
    },
}

impl StepEngine {
    /// Takes a model built on the plain (non-autodiff) `device`.
    pub fn new(kind: Engine, model: MeanFieldNet, sgd: ScaledSgd) -> Self {
        match kind {
            Engine::ClosedForm => StepEngine::ClosedForm {
                hidden_update: HiddenUpdate::default_for(&model),
                model: Some(model),
                sgd,
            },
            Engine::Autodiff => StepEngine::Autodiff {
                model: Some(model.train()),
                optim: sgd.into_module_optimizer(),
            },
        }
    }

    /// Overrides [`HiddenUpdate::default_for`] (closed-form engine only; tests compare the
    /// paths). [`HiddenUpdate::Fused`] off Flex falls back to [`HiddenUpdate::Whole`].
    pub fn set_hidden_update(&mut self, update: HiddenUpdate) {
        if let StepEngine::ClosedForm { hidden_update, .. } = self {
            *hidden_update = match update {
                HiddenUpdate::Blocks(rows) => HiddenUpdate::Blocks(rows.max(1)),
                other => other,
            };
        }
    }

    /// The W1 update path of the closed-form engine (`None` for autodiff).
    pub fn hidden_update(&self) -> Option<HiddenUpdate> {
        match self {
            StepEngine::ClosedForm { hidden_update, .. } => Some(*hidden_update),
            StepEngine::Autodiff { .. } => None,
        }
    }

    /// The device batches must be created on (autodiff-enabled for the autodiff engine).
    pub fn batch_device(&self, plain: &Device) -> Device {
        match self {
            StepEngine::ClosedForm { .. } => plain.clone(),
            StepEngine::Autodiff { .. } => plain.clone().autodiff(),
        }
    }

    /// One update with step size `lr` on batch `x` [M, p] with one-hot targets [M, C]: the
    /// gradient of the batch's mean loss, or with `per_example` weights q [M, N], particle k's
    /// gradient of `Σ_i q[i, k] ℓ_i` ([`meanfield_model::weighted_factors`], the diffusion's
    /// step; closed-form engine only). Returns the batch logits computed before the update.
    ///
    /// # Panics
    /// With `per_example` on the autodiff engine (the config refuses that pairing).
    pub fn step(
        &mut self,
        lr: f64,
        x: Tensor<2>,
        targets: Tensor<2>,
        per_example: Option<Tensor<2>>,
    ) -> Tensor<2> {
        self.step_in(lr, x, targets, per_example, None)
    }

    /// [`Self::step`] of the block of particles the model holds of the whole network `part`
    /// describes (a shard, [`crate::shard`]): the logits are the whole network's, the update
    /// this block's. Closed-form engine only.
    ///
    /// # Panics
    /// With `part` or `per_example` on the autodiff engine (the run refuses those pairings).
    pub fn step_in(
        &mut self,
        lr: f64,
        x: Tensor<2>,
        targets: Tensor<2>,
        per_example: Option<Tensor<2>>,
        part: Option<&dyn PartialSum>,
    ) -> Tensor<2> {
        match self {
            StepEngine::ClosedForm {
                model,
                sgd,
                hidden_update,
            } => {
                let mut m = model.take().expect("model present between steps");
                let mut f = match (part, per_example) {
                    (Some(part), q) => block_factors(&m, x, targets, q, part),
                    (None, None) => closed_form_factors(&m, x, targets),
                    (None, Some(q)) => weighted_factors(&m, x, targets, q),
                };
                // `Param::map` moves each weight tensor out of the model, so the update owns
                // the only reference and the backend can write it in place: no second [N, p]
                // buffer per step (at N = 10^6 on MNIST W1 alone is 3.1 GB).
                m.hidden = m.hidden.map(|w| match *hidden_update {
                    // W1 ← (1 − lr·λ/N)·W1 − lr·∇Hᵀx in one pass on Flex; on tensors it does
                    // not take (off Flex, not f32), the tensor path.
                    HiddenUpdate::Fused => {
                        let a = sgd.weight_factor(lr) as f32;
                        match f.fused_hidden_update(w, a, -lr as f32) {
                            Ok(w) => sgd.add_noise(lr, w),
                            Err(w) => sgd.update(lr, w, f.hidden()),
                        }
                    }
                    HiddenUpdate::Whole => sgd.update(lr, w, f.hidden()),
                    HiddenUpdate::Blocks(rows) => {
                        // Each block of ∇W1 is formed and applied at once: the full gradient
                        // never exists, and the block products stay cache- and TLB-friendly.
                        let [n, p] = w.dims();
                        let mut w = w;
                        let mut start = 0;
                        while start < n {
                            let end = (start + rows).min(n);
                            let block = w.clone().slice([start..end, 0..p]);
                            let stepped = sgd.update(lr, block, f.hidden_rows(start..end));
                            w = w.slice_assign([start..end, 0..p], stepped);
                            start = end;
                        }
                        w
                    }
                });
                if let Some(grad) = f.readout {
                    m.readout = m.readout.map(|w| sgd.update(lr, w, grad));
                }
                *model = Some(m);
                f.logits
            }
            StepEngine::Autodiff { model, optim } => {
                assert!(
                    part.is_none(),
                    "a sharded run needs the closed-form engine (the run refuses autodiff with shards)"
                );
                assert!(
                    per_example.is_none(),
                    "per-example weights need the closed-form engine (TrainConfig::validate refuses autodiff with the diffusion)"
                );
                let m = model.take().expect("model present between steps");
                let logits = m.forward(x);
                let loss = cross_entropy(logits.clone(), targets);
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                *model = Some(optim.step(lr, m, grads));
                logits
            }
        }
    }

    /// The current weights without autodiff tracking.
    pub fn model(&self) -> MeanFieldNet {
        match self {
            StepEngine::ClosedForm { model, .. } => model.clone().expect("model present"),
            StepEngine::Autodiff { model, .. } => model.as_ref().expect("model present").valid(),
        }
    }
}

/// How the closed-form engine applies the W1 step `W1 ← (1 − lr·λ/N)·W1 − lr·∇Hᵀx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenUpdate {
    /// One pass that adds −lr·∇Hᵀx into W1's own storage (Flex only; see
    /// [`meanfield_model::flex_products`] and, on AVX-512, [`meanfield_model::flex_update`]):
    /// no [N, p] gradient, no elementwise pass.
    Fused,
    /// Form the whole ∇W1 [N, p] with Burn's matmul, then step.
    Whole,
    /// Form and apply ∇W1 this many rows at a time (the full gradient never exists).
    Blocks(usize),
}

impl HiddenUpdate {
    /// Fused on Flex; elsewhere whole or in blocks by [`default_block_rows`].
    pub fn default_for(model: &MeanFieldNet) -> Self {
        if flex_products::supports(&model.hidden.val().device()) {
            HiddenUpdate::Fused
        } else {
            match default_block_rows(model.width(), model.input_dim()) {
                None => HiddenUpdate::Whole,
                Some(rows) => HiddenUpdate::Blocks(rows),
            }
        }
    }
}

/// Rows per block of the unfused W1 update (backends other than Flex), chosen by measurement
/// (README, Performance): whole when W1 has fewer than 2^27 entries (N = 10^5 at p = 784 is
/// 10% faster whole), else blocks of about 2^25 entries (N = 10^5 at p = 3072: 3.7 → 1.4 s a
/// step on 2 cores; peak memory W1 plus one block instead of twice W1).
pub fn default_block_rows(width: usize, input_dim: usize) -> Option<usize> {
    if width.saturating_mul(input_dim) < 1 << 27 {
        None
    } else {
        Some(((1usize << 25) / input_dim.max(1)).max(1024))
    }
}
