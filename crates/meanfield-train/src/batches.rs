//! Where a step's batch is put together: on the host and uploaded (the CPU backends, whose
//! device memory is the host's), or on the device from a training set uploaded once
//! ([`Placement::Device`], the GPU backends when it fits), so that a step sends the device only
//! its M row indices and never waits for it.
//!
//! Both give the same batch bit for bit (rows are copied, not computed), so the placement is
//! not part of a run's setting and a run resumed with the other placement continues exactly.

use crate::Backend;
use burn::tensor::{Device, Int, Tensor, TensorData};
use meanfield_data::Dataset;
use meanfield_model::one_hot;

/// The largest training set (features, float32) kept on a GPU: MNIST is 188 MB and CIFAR-10
/// 614 MB. Burn 0.22 cannot ask a device for its free memory, so this is a fixed bound chosen
/// to leave any GPU of 8 GB or more room for the weights; larger sets are gathered on the host.
pub const RESIDENT_MAX_BYTES: usize = 2 << 30;

/// Where batches are gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Rows copied on the host, then uploaded each step.
    Host,
    /// The training set on the device; each step uploads M indices and selects the rows there.
    Device,
}

impl Placement {
    /// [`Placement::Device`] for the GPU backends when the features fit in
    /// [`RESIDENT_MAX_BYTES`] and in one buffer of the device (`limit`,
    /// [`crate::buffers::limit`]); [`Placement::Host`] otherwise (on a CPU backend the host
    /// memory is the device's, and a second copy of the training set would only cost memory).
    pub fn default_for(backend: Backend, train: &Dataset, limit: Option<u64>) -> Self {
        Self::for_size(
            backend,
            train.images.len() * std::mem::size_of::<f32>(),
            limit,
        )
    }

    /// [`Self::default_for`] a training set of `bytes` bytes of features.
    pub fn for_size(backend: Backend, bytes: usize, limit: Option<u64>) -> Self {
        let fits = bytes <= RESIDENT_MAX_BYTES && limit.is_none_or(|l| bytes as u64 <= l);
        if backend.is_gpu() && fits {
            Placement::Device
        } else {
            Placement::Host
        }
    }
}

/// One step's batch.
pub struct Batch {
    /// Features [M, p] on the batch device.
    pub x: Tensor<2>,
    /// One-hot targets [M, C] on the batch device.
    pub targets: Tensor<2>,
    /// The labels, on the host (for the logged batch loss).
    pub labels: Vec<u8>,
}

/// Assembles batches of one training set at one [`Placement`].
pub struct Batches {
    device: Device,
    /// Features [n, p] and one-hot targets [n, C] of the whole set, for [`Placement::Device`].
    resident: Option<(Tensor<2>, Tensor<2>)>,
}

impl Batches {
    /// Batches of `train` on `device` (uploads the set once for [`Placement::Device`]).
    pub fn new(placement: Placement, train: &Dataset, device: &Device) -> Self {
        let resident = (placement == Placement::Device).then(|| {
            let features = Tensor::<2>::from_data(
                TensorData::new(train.images.clone(), [train.len(), train.dim]),
                device,
            );
            (features, one_hot(&train.labels, train.classes, device))
        });
        Batches {
            device: device.clone(),
            resident,
        }
    }

    pub fn placement(&self) -> Placement {
        match self.resident {
            Some(_) => Placement::Device,
            None => Placement::Host,
        }
    }

    /// Rows `indices` of `train` (the set these batches were made for).
    pub fn batch(&self, train: &Dataset, indices: &[usize]) -> Batch {
        match &self.resident {
            None => {
                let (x, labels) = train.gather(indices);
                Batch {
                    x: Tensor::<2>::from_data(
                        TensorData::new(x, [labels.len(), train.dim]),
                        &self.device,
                    ),
                    targets: one_hot(&labels, train.classes, &self.device),
                    labels,
                }
            }
            Some((features, targets)) => {
                let rows: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
                let rows = Tensor::<1, Int>::from_data(
                    TensorData::new(rows, [indices.len()]),
                    &self.device,
                );
                Batch {
                    x: features.clone().select(0, rows.clone()),
                    targets: targets.clone().select(0, rows),
                    labels: indices.iter().map(|&i| train.labels[i]).collect(),
                }
            }
        }
    }
}
