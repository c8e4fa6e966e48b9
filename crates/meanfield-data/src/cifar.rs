//! CIFAR-10 binary batches: records of 1 label byte then 3072 pixel bytes (1024 R, 1024 G,
//! 1024 B, each 32×32 row-major). `data_batch_1.bin`..`data_batch_5.bin` hold 10000 records
//! each for training, `test_batch.bin` 10000 for testing.

use crate::normalize::{CIFAR10_MEAN, CIFAR10_STD, normalize};
use crate::{DataError, Dataset};
use std::path::Path;

pub const RECORD: usize = 1 + 3072;
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const TEST_FILE: &str = "test_batch.bin";

/// Parses one batch's bytes into (pixels, labels). `path` is for error messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let corrupt = |reason: String| DataError::Corrupt {
        path: path.to_path_buf(),
        format: "CIFAR-10 binary batch",
        reason,
    };
    if bytes.is_empty() {
        return Err(corrupt("the file is empty".into()));
    }
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(corrupt(format!(
            "{} bytes is not a whole number of {RECORD}-byte records (truncated or not CIFAR-10 binary? the python pickles `data_batch_1` without .bin are a different format)",
            bytes.len()
        )));
    }
    let n = bytes.len() / RECORD;
    let mut pixels = Vec::with_capacity(n * 3072);
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] >= 10 {
            return Err(corrupt(format!(
                "record {i} has label {} (must be 0..9)",
                rec[0]
            )));
        }
        labels.push(rec[0]);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok((pixels, labels))
}

/// Loads and normalises several batch files into one dataset.
pub fn load(paths: &[&Path]) -> Result<Dataset, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (p, l) = parse(&bytes, path)?;
        pixels.extend(p);
        labels.extend(l);
    }
    Dataset::new(
        normalize(&pixels, 1024, &CIFAR10_MEAN, &CIFAR10_STD),
        labels,
        3072,
        10,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_and_rejects_bad_ones() {
        let mut bytes = vec![3u8];
        bytes.extend((0..3072).map(|i| (i % 256) as u8));
        let (p, l) = parse(&bytes, Path::new("b.bin")).unwrap();
        assert_eq!(l, vec![3]);
        assert_eq!(p.len(), 3072);
        assert!(
            parse(&bytes[..100], Path::new("b.bin"))
                .unwrap_err()
                .to_string()
                .contains("b.bin")
        );
        let mut bad = bytes.clone();
        bad[0] = 10;
        assert!(
            parse(&bad, Path::new("b.bin"))
                .unwrap_err()
                .to_string()
                .contains("label 10")
        );
        assert!(
            parse(&[], Path::new("b.bin"))
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }
}
