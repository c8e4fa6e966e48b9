//! The mean-field two-layer network `f(x) = (1/N) · W2ᵀ act(W1 x)` as a Burn module.
//!
//! - [`config`] — [`MeanFieldNetConfig`] (width, input size, classes, readout mode, initialisations,
//!   activation); `config.init(device)` builds the module.
//! - [`init`] — the initial laws (`pytorch`, `normal:<std>`, `uniform:<a>`, `const:<c>`).
//! - [`activation`] — ReLU, sigmoid, tanh and their derivatives.
//! - [`net`] — [`MeanFieldNet`], the Burn `Module` (weights only) and its forward pass.
//! - [`loss`] — cross-entropy and accuracy of logits against labels.
//! - [`gradient`] — the closed-form gradient of the batch loss (checked against autodiff).
//! - [`flex_products`] — the forward product and the fused W1 update on Flex (CPU), split over
//!   threads by particles.
//! - [`flex_forward`] — the forward product as one kernel without `gemm`'s padding of the batch
//!   (AVX-512, `gemm`'s bits).
//! - [`flex_logits`] — the logits product on Flex over both threads, with `gemm`'s bits.
//! - [`flex_update`] — the fused W1 update as one pass over W1's rows (AVX-512, `gemm`'s bits).
//! - [`flex_relu`] — ReLU's backward on Flex in one pass, in place.
//! - [`error`] — typed errors.

pub mod activation;
pub mod config;
pub mod error;
pub mod flex_forward;
pub mod flex_logits;
pub mod flex_products;
pub mod flex_relu;
pub mod flex_update;
pub mod gradient;
pub mod init;
pub mod loss;
pub mod net;

pub use activation::Activation;
pub use config::{MeanFieldNetConfig, Readout};
pub use error::ModelError;
pub use gradient::{
    GradientFactors, Gradients, block_factors, closed_form_factors, closed_form_gradients,
    weighted_factors,
};
pub use init::Init;
pub use loss::{accuracy, cross_entropy, one_hot};
pub use net::{MeanFieldNet, PartialSum};
