//! Weights as `.npy` float32 files: `hidden.npy` [N, p], `readout.npy` [N, C] (and the
//! Polyak averages `hidden_avg.npy`, `readout_avg.npy`). Files are written atomically
//! ([`meanfield_io`]), so a file with the final name is always complete.

use crate::TrainError;
use npyz::WriterBuilder;
use std::io::Write;
use std::path::Path;

pub const HIDDEN: &str = "hidden.npy";
pub const READOUT: &str = "readout.npy";
pub const HIDDEN_AVG: &str = "hidden_avg.npy";
pub const READOUT_AVG: &str = "readout_avg.npy";

/// Writes a [rows, cols] float32 `.npy` atomically; `fill` streams the values in row-major
/// order into the writer.
fn write_npy(
    path: &Path,
    rows: usize,
    cols: usize,
    fill: impl FnOnce(&mut dyn FnMut(&[f32]) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<(), TrainError> {
    write_atomic_with(path, |out| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(out)
            .begin_nd()?;
        fill(&mut |part| writer.extend(part.iter().copied()))?;
        writer.finish()
    })
}

/// Writes a row-major f32 matrix [rows, cols].
pub fn save(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<(), TrainError> {
    assert_eq!(rows * cols, data.len(), "caller passes a consistent shape");
    write_npy(path, rows, cols, |put| put(data))
}

/// Writes a [rows, cols] tensor as `.npy`, copying it to the host a block of rows at a time
/// (about 64 MB each), so saving adds no full-size host copy of W1 (3.1 GB at N = 10^6 on
/// MNIST) to the memory in use. Same bytes as [`save`] of the whole matrix.
pub fn save_tensor(path: &Path, tensor: &burn::tensor::Tensor<2>) -> Result<(), TrainError> {
    let cols = tensor.dims()[1];
    save_tensor_in_blocks(path, tensor, ((16usize << 20) / cols.max(1)).max(1))
}

fn save_tensor_in_blocks(
    path: &Path,
    tensor: &burn::tensor::Tensor<2>,
    block: usize,
) -> Result<(), TrainError> {
    let [rows, cols] = tensor.dims();
    write_npy(path, rows, cols, |put| {
        let mut start = 0;
        while start < rows {
            let end = (start + block).min(rows);
            put(&meanfield_model::net::to_vec(
                tensor.clone().slice([start..end, 0..cols]),
            ))?;
            start = end;
        }
        Ok(())
    })
}

/// Reads a float32 (little-endian) C-order matrix, checking it has `expected` shape.
pub fn load(path: &Path, expected: [usize; 2]) -> Result<Vec<f32>, TrainError> {
    let (data, shape) = load_matrix(path)?;
    if shape != expected {
        return Err(TrainError::BadWeights {
            path: path.to_path_buf(),
            reason: format!(
                "shape {shape:?}, expected {expected:?} (N = {}, second axis = {}): was it saved by a run with another --width or dataset?",
                expected[0], expected[1]
            ),
        });
    }
    Ok(data)
}

/// Reads a float32 (little-endian) C-order matrix of any shape [rows, cols].
pub fn load_matrix(path: &Path) -> Result<(Vec<f32>, [usize; 2]), TrainError> {
    let bad = |reason: String| TrainError::BadWeights {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| TrainError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let shape: [usize; 2] = shape
        .clone()
        .try_into()
        .map_err(|_| bad(format!("shape {shape:?} is not a matrix [rows, columns]")))?;
    if npy.order() != npyz::Order::C {
        return Err(bad("Fortran order; save it in C order".into()));
    }
    let dtype = npy.dtype();
    if dtype != npyz::DType::Plain("<f4".parse().expect("valid type string")) {
        return Err(bad(format!(
            "dtype {}, expected float32 (<f4)",
            dtype.descr()
        )));
    }
    let data: Vec<f32> = npy
        .into_vec()
        .map_err(|e| bad(format!("cannot read the data: {e}")))?;
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!("entry {i} is not finite")));
    }
    Ok((data, shape))
}

/// Writes `bytes` to `path` atomically ([`meanfield_io`]), naming `path` in errors: the one
/// writer of this crate's small files (config.toml, summary.json, checkpoint state).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Writes a file atomically ([`meanfield_io::write_atomic_with`]), naming `path` in errors.
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), TrainError> {
    meanfield_io::write_atomic_with(path, write).map_err(|source| TrainError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether the `.npy` file at `path` is whole: it exists, its header parses, and its length is
/// the header's plus the data its shape and dtype call for. Reads only the header.
pub fn check_whole(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let name = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{name} cannot be read ({e})"))?
        .len();
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .map_err(|e| format!("{name} cannot be read ({e})"))?;
    let npy =
        npyz::NpyFile::new(&head[..]).map_err(|e| format!("{name} has no valid header ({e})"))?;
    // The data starts after the magic, the version, the header length and the header.
    let (prefix, header_len) = match head.get(6) {
        Some(1) if head.len() >= 10 => (10u64, u16::from_le_bytes([head[8], head[9]]) as u64),
        Some(_) if head.len() >= 12 => (
            12u64,
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as u64,
        ),
        _ => return Err(format!("{name} has no valid header")),
    };
    let item = match npy.dtype() {
        npyz::DType::Plain(t) => t.num_bytes().unwrap_or(0) as u64,
        _ => 0,
    };
    let expected = prefix + header_len + npy.shape().iter().product::<u64>() * item;
    if len == expected {
        Ok(())
    } else {
        Err(format!(
            "{name} is {len} bytes where its header calls for {expected} (cut short or damaged)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saving a tensor block by block (blocks of 3 rows over 10, the last one short, and the
    /// default single block) writes the same bytes as saving the whole host matrix.
    #[test]
    fn tensor_saved_in_blocks_equals_whole_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        let device = crate::Backend::default().device().unwrap();
        let t = burn::tensor::Tensor::<2>::from_data(
            burn::tensor::TensorData::new(data.clone(), [10, 4]),
            &device,
        );
        save(&dir.path().join("a.npy"), 10, 4, &data).unwrap();
        save_tensor_in_blocks(&dir.path().join("b.npy"), &t, 3).unwrap();
        save_tensor(&dir.path().join("c.npy"), &t).unwrap();
        let a = std::fs::read(dir.path().join("a.npy")).unwrap();
        assert_eq!(a, std::fs::read(dir.path().join("b.npy")).unwrap());
        assert_eq!(a, std::fs::read(dir.path().join("c.npy")).unwrap());
    }

    #[test]
    fn round_trip_and_shape_checks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.npy");
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5).collect();
        save(&p, 2, 3, &data).unwrap();
        assert_eq!(load(&p, [2, 3]).unwrap(), data);
        let err = load(&p, [3, 2]).unwrap_err().to_string();
        assert!(err.contains("w.npy") && err.contains("[2, 3]"), "{err}");
        std::fs::write(&p, b"not npy").unwrap();
        assert!(
            load(&p, [2, 3])
                .unwrap_err()
                .to_string()
                .contains("not a valid .npy")
        );
    }
}
