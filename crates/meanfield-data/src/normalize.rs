//! Per-channel normalisation (docs/paper.md, "Model"): x ← (x/255 − mean_c) / std_c.

/// MNIST (also used for Fashion-MNIST, as the authors' MNIST pipeline): one channel.
pub const MNIST_MEAN: [f32; 1] = [0.1307];
pub const MNIST_STD: [f32; 1] = [0.3081];
/// CIFAR-10, channels R, G, B.
pub const CIFAR10_MEAN: [f32; 3] = [0.491, 0.482, 0.447];
pub const CIFAR10_STD: [f32; 3] = [0.247, 0.243, 0.262];

/// Normalises channel-major bytes (`channels` planes of `plane` pixels each, per image).
pub fn normalize(bytes: &[u8], plane: usize, mean: &[f32], std: &[f32]) -> Vec<f32> {
    let channels = mean.len();
    let image = plane * channels;
    bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let c = (i % image) / plane;
            (b as f32 / 255.0 - mean[c]) / std[c]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_bytes_per_channel() {
        // Two channels of two pixels: (0/255 - 0.5)/0.5 = -1, (255/255 - 0.5)/0.5 = 1,
        // (0 - 0)/2 = 0, (255/255 - 0)/2 = 0.5.
        let out = normalize(&[0, 255, 0, 255], 2, &[0.5, 0.0], &[0.5, 2.0]);
        assert_eq!(out, vec![-1.0, 1.0, 0.0, 0.5]);
    }
}
