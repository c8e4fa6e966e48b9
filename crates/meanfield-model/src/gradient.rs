//! The closed-form gradient of the mean cross-entropy of a batch, without an autodiff graph.
//!
//! With H = x W1ᵀ [M, N], A = act(H), logits Z = A W2 / N [M, C] and Y the one-hot targets:
//!
//! ```text
//! G   = (softmax(Z) − Y) / M          ∂L/∂Z                       [M, C]
//! ∇W2 = Aᵀ G / N                                                   [N, C]
//! ∇H  = (G W2ᵀ / N) ⊙ act'(H)                                      [M, N]
//! ∇W1 = ∇Hᵀ x                                                      [N, p]
//! ```
//! Two large products (the forward x W1ᵀ and ∇Hᵀ x) and a mask: the cost of one step is about
//! 4·M·p·N flops. Tests check it against Burn's autodiff and finite differences.

use crate::net::PartialSum;
use crate::{Activation, MeanFieldNet, Readout, flex_products};
use burn::tensor::{Tensor, activation};
use std::cell::OnceCell;

/// Gradients of the batch loss with respect to the weights.
pub struct Gradients {
    /// ∇W1, [N, p].
    pub hidden: Tensor<2>,
    /// ∇W2, [N, C]; `None` for a fixed readout.
    pub readout: Option<Tensor<2>>,
    /// The batch logits [M, C] (for the loss and accuracy of the batch).
    pub logits: Tensor<2>,
}

/// The gradients with ∇W1 = ∇Hᵀ x left as its two factors, so it can be formed a block of rows
/// at a time (and each block applied at once): the full [N, p] product is never materialised.
/// Without per-example weights, ∇H itself is formed only when asked for ([`Self::d_pre`]): the
/// fused update on Flex forms ReLU's inside its kernel instead
/// ([`flex_products::add_relu_transposed_product`]), same bits, no [N, M] buffer.
pub struct GradientFactors {
    /// ∇H, [M, N] (the transposed view of the particle-major ∇Hᵀ [N, M]), once formed.
    d_pre: OnceCell<Tensor<2>>,
    /// What ∇H is made of, where it is formed on demand.
    parts: Option<HiddenParts>,
    /// The batch x, [M, p].
    pub x: Tensor<2>,
    /// ∇W2, [N, C]; `None` for a fixed readout.
    pub readout: Option<Tensor<2>>,
    /// The batch logits [M, C].
    pub logits: Tensor<2>,
}

/// ∇Hᵀ = (W2 (G/N)ᵀ) ⊙ act'(H), [N, M], in its factors.
struct HiddenParts {
    activation: Activation,
    /// Hᵀ, [N, M].
    pre_t: Tensor<2>,
    /// act(H)ᵀ, [N, M]; not kept for ReLU, whose derivative reads H alone.
    act_t: Option<Tensor<2>>,
    /// W2, [N, C].
    w2: Tensor<2>,
    /// G/N (with the batch's 1/M), [M, C].
    g_n: Tensor<2>,
}

impl HiddenParts {
    /// ∇H [M, N], through the tensor API (and [`crate::flex_relu`] on Flex).
    fn form(&self) -> Tensor<2> {
        let d_act_t = self.w2.clone().matmul(self.g_n.clone().transpose());
        // ReLU's backward does not read act(H) (`Activation::backward`): H stands in for it.
        let act_t = self.act_t.clone().unwrap_or_else(|| self.pre_t.clone());
        self.activation
            .backward(self.pre_t.clone(), act_t, d_act_t)
            .transpose()
    }
}

impl GradientFactors {
    /// ∇H, [M, N] (formed on the first call).
    ///
    /// # Panics
    /// After [`Self::fused_hidden_update`] applied ∇H without forming it (ask before the
    /// update).
    pub fn d_pre(&self) -> Tensor<2> {
        self.d_pre
            .get_or_init(|| {
                self.parts
                    .as_ref()
                    .expect(
                        "∇H was applied by `fused_hidden_update` without being formed: ask for \
                         it before the update",
                    )
                    .form()
            })
            .clone()
    }

    /// Rows `rows` of ∇W1: ∇H[:, rows]ᵀ x, [rows.len(), p].
    pub fn hidden_rows(&self, rows: std::ops::Range<usize>) -> Tensor<2> {
        let d_pre = self.d_pre();
        let m = d_pre.dims()[0];
        d_pre.slice([0..m, rows]).transpose().matmul(self.x.clone())
    }

    /// The whole ∇W1, [N, p].
    pub fn hidden(&self) -> Tensor<2> {
        self.d_pre().transpose().matmul(self.x.clone())
    }

    /// `w ← a·w + b·∇Hᵀx` (∇W1 never materialised) on Flex: with ReLU and ∇H not yet formed,
    /// ∇H formed inside the kernel ([`flex_products::add_relu_transposed_product`]), else the
    /// stored ∇H ([`flex_products::add_transposed_product`]); the same bits either way.
    /// `Err(w)`, untouched, off Flex (the caller takes the tensor path: ∇H is then formed and
    /// kept for [`Self::hidden`]). Either way ∇H's parts are released, so H, act(H) and W2 are
    /// not held past the update and the readout's update writes W2 in place; after an `Ok` with
    /// ∇H formed inside the kernel, ∇H is spent ([`Self::d_pre`] panics).
    // Ok and Err both hold W1 (a `Tensor`): boxing Err would not make the `Result` smaller.
    #[allow(clippy::result_large_err)]
    pub fn fused_hidden_update(
        &mut self,
        mut w: Tensor<2>,
        a: f32,
        b: f32,
    ) -> Result<Tensor<2>, Tensor<2>> {
        if let Some(parts) = &self.parts
            && parts.activation == Activation::Relu
            && self.d_pre.get().is_none()
        {
            match flex_products::add_relu_transposed_product(
                w,
                &parts.pre_t,
                &parts.w2,
                &parts.g_n,
                &self.x,
                a,
                b,
            ) {
                Ok(updated) => {
                    self.parts = None;
                    return Ok(updated);
                }
                Err(back) => w = back,
            }
        }
        let d_pre = self.d_pre();
        self.parts = None;
        if flex_products::applies(&[&w, &d_pre, &self.x]) {
            Ok(flex_products::add_transposed_product(
                w, &d_pre, &self.x, a, b,
            ))
        } else {
            Err(w)
        }
    }
}

/// Gradients of `cross_entropy(model.forward(x), targets)` (targets one-hot, [M, C]).
pub fn closed_form_gradients(model: &MeanFieldNet, x: Tensor<2>, targets: Tensor<2>) -> Gradients {
    let f = closed_form_factors(model, x, targets);
    Gradients {
        hidden: f.hidden(),
        readout: f.readout,
        logits: f.logits,
    }
}

/// [`closed_form_gradients`] with ∇W1 left factored.
pub fn closed_form_factors(
    model: &MeanFieldNet,
    x: Tensor<2>,
    targets: Tensor<2>,
) -> GradientFactors {
    factors(model, x, targets, None, None)
}

/// The factors of a per-particle weighted loss: particle k's gradient is that of
/// `Σ_i q[i, k] · ℓ_i` for `q` [M, N] (`per_example`), where ℓ_i is example i's cross-entropy.
/// With every q[i, k] = 1/M this is [`closed_form_factors`] (up to rounding). The particle
/// diffusion steps with it: a drift weight 1/K per drift example plus each particle's own
/// Gaussian multipliers (`meanfield_train::diffusion`).
///
/// ```text
/// R   = softmax(Z) − Y                                             [M, C]
/// ∇W2 = (A ⊙ q)ᵀ R / N                                             [N, C]
/// ∇H  = (R W2ᵀ / N) ⊙ act'(H) ⊙ q                                  [M, N]
/// ```
pub fn weighted_factors(
    model: &MeanFieldNet,
    x: Tensor<2>,
    targets: Tensor<2>,
    per_example: Tensor<2>,
) -> GradientFactors {
    factors(model, x, targets, Some(per_example), None)
}

/// [`closed_form_factors`] (no `per_example`) or [`weighted_factors`] for the block of
/// particles `model` holds of the whole network `part` describes: the logits are the whole
/// network's (one [`PartialSum::sum`]), every factor is this block's. With one block holding
/// every particle this is the unsharded computation, operation for operation.
pub fn block_factors(
    model: &MeanFieldNet,
    x: Tensor<2>,
    targets: Tensor<2>,
    per_example: Option<Tensor<2>>,
    part: &dyn PartialSum,
) -> GradientFactors {
    factors(model, x, targets, per_example, Some(part))
}

fn factors(
    model: &MeanFieldNet,
    x: Tensor<2>,
    targets: Tensor<2>,
    per_example: Option<Tensor<2>>,
    part: Option<&dyn PartialSum>,
) -> GradientFactors {
    let n = part.map_or(model.width(), |p| p.total_width()) as f64;
    let m = x.dims()[0] as f64;
    let trace = model.forward_trace_in(x.clone(), part);
    // Particle-major [N, M] (contiguous: the forward computes them so), so every elementwise
    // pass below runs on contiguous memory; ∇H is returned as the [M, N] view of ∇Hᵀ.
    let pre_t = trace.pre.transpose();
    let act_t = trace.act.transpose();
    let w2 = model.readout.val();
    let residual = activation::softmax(trace.logits.clone(), 1) - targets;
    let (readout, d_pre, parts) = match per_example {
        None => {
            // G / N: the 1/N of both ∇W2 and ∇H applied once, on [M, C], not on [N, C] and
            // [M, N].
            let g_n = residual.div_scalar(m * n);
            let readout = match model.readout_mode {
                Readout::Trainable => Some(act_t.clone().matmul(g_n.clone())),
                Readout::Fixed => None,
            };
            let parts = HiddenParts {
                activation: model.activation,
                pre_t,
                act_t: (model.activation != Activation::Relu).then_some(act_t),
                w2,
                g_n,
            };
            (readout, OnceCell::new(), Some(parts))
        }
        Some(q) => {
            let q_t = q.transpose();
            let r_n = residual.div_scalar(n);
            let readout = match model.readout_mode {
                Readout::Trainable => Some((act_t.clone() * q_t.clone()).matmul(r_n.clone())),
                Readout::Fixed => None,
            };
            let d_act_t = w2.matmul(r_n.transpose());
            let d_pre_t = model.activation.backward(pre_t, act_t, d_act_t) * q_t;
            (readout, OnceCell::from(d_pre_t.transpose()), None)
        }
    };
    GradientFactors {
        d_pre,
        parts,
        x,
        readout,
        logits: trace.logits,
    }
}
