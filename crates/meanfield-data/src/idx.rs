//! The IDX format (MNIST, Fashion-MNIST): big-endian header, then unsigned bytes.
//!
//! ```text
//! 0x00 0x00 <type = 0x08 (u8)> <ndim>  then ndim big-endian u32 sizes, then the data
//! ```
//! Files may be gzipped (detected by the gzip magic 1f 8b, whatever the name). Every malformed
//! input is an error naming the file: never a panic, never a huge allocation from a bad header.
//! Reading stops at the length the header announces (at most [`MAX_IDX_BYTES`]): a file, or a
//! gzip stream, that goes on is refused after one byte more, so a gzip bomb costs no more
//! memory than the file it claims to be.

use crate::DataError;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A parsed IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

fn corrupt(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        format: "IDX",
        reason: reason.into(),
    }
}

/// The most data bytes an IDX file may announce: 2^30 (1 GiB). MNIST's and Fashion-MNIST's
/// largest file holds 47,040,000 (60000 × 28 × 28); the largest IDX set in common use, EMNIST
/// ByClass, 546,778,688 (697,932 × 28 × 28). Its f32 dataset would take 4 GiB.
pub const MAX_IDX_BYTES: usize = 1 << 30;

/// Reads up to `n` more bytes of `r` into `out` (fewer at the end of the stream).
fn read_up_to(r: &mut impl Read, out: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
    r.take(n as u64).read_to_end(out).map(|_| ())
}

/// Reads an IDX file, gunzipping it when it starts with the gzip magic, and stops where its
/// header says the data end: the header is read first, its length computed with checked
/// arithmetic and capped at [`MAX_IDX_BYTES`], then at most one byte more than that is read. A
/// file (or a decompressed stream) longer than its header says is an error naming both lengths,
/// so memory stays bounded by the header's size, whatever the file holds. A header that cannot
/// be read is returned as it is, for [`parse`] to name what is wrong.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let on_disk = file.metadata().map_err(io)?.len();
    let mut magic = Vec::with_capacity(2);
    read_up_to(&mut file, &mut magic, 2).map_err(io)?;
    if magic == [0x1f, 0x8b] {
        let gzip = |e: std::io::Error| DataError::Corrupt {
            path: path.to_path_buf(),
            format: "gzip",
            reason: format!("{e} (truncated or damaged download?)"),
        };
        read_bounded(
            GzDecoder::new(magic.as_slice().chain(file)),
            path,
            None,
            gzip,
        )
    } else {
        read_bounded(magic.as_slice().chain(file), path, Some(on_disk), io)
    }
}

/// [`read_maybe_gz`] on the (decompressed) stream `r`; `on_disk` is the raw file's length.
fn read_bounded(
    mut r: impl Read,
    path: &Path,
    on_disk: Option<u64>,
    err: impl Fn(std::io::Error) -> DataError,
) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::with_capacity(4);
    read_up_to(&mut r, &mut out, 4).map_err(&err)?;
    if out.len() < 4 || out[..3] != [0, 0, 0x08] || out[3] == 0 {
        return Ok(out);
    }
    let ndim = out[3] as usize;
    let header = 4 + 4 * ndim;
    read_up_to(&mut r, &mut out, header - 4).map_err(&err)?;
    if out.len() < header {
        return Ok(out);
    }
    let dims: Vec<usize> = out[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let Some(expected) = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Ok(out);
    };
    if expected > MAX_IDX_BYTES {
        return Err(corrupt(
            path,
            format!(
                "dimensions {dims:?} announce {expected} data bytes, more than the {MAX_IDX_BYTES} an IDX file may hold here (MNIST's largest holds 47040000)"
            ),
        ));
    }
    let whole = header + expected;
    if let Some(len) = on_disk
        && len > whole as u64
    {
        return Err(corrupt(
            path,
            format!(
                "the file is larger than its header says: {} trailing bytes after the {expected} data bytes of dimensions {dims:?} ({len} bytes in all, {whole} expected)",
                len - whole as u64
            ),
        ));
    }
    // Reserve what the file can hold: the raw file's length, or the header's (up to 64 MiB
    // ahead, so a tiny file announcing 1 GiB reserves no more than that).
    let room = on_disk.map_or(whole.min(1 << 26), |len| len as usize);
    out.reserve(room.saturating_sub(out.len()));
    read_up_to(&mut r, &mut out, expected + 1).map_err(&err)?;
    if out.len() > whole {
        return Err(corrupt(
            path,
            format!(
                "the file is larger than its header says: the decompressed data go on past the {expected} data bytes of dimensions {dims:?} ({whole} bytes with the header; a damaged file or a gzip bomb)"
            ),
        ));
    }
    Ok(out)
}

/// Parses IDX bytes. `path` is only used in error messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<IdxArray, DataError> {
    if bytes.len() < 4 {
        return Err(corrupt(
            path,
            format!("{} bytes is shorter than the 4-byte header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(corrupt(
            path,
            format!(
                "wrong magic number {:02x} {:02x} (expected 00 00)",
                bytes[0], bytes[1]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(corrupt(
            path,
            format!(
                "element type 0x{:02x} is not unsigned byte (0x08)",
                bytes[2]
            ),
        ));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(corrupt(path, "zero dimensions"));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(corrupt(
            path,
            format!(
                "truncated header: {ndim} dimensions need {header} bytes, file has {}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if dims.contains(&0) {
        return Err(corrupt(
            path,
            format!("dimensions {dims:?} hold no data (a dimension is 0)"),
        ));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| corrupt(path, format!("dimensions {dims:?} overflow")))?;
    let body = bytes.len() - header;
    if body < expected {
        return Err(corrupt(
            path,
            format!("truncated: dimensions {dims:?} need {expected} data bytes, found {body}"),
        ));
    }
    if body > expected {
        return Err(corrupt(
            path,
            format!(
                "{} trailing bytes after the {expected} data bytes of dimensions {dims:?}",
                body - expected
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX image file ([n, rows, cols]) and its label file ([n]) into normalised rows.
pub fn load_pair(
    images: &Path,
    labels: &Path,
    mean: f32,
    std: f32,
    classes: usize,
) -> Result<crate::Dataset, DataError> {
    let img = parse(&read_maybe_gz(images)?, images)?;
    let lab = parse(&read_maybe_gz(labels)?, labels)?;
    if img.dims.len() != 3 {
        return Err(corrupt(
            images,
            format!(
                "an image file has 3 dimensions [n, rows, cols], this one has {:?}",
                img.dims
            ),
        ));
    }
    if lab.dims.len() != 1 {
        return Err(corrupt(
            labels,
            format!(
                "a label file has 1 dimension [n], this one has {:?}",
                lab.dims
            ),
        ));
    }
    if img.dims[0] != lab.dims[0] {
        return Err(DataError::LengthMismatch {
            images: images.to_path_buf(),
            labels: labels.to_path_buf(),
            n_images: img.dims[0],
            n_labels: lab.dims[0],
        });
    }
    if let Some((i, y)) = lab
        .data
        .iter()
        .enumerate()
        .find(|(_, y)| **y as usize >= classes)
    {
        return Err(corrupt(
            labels,
            format!(
                "label {y} at index {i} is out of range 0..{classes} (this dataset's labels are 0 to {}): the file is damaged or not this dataset's; delete it and fetch it again",
                classes.saturating_sub(1)
            ),
        ));
    }
    let dim = img.dims[1] * img.dims[2];
    let x = crate::normalize::normalize(&img.data, dim, &[mean], &[std]);
    crate::Dataset::new(x, lab.data, dim, classes)
}

/// Writes an IDX u8 file (raw, not gzipped): used by tests and by tools that subset MNIST.
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&(*d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// `name` inside `dir`, or `name` without its `.gz` suffix if only the raw file is there.
pub fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    let gz = dir.join(name);
    if gz.is_file() {
        return Some(gz);
    }
    let raw = dir.join(name.trim_end_matches(".gz"));
    raw.is_file().then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let a = parse(&bytes, Path::new("x")).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let good = encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let mut wrong_magic = good.clone();
        wrong_magic[0] = 7;
        let mut wrong_type = good.clone();
        wrong_type[2] = 0x0d;
        // A header announcing ~1.8e19 bytes must fail before any allocation.
        let huge = encode(&[0xffff_ffff, 0xffff_ffff], &[]);
        let overflow = encode(&[0xffff_ffff, 0xffff_ffff, 0xffff_ffff], &[]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "shorter than"),
            (wrong_magic, "magic"),
            (wrong_type, "unsigned byte"),
            (good[..good.len() - 1].to_vec(), "truncated"),
            (good[..6].to_vec(), "truncated header"),
            ([good.clone(), vec![0]].concat(), "trailing"),
            (huge, "need"),
            (overflow, "overflow"),
        ];
        for (bytes, expect) in cases {
            let err = parse(&bytes, Path::new("data/f.idx"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("data/f.idx") && err.contains(expect),
                "{err} (want {expect})"
            );
        }
    }
}
