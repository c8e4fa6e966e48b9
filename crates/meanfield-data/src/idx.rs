//! The IDX format (MNIST, Fashion-MNIST): big-endian header, then unsigned bytes.
//!
//! ```text
//! 0x00 0x00 <type = 0x08 (u8)> <ndim>  then ndim big-endian u32 sizes, then the data
//! ```
//! Files may be gzipped (detected by the gzip magic 1f 8b, whatever the name). Every malformed
//! input is an error naming the file: never a panic, never a huge allocation from a bad header.

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

/// Reads a file, gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::Corrupt {
                path: path.to_path_buf(),
                format: "gzip",
                reason: format!("{e} (truncated or damaged download?)"),
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
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
            format!("label {y} at index {i} is out of range 0..{classes}"),
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
