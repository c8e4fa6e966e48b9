//! CIFAR-10 in both published formats.
//!
//! - Binary (`cifar-10-batches-bin/`): records of 1 label byte then 3072 pixel bytes (1024 R,
//!   1024 G, 1024 B, each 32×32 row-major). `data_batch_1.bin`..`data_batch_5.bin` hold 10000
//!   records each for training, `test_batch.bin` 10000 for testing.
//! - Python (`cifar-10-batches-py/`, what torchvision reads): `data_batch_1`..`data_batch_5`
//!   and `test_batch` are pickled dicts of `data` (a numpy uint8 array [n, 3072], the same pixel
//!   order) and `labels`. Read with serde-pickle, which executes nothing in the file; a file over
//!   [`MAX_PICKLE_BYTES`] is refused before it is read.
//!
//! [`locate`] finds either under the data directory: `cifar10/` (binary files, as fetched),
//! `cifar10/cifar-10-batches-bin/`, `cifar10/cifar-10-batches-py/`, `cifar-10-batches-bin/`,
//! `cifar-10-batches-py/` (a torchvision root). Both give the same pixels and normalisation.

use crate::normalize::{CIFAR10_MEAN, CIFAR10_STD, normalize};
use crate::{DataError, Dataset};
use std::path::{Path, PathBuf};

/// The published binary archive (cs.toronto.edu/~kriz/cifar.html).
pub const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// The published MD5 of [`CIFAR10_URL`].
pub const CIFAR10_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// The published Python archive.
pub const CIFAR10_PY_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz";
/// The published MD5 of [`CIFAR10_PY_URL`].
pub const CIFAR10_PY_MD5: &str = "c58f30108f718f92721af3b95e74349a";

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

/// The Python format's file names (train, then test).
pub const PY_TRAIN_FILES: [&str; 5] = [
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
];
pub const PY_TEST_FILE: &str = "test_batch";
/// A published Python batch is about 31 MB; anything far larger is not one.
pub const MAX_PICKLE_BYTES: u64 = 256 << 20;

/// Which published format a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Binary,
    Python,
}

/// The first folder under `data_dir` that holds every file of one format, with that format.
pub fn locate(data_dir: &Path) -> Option<(PathBuf, Format)> {
    let candidates = [
        (data_dir.join("cifar10"), Format::Binary),
        (
            data_dir.join("cifar10/cifar-10-batches-bin"),
            Format::Binary,
        ),
        (data_dir.join("cifar-10-batches-bin"), Format::Binary),
        (data_dir.join("cifar10/cifar-10-batches-py"), Format::Python),
        (data_dir.join("cifar-10-batches-py"), Format::Python),
        (data_dir.join("cifar10"), Format::Python),
    ];
    candidates
        .into_iter()
        .find(|(dir, format)| files(*format).iter().all(|f| dir.join(f).is_file()))
}

/// The files of `format`, train then test.
pub fn files(format: Format) -> Vec<&'static str> {
    match format {
        Format::Binary => TRAIN_FILES.iter().chain([&TEST_FILE]).copied().collect(),
        Format::Python => PY_TRAIN_FILES
            .iter()
            .chain([&PY_TEST_FILE])
            .copied()
            .collect(),
    }
}

/// Parses one Python-format batch into (pixels, labels).
pub fn parse_python(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    use serde_pickle::{DeOptions, HashableValue, Value};
    let corrupt = |reason: String| DataError::Corrupt {
        path: path.to_path_buf(),
        format: "CIFAR-10 Python batch (pickle)",
        reason,
    };
    let value =
        serde_pickle::value_from_slice(bytes, DeOptions::new().replace_unresolved_globals())
            .map_err(|e| corrupt(format!("not a readable pickle: {e}")))?;
    let Value::Dict(entries) = value else {
        return Err(corrupt("the pickle is not a dict".into()));
    };
    let get = |key: &str| {
        entries.iter().find_map(|(k, v)| match k {
            HashableValue::Bytes(b) if b == key.as_bytes() => Some(v),
            HashableValue::String(s) if s == key => Some(v),
            _ => None,
        })
    };
    let labels: Vec<u8> = match get("labels") {
        Some(Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::I64(y) if (0..10).contains(y) => Ok(*y as u8),
                other => Err(corrupt(format!("label {i} is {other:?}, not 0..9"))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(corrupt("no `labels` list".into())),
    };
    // A numpy array is kept as its saved state, (version, shape, dtype, fortran, raw bytes):
    // the pixels are the byte string of n·3072 bytes inside it.
    fn raw(v: &Value, len: usize) -> Option<&Vec<u8>> {
        match v {
            Value::Bytes(b) if b.len() == len => Some(b),
            Value::Tuple(items) | Value::List(items) => items.iter().find_map(|i| raw(i, len)),
            _ => None,
        }
    }
    let n = labels.len();
    let data = get("data").ok_or_else(|| corrupt("no `data` entry".into()))?;
    let pixels = raw(data, n * 3072).ok_or_else(|| {
        corrupt(format!(
            "`data` holds no uint8 array of {n} × 3072 bytes (one row per label)"
        ))
    })?;
    if n == 0 {
        return Err(corrupt("the batch is empty".into()));
    }
    Ok((pixels.clone(), labels))
}

/// Loads and normalises several batch files of `format` into one dataset.
pub fn load_format(paths: &[&Path], format: Format) -> Result<Dataset, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        if format == Format::Python {
            let size = std::fs::metadata(path).map_err(io)?.len();
            if size > MAX_PICKLE_BYTES {
                return Err(DataError::Corrupt {
                    path: path.to_path_buf(),
                    format: "CIFAR-10 Python batch (pickle)",
                    reason: format!("{size} bytes is far larger than a CIFAR-10 batch"),
                });
            }
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let (p, l) = match format {
            Format::Binary => parse(&bytes, path)?,
            Format::Python => parse_python(&bytes, path)?,
        };
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

/// Loads and normalises several binary batch files into one dataset.
pub fn load(paths: &[&Path]) -> Result<Dataset, DataError> {
    load_format(paths, Format::Binary)
}

/// Loads (train, test) from whichever format [`locate`] finds under `data_dir`.
pub fn load_dir(data_dir: &Path) -> Option<Result<(Dataset, Dataset), DataError>> {
    let (dir, format) = locate(data_dir)?;
    let all: Vec<PathBuf> = files(format).iter().map(|f| dir.join(f)).collect();
    let refs: Vec<&Path> = all.iter().map(|p| p.as_path()).collect();
    Some(
        load_format(&refs[..5], format)
            .and_then(|train| Ok((train, load_format(&refs[5..], format)?))),
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
