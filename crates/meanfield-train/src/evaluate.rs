//! Loss and accuracy of a model over a whole dataset, in chunks that bound memory.

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_data::Dataset;
use meanfield_model::{MeanFieldNet, PartialSum, loss, net::to_vec};

/// Mean cross-entropy and accuracy (fraction correct) over `data`; (NaN, NaN) when empty.
pub fn evaluate(model: &MeanFieldNet, data: &Dataset, device: &Device) -> (f64, f64) {
    evaluate_in(model, data, device, None, None)
}

/// [`evaluate`] of the whole network when `model` is one block of it (`part`, a shard): each
/// chunk's logits are summed over the blocks. Every block must call it with the same data.
/// With `max_bytes` (a device's one-buffer limit, [`crate::buffers::limit`]) no chunk's
/// features or activations exceed it.
pub fn evaluate_in(
    model: &MeanFieldNet,
    data: &Dataset,
    device: &Device,
    part: Option<&dyn PartialSum>,
    max_bytes: Option<u64>,
) -> (f64, f64) {
    if data.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    // Rows per chunk: the [rows, N] activations stay near 64 MiB. Set by the whole width, so
    // every block takes the same chunks.
    let width = part.map_or(model.width(), |p| p.total_width());
    let mut rows = ((1usize << 24) / width).clamp(1, 10_000);
    if let Some(limit) = max_bytes {
        // The chunk [rows, p] and a block's activations [rows, N_block], one buffer each; the
        // largest block's, so every block takes the same chunks.
        let block = part.map_or(model.width(), |p| p.largest_block());
        let columns = data.dim.max(block).max(1) as u64;
        rows = rows.min(((limit / (4 * columns)) as usize).max(1));
    }
    let classes = model.classes();
    let (mut loss_sum, mut correct) = (0.0, 0usize);
    for start in (0..data.len()).step_by(rows) {
        let end = (start + rows).min(data.len());
        let x = Tensor::<2>::from_data(
            TensorData::new(
                data.images[start * data.dim..end * data.dim].to_vec(),
                [end - start, data.dim],
            ),
            device,
        );
        let logits = to_vec(model.forward_trace_in(x, part).logits);
        let labels = &data.labels[start..end];
        loss_sum += loss::host_cross_entropy(&logits, labels, classes);
        correct += loss::accuracy(&logits, labels, classes);
    }
    (
        loss_sum / data.len() as f64,
        correct as f64 / data.len() as f64,
    )
}
