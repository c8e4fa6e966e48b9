//! Weights as `.npy` float32 files: `hidden.npy` [N, p], `readout.npy` [N, C] (and the
//! Polyak averages `hidden_avg.npy`, `readout_avg.npy`). Files are written atomically
//! ([`meanfield_io`]), so a file with the final name is always complete, and each writer returns
//! the file's digest for the run's manifest ([`crate::manifest`]). Readers check the header
//! against the file's length with overflow-safe arithmetic before allocating anything.

use crate::TrainError;
use meanfield_io::Digest;
use npyz::WriterBuilder;
use std::io::Write;
use std::path::Path;

pub use crate::layout::{HIDDEN, HIDDEN_AVG, READOUT, READOUT_AVG};

/// Writes a [rows, cols] float32 `.npy` atomically; `fill` streams the values in row-major
/// order into the writer.
fn write_npy(
    path: &Path,
    rows: usize,
    cols: usize,
    fill: impl FnOnce(&mut dyn FnMut(&[f32]) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<Digest, TrainError> {
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
pub fn save(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<Digest, TrainError> {
    assert_eq!(rows * cols, data.len(), "caller passes a consistent shape");
    write_npy(path, rows, cols, |put| put(data))
}

/// Writes a [rows, cols] tensor as `.npy`, copying it to the host a block of rows at a time
/// (about 64 MB each), so saving adds no full-size host copy of W1 (3.1 GB at N = 10^6 on
/// MNIST) to the memory in use. Same bytes as [`save`] of the whole matrix.
pub fn save_tensor(path: &Path, tensor: &burn::tensor::Tensor<2>) -> Result<Digest, TrainError> {
    let cols = tensor.dims()[1];
    save_tensor_in_blocks(path, tensor, ((16usize << 20) / cols.max(1)).max(1))
}

fn save_tensor_in_blocks(
    path: &Path,
    tensor: &burn::tensor::Tensor<2>,
    block: usize,
) -> Result<Digest, TrainError> {
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
            reason: wrong_shape(shape, expected),
        });
    }
    Ok(data)
}

/// Why a matrix of `shape` is not the `expected` one.
fn wrong_shape(shape: [usize; 2], expected: [usize; 2]) -> String {
    format!(
        "shape {shape:?}, expected {expected:?} (N = {}, second axis = {}): was it saved by a run with another `width` or dataset?",
        expected[0], expected[1]
    )
}

/// The shape of a `.npy` header that holds a float32 C-order matrix whose data is exactly the
/// rest of a file of `len` bytes (`head` its first bytes), else why not. The element count is
/// computed with overflow checks, so no header can make a reader allocate more than the file.
fn matrix_shape<R: std::io::Read>(
    npy: &npyz::NpyFile<R>,
    head: &[u8],
    len: u64,
) -> Result<[usize; 2], String> {
    let dims = npy.shape().to_vec();
    let [rows, cols]: [u64; 2] = dims
        .clone()
        .try_into()
        .map_err(|_| format!("shape {dims:?} is not a matrix [rows, columns]"))?;
    if npy.order() != npyz::Order::C {
        return Err("Fortran order; save it in C order".into());
    }
    let dtype = npy.dtype();
    if dtype != npyz::DType::Plain("<f4".parse().expect("valid type string")) {
        return Err(format!("dtype {}, expected float32 (<f4)", dtype.descr()));
    }
    let start = data_offset(head).ok_or("no valid header")?;
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(4))
        .and_then(|n| n.checked_add(start))
        .ok_or_else(|| format!("shape {dims:?} has more elements than any file can hold"))?;
    if expected != len {
        return Err(format!(
            "shape {dims:?} calls for {expected} bytes but the file has {len} (cut short, grown, or not this matrix)"
        ));
    }
    let shape = [usize::try_from(rows), usize::try_from(cols)];
    match shape {
        [Ok(r), Ok(c)] => Ok([r, c]),
        _ => Err(format!("shape {dims:?} does not fit in memory")),
    }
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
    let shape = matrix_shape(&npy, &bytes, bytes.len() as u64).map_err(bad)?;
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
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<Digest, TrainError> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Writes a file atomically ([`meanfield_io::write_atomic_with`]), naming `path` in errors.
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Digest, TrainError> {
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
    let start = data_offset(&head).ok_or_else(|| format!("{name} has no valid header"))?;
    let item = match npy.dtype() {
        npyz::DType::Plain(t) => t.num_bytes().unwrap_or(0) as u64,
        _ => 0,
    };
    let expected = npy
        .shape()
        .iter()
        .try_fold(item, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_add(start));
    match expected {
        Some(expected) if expected == len => Ok(()),
        Some(expected) => Err(format!(
            "{name} is {len} bytes where its header calls for {expected} (cut short or damaged)"
        )),
        None => Err(format!(
            "{name}'s header has a shape {:?} whose size overflows (damaged)",
            npy.shape()
        )),
    }
}

/// Where a `.npy` file's data starts: after the magic, the version, the header length and
/// the header (`head` is the file's first bytes).
fn data_offset(head: &[u8]) -> Option<u64> {
    match head.get(6) {
        Some(1) if head.len() >= 10 => Some(10 + u16::from_le_bytes([head[8], head[9]]) as u64),
        Some(_) if head.len() >= 12 => {
            Some(12 + u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as u64)
        }
        _ => None,
    }
}

/// The header [`save`] writes for a [rows, cols] float32 matrix (npyz's own, so a matrix
/// written in blocks by several processes has the bytes of one written whole).
fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        // The writer puts the header down at once; dropped before any data, it only notes
        // (and ignores) the missing items.
        let _writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(&mut out)
            .begin_nd()
            .expect("writing to memory cannot fail");
    }
    out
}

/// Writes rows 0..`shape[0]` of a [shape[0], shape[1]] matrix whose rows are held in blocks by
/// the shards of a run: `local` holds rows `first..first + local.rows` (those past shape[0]
/// are not written). The lead shard creates the file at its full size, each shard writes its
/// rows in place, and the lead renames it to `path` once all have: the result has the bytes
/// [`save_tensor`] writes for the whole matrix, and a file with the final name is complete.
/// Every shard must call it; the lead gets the file's digest (read back once whole), the others
/// `None`.
pub fn save_shared(
    path: &Path,
    shape: [usize; 2],
    local: &burn::tensor::Tensor<2>,
    first: usize,
    shard: &crate::shard::Shard,
) -> Result<Option<Digest>, TrainError> {
    use std::io::{Seek, SeekFrom};
    let [rows, cols] = shape;
    let partial = path.with_file_name(crate::layout::partial(
        &path
            .file_name()
            .map_or("weights".into(), |n| n.to_string_lossy()),
    ));
    let io = |source| TrainError::Write {
        path: partial.clone(),
        source,
    };
    let header = npy_header(rows, cols);
    shard.agree(if shard.is_lead() {
        (|| {
            let mut f = std::fs::File::create(&partial)?;
            f.write_all(&header)?;
            f.set_len((header.len() + rows * cols * 4) as u64)
        })()
        .map_err(io)
    } else {
        Ok(())
    })?;
    let mine = first.min(rows)..(first + local.dims()[0]).min(rows);
    shard.agree(if mine.is_empty() {
        Ok(())
    } else {
        (|| {
            let mut f = std::fs::OpenOptions::new().write(true).open(&partial)?;
            f.seek(SeekFrom::Start(
                (header.len() + mine.start * cols * 4) as u64,
            ))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut f);
            let block = ((16usize << 20) / cols.max(1)).max(1);
            let mut start = mine.start;
            while start < mine.end {
                let end = (start + block).min(mine.end);
                let values = meanfield_model::net::to_vec(
                    local.clone().slice([start - first..end - first, 0..cols]),
                );
                for v in values {
                    out.write_all(&v.to_le_bytes())?;
                }
                start = end;
            }
            out.flush()?;
            drop(out);
            f.sync_data()
        })()
        .map_err(io)
    })?;
    // The lead renames the whole file into place and digests it (read back: the shards wrote
    // it); a failure of either stops every shard.
    let mut digest = None;
    shard.agree(if shard.is_lead() {
        std::fs::rename(&partial, path)
            .map_err(|source| TrainError::Write {
                path: path.to_path_buf(),
                source,
            })
            .and_then(|()| {
                meanfield_io::digest::of_file(path).map_err(|source| TrainError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            })
            .map(|d| digest = Some(d))
    } else {
        Ok(())
    })?;
    Ok(digest)
}

/// Writes rows 0..`rows` of a matrix held whole in `local` (no `shard`) or, with `shard`, held
/// in blocks by the shards of a run, `local` being this shard's ([`save_shared`]): the snapshot
/// writer (the first R particles) and, through [`save_whole`], every weight file of a run.
/// Returns the file's digest (`None` on a shard other than the lead).
pub fn save_rows(
    path: &Path,
    rows: usize,
    local: &burn::tensor::Tensor<2>,
    shard: Option<&crate::shard::Shard>,
) -> Result<Option<Digest>, TrainError> {
    let cols = local.dims()[1];
    match shard {
        None => save_tensor(path, &local.clone().slice([0..rows, 0..cols])).map(Some),
        Some(s) => save_shared(path, [rows, cols], local, s.rows().start, s),
    }
}

/// Writes a whole matrix: `local` itself, or a shard's block of the whole ([`save_rows`]).
pub fn save_whole(
    path: &Path,
    local: &burn::tensor::Tensor<2>,
    shard: Option<&crate::shard::Shard>,
) -> Result<Option<Digest>, TrainError> {
    use meanfield_model::PartialSum;
    let rows = shard.map_or(local.dims()[0], |s| s.total_width());
    save_rows(path, rows, local, shard)
}

/// Writes a network's weights into `dir` as `hidden` and `readout` ([`save_whole`]: a shard
/// writes its rows of the whole files). Returns each file's name and digest (none on a shard
/// other than the lead).
pub fn save_net(
    dir: &Path,
    hidden: &str,
    readout: &str,
    net: &meanfield_model::MeanFieldNet,
    shard: Option<&crate::shard::Shard>,
) -> Result<Vec<(String, Digest)>, TrainError> {
    let h = save_whole(&dir.join(hidden), &net.hidden.val(), shard)?;
    let r = save_whole(&dir.join(readout), &net.readout.val(), shard)?;
    Ok([(hidden, h), (readout, r)]
        .into_iter()
        .filter_map(|(name, d)| Some((name.to_string(), d?)))
        .collect())
}

/// The shape of the float32 C-order matrix at `path`, read from its header (checked against the
/// file's length), without reading the data.
pub fn shape(path: &Path) -> Result<[usize; 2], TrainError> {
    use std::io::Read;
    let read = |source| TrainError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(read)?;
    let len = f.metadata().map_err(read)?.len();
    let mut head = Vec::new();
    (&mut f)
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(read)?;
    let bad = |reason: String| TrainError::BadWeights {
        path: path.to_path_buf(),
        reason,
    };
    let npy =
        npyz::NpyFile::new(&head[..]).map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
    matrix_shape(&npy, &head, len).map_err(bad)
}

/// Rows `rows` of the float32 C-order matrix at `path`, which must have `expected` shape: a
/// shard's block, read without reading the rest.
pub fn load_rows(
    path: &Path,
    expected: [usize; 2],
    rows: std::ops::Range<usize>,
) -> Result<Vec<f32>, TrainError> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |reason: String| TrainError::BadWeights {
        path: path.to_path_buf(),
        reason,
    };
    let read = |source| TrainError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(read)?;
    let mut head = Vec::new();
    (&mut f)
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(read)?;
    let len = f.metadata().map_err(read)?.len();
    let npy =
        npyz::NpyFile::new(&head[..]).map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
    let shape = matrix_shape(&npy, &head, len).map_err(bad)?;
    if shape != expected {
        return Err(bad(wrong_shape(shape, expected)));
    }
    let start = data_offset(&head).ok_or_else(|| bad("no valid header".into()))?;
    let cols = expected[1];
    f.seek(SeekFrom::Start(start + (rows.start * cols * 4) as u64))
        .map_err(read)?;
    let mut bytes = vec![0u8; rows.len() * cols * 4];
    f.read_exact(&mut bytes).map_err(read)?;
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "entry {} is not finite",
            rows.start * cols + i
        )));
    }
    Ok(data)
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

    /// Three shards (rows 0..4, 4..7, 7..10) writing their blocks in place give the bytes of
    /// the whole matrix saved at once, and so do the first 6 rows (a snapshot); each block reads
    /// back alone.
    #[test]
    fn shards_write_the_bytes_of_the_whole_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        save(&dir.path().join("whole.npy"), 10, 4, &data).unwrap();
        save(&dir.path().join("six.npy"), 6, 4, &data[..24]).unwrap();
        let threads: Vec<_> = crate::shard::LocalGroup::members(3)
            .into_iter()
            .map(|c| {
                let (dir, data) = (dir.path().to_path_buf(), data.clone());
                std::thread::spawn(move || {
                    let shard = crate::shard::Shard::new(c, 10).unwrap();
                    let rows = shard.rows();
                    let device = crate::Backend::default().device().unwrap();
                    let local = burn::tensor::Tensor::<2>::from_data(
                        burn::tensor::TensorData::new(
                            data[rows.start * 4..rows.end * 4].to_vec(),
                            [rows.len(), 4],
                        ),
                        &device,
                    );
                    save_shared(&dir.join("shared.npy"), [10, 4], &local, rows.start, &shard)
                        .unwrap();
                    save_shared(&dir.join("first6.npy"), [6, 4], &local, rows.start, &shard)
                        .unwrap();
                    let back = load_rows(&dir.join("shared.npy"), [10, 4], rows.clone()).unwrap();
                    assert_eq!(back, data[rows.start * 4..rows.end * 4]);
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
        assert_eq!(read("whole.npy"), read("shared.npy"));
        assert_eq!(read("six.npy"), read("first6.npy"));
        assert!(!dir.path().join("shared.npy.partial").exists());
        let err = load_rows(&dir.path().join("six.npy"), [10, 4], 0..2).unwrap_err();
        assert!(err.to_string().contains("[6, 4]"), "{err}");
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
