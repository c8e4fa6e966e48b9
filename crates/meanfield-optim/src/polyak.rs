//! Polyak averaging: W̄ = mean of W_n over n0 ≤ n ≤ n_T (Table 1 uses n0 = 1000).
//!
//! The average is kept as a running mean, `W̄ ← W̄ + (W − W̄)/k` after the k-th included step,
//! which stays accurate in f32 over millions of steps (no large running sum).

use burn::tensor::Tensor;

/// The running mean of a list of weight tensors (one entry per trained tensor).
#[derive(Debug, Clone)]
pub struct PolyakAverage<const D: usize> {
    start: u64,
    count: u64,
    mean: Option<Vec<Tensor<D>>>,
}

impl<const D: usize> PolyakAverage<D> {
    /// Averages the weights reached after steps `start, start + 1, ...` (step numbers count
    /// completed updates: the weights after update n carry number n).
    pub fn new(start: u64) -> Self {
        Self {
            start,
            count: 0,
            mean: None,
        }
    }

    /// Restores an average from saved state (resume).
    pub fn from_parts(start: u64, count: u64, mean: Option<Vec<Tensor<D>>>) -> Self {
        Self { start, count, mean }
    }

    /// The first step included.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// How many weight sets are in the average.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Offers the weights after update `step`; included when `step >= start`.
    pub fn observe(&mut self, step: u64, weights: &[Tensor<D>]) {
        if step < self.start {
            return;
        }
        self.count += 1;
        self.mean = Some(match self.mean.take() {
            None => weights.to_vec(),
            Some(mean) => {
                let k = self.count as f64;
                mean.into_iter()
                    .zip(weights)
                    .map(|(m, w)| m.clone() + (w.clone() - m).div_scalar(k))
                    .collect()
            }
        });
    }

    /// The current average, if any step was included.
    pub fn mean(&self) -> Option<&[Tensor<D>]> {
        self.mean.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    // Expected: the arithmetic mean of the weights after steps 2, 3, 4 = (2 + 3 + 4)/3 = 3.
    #[test]
    fn averages_from_start() {
        let device = Device::flex();
        let mut avg = PolyakAverage::<1>::new(2);
        for step in 0..5u64 {
            let w = Tensor::<1>::from_floats([step as f32, -(step as f32)], &device);
            avg.observe(step, &[w]);
        }
        assert_eq!(avg.count(), 3);
        avg.mean().unwrap()[0]
            .clone()
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from([3.0f32, -3.0]), Default::default());
    }

    #[test]
    fn empty_before_start() {
        let device = Device::flex();
        let mut avg = PolyakAverage::<1>::new(10);
        avg.observe(3, &[Tensor::<1>::zeros([2], &device)]);
        assert!(avg.mean().is_none());
    }
}
