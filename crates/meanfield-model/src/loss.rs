//! Cross-entropy and accuracy.
//!
//! [`cross_entropy`] is the differentiable batch loss (mean over the batch, natural log). The
//! host-side [`accuracy`] and [`host_cross_entropy`] score logits already copied to the CPU, in
//! f64, for evaluation over whole datasets.

use burn::tensor::{Device, Tensor, TensorData, activation};

/// One-hot targets [M, C] as a float tensor.
pub fn one_hot(labels: &[u8], classes: usize, device: &Device) -> Tensor<2> {
    let mut data = vec![0f32; labels.len() * classes];
    for (i, &y) in labels.iter().enumerate() {
        data[i * classes + y as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(data, [labels.len(), classes]), device)
}

/// Mean cross-entropy of logits [M, C] against one-hot targets [M, C]; a scalar tensor [1].
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let log_p = activation::log_softmax(logits, 1);
    (log_p * targets).sum_dim(1).mean().neg()
}

/// Sum over rows of −log softmax(logits)[label], computed in f64 with the log-sum-exp shift.
pub fn host_cross_entropy(logits: &[f32], labels: &[u8], classes: usize) -> f64 {
    logits
        .chunks_exact(classes)
        .zip(labels)
        .map(|(row, &y)| {
            let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
            let lse = max
                + row
                    .iter()
                    .map(|&v| (v as f64 - max).exp())
                    .sum::<f64>()
                    .ln();
            lse - row[y as usize] as f64
        })
        .sum()
}

/// Number of rows whose arg-max (first one on ties) equals the label.
pub fn accuracy(logits: &[f32], labels: &[u8], classes: usize) -> usize {
    logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, y)| {
            let mut best = 0;
            for (j, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = j;
                }
            }
            best == **y as usize
        })
        .count()
}
