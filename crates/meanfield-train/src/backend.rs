//! The Burn device a run uses, chosen at run time.
//!
//! CPU backends (`flex`, `ndarray`) are in every build. GPU backends are cargo features of the
//! `experiments` package (`--features wgpu`, `--features cuda`); asking for one that is not
//! compiled in, or that finds no device, is an error saying how to get it.

use crate::TrainError;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// The default logging interval on a GPU backend ([`Backend::default_log_every`]): a step that
/// logs reads the batch logits back, which makes the host wait for the device; between logging
/// steps the host only queues work. Divergence is noticed at the next logging step.
pub const GPU_LOG_EVERY: u64 = 100;

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
pub enum Backend {
    /// Burn's pure-Rust CPU backend (gemm-crate matmul, rayon threads). Measured faster than
    /// ndarray for this network on the development machine (README, "Performance").
    #[default]
    Flex,
    /// Burn's ndarray CPU backend (deprecated upstream; kept for comparison).
    Ndarray,
    /// wgpu (Vulkan, pinned: see `device`).
    Wgpu,
    /// CUDA, device 0.
    Cuda,
}

impl Backend {
    /// Whether this build contains the backend.
    pub fn compiled_in(&self) -> bool {
        match self {
            Backend::Flex | Backend::Ndarray => true,
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// Whether the backend runs on a GPU (its memory apart from the host's).
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::Wgpu | Backend::Cuda)
    }

    /// The logging interval when none is given (`log_every`): every step on a CPU, where
    /// reading the batch logits costs nothing; every [`GPU_LOG_EVERY`] steps on a GPU, where
    /// each read waits for the device to finish all queued work.
    pub fn default_log_every(&self) -> u64 {
        if self.is_gpu() { GPU_LOG_EVERY } else { 1 }
    }

    /// The (non-autodiff) device. GPU devices are initialised here, so a missing GPU is
    /// reported before training starts.
    pub fn device(&self) -> Result<Device, TrainError> {
        if !self.compiled_in() {
            return Err(TrainError::Backend {
                backend: self.to_string(),
                fix: format!(
                    "this build has no {self} support: rebuild with `cargo build --release -p experiments --features {self}`{}",
                    if *self == Backend::Cuda {
                        " (needs the CUDA toolkit; its build downloads LLVM)"
                    } else {
                        ""
                    }
                ),
            });
        }
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[allow(deprecated)] // burn-ndarray is deprecated upstream; kept as a comparison
            Backend::Ndarray => Ok(Device::ndarray()),
            Backend::Wgpu => wgpu_device(),
            Backend::Cuda => cuda_device(),
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, TrainError> {
    // Pinned to Vulkan: automatic selection can fall back to an OpenGL software adapter on a
    // headless machine and hang (docs/development.md, "Burn"); pinning returns an error instead.
    // Initialised once per process: Burn registers the wgpu runtime on the first `init()` and
    // refuses a second ("Service already initialized"), so the second run of a grid, or of a
    // test, must reuse the first device.
    use burn::tensor::wgpu::WgpuBackend;
    use std::sync::OnceLock;
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .graphics_api(WgpuBackend::Vulkan)
                .init()
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| TrainError::Backend {
            backend: "wgpu".into(),
            fix: format!("no Vulkan GPU adapter ({e}); check `vulkaninfo`, or use `backend` flex"),
        })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device, TrainError> {
    unreachable!("checked by compiled_in")
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device, TrainError> {
    let device = Device::cuda(0);
    // The CUDA runtime initialises lazily and panics without a driver or device: probe it here.
    let probe = std::panic::catch_unwind(|| {
        burn::tensor::Tensor::<1>::zeros([1], &device).into_data();
    });
    probe
        .map(|_| Device::cuda(0))
        .map_err(|_| TrainError::Backend {
            backend: "cuda".into(),
            fix: "no CUDA device 0 (check `nvidia-smi`), or use `backend` flex".into(),
        })
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device, TrainError> {
    unreachable!("checked by compiled_in")
}
