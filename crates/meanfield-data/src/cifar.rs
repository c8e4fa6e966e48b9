//! CIFAR-10 in both published formats.
//!
//! - Binary (`cifar-10-batches-bin/`): records of 1 label byte then 3072 pixel bytes (1024 R,
//!   1024 G, 1024 B, each 32×32 row-major). `data_batch_1.bin`..`data_batch_5.bin` hold 10000
//!   records each for training, `test_batch.bin` 10000 for testing.
//! - Python (`cifar-10-batches-py/`, what torchvision reads): `data_batch_1`..`data_batch_5`
//!   and `test_batch` are pickled dicts of `data` (a numpy uint8 array [n, 3072], the same pixel
//!   order) and `labels`. Read with serde-pickle, which executes nothing in the file.
//!
//! Every published batch file has a known size ([`BINARY_BATCH_BYTES`], [`PY_BATCH_BYTES`]). A
//! file is refused before it is read when it is larger than its published size (or, binary, not
//! a whole number of records), so a file never costs more memory than the published one; smaller
//! files (subsets, the generated ones of the tests) are read.
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
/// Records in a published binary batch: "Each file contains 10000 such 3073-byte rows"
/// (cs.toronto.edu/~kriz/cifar.html, the dataset's page).
pub const BATCH_RECORDS: usize = 10_000;
/// The size of each published binary batch, 10000 records of 3073 bytes: "each file should be
/// exactly 30730000 bytes long" (the same page).
pub const BINARY_BATCH_BYTES: u64 = (BATCH_RECORDS * RECORD) as u64;
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
    if n > BATCH_RECORDS {
        return Err(corrupt(format!(
            "{n} records, more than the {BATCH_RECORDS} of a published batch ({BINARY_BATCH_BYTES} bytes): not a CIFAR-10 batch"
        )));
    }
    let mut pixels = Vec::with_capacity(n * 3072);
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] >= 10 {
            return Err(corrupt(format!(
                "record {i} has label {} (must be 0..9): the file is damaged or not a CIFAR-10 batch; delete it and run `experiments fetch cifar10`",
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
/// The sizes of the published Python batches (`cifar-10-python.tar.gz`, MD5
/// [`CIFAR10_PY_MD5`]), as two independent listings of the unpacked archive give them: the
/// `s3cmd ls` of a torchvision mirror quoted in a public GitHub script (`S3CIFAR10`'s docstring)
/// and the `ls -l` in the lamastex "Scalable Data Science" course notes (SDS-2.2, CIFAR 10); the
/// two agree byte for byte. The pickle format's arithmetic agrees to 0.1%: each (protocol 2)
/// holds the 30,720,000 pixel bytes as one string, 10000 labels (2 bytes each) and 10000 file
/// names (about 32 bytes each with their memo entries); the batches differ by their names'
/// lengths.
pub const PY_BATCH_BYTES: [(&str, u64); 6] = [
    ("data_batch_1", 31_035_704),
    ("data_batch_2", 31_035_320),
    ("data_batch_3", 31_035_999),
    ("data_batch_4", 31_035_696),
    ("data_batch_5", 31_035_623),
    ("test_batch", 31_035_526),
];

/// The most bytes a batch file `name` of `format` may have: its published size (for a Python
/// file of another name, the largest published batch).
pub fn max_bytes(format: Format, name: &str) -> u64 {
    match format {
        Format::Binary => BINARY_BATCH_BYTES,
        Format::Python => PY_BATCH_BYTES.iter().find(|(n, _)| *n == name).map_or_else(
            || PY_BATCH_BYTES.iter().map(|(_, b)| *b).max().unwrap_or(0),
            |(_, b)| *b,
        ),
    }
}

/// Why a batch file `name` of `format` and `len` bytes cannot be a CIFAR-10 batch, if it
/// cannot: larger than its published size, or (binary) empty or not whole records.
pub fn size_problem(format: Format, name: &str, len: u64) -> Option<String> {
    let max = max_bytes(format, name);
    match format {
        Format::Binary if len > max => Some(format!(
            "{len} bytes is more than a published batch ({BATCH_RECORDS} records of {RECORD} bytes, {max} bytes): not a CIFAR-10 binary batch"
        )),
        Format::Binary if len == 0 => Some("the file is empty".into()),
        Format::Binary if !len.is_multiple_of(RECORD as u64) => Some(format!(
            "{len} bytes is not a whole number of {RECORD}-byte records (truncated or not CIFAR-10 binary? the python pickles `data_batch_1` without .bin are a different format)"
        )),
        Format::Python if len > max => Some(format!(
            "{len} bytes is more than the published {name} ({max} bytes): not a CIFAR-10 Python batch"
        )),
        _ => None,
    }
}

/// Reads and parses one batch file of `format` into (pixels, labels), refusing it before it is
/// read when its length is not one a batch of that name can have ([`size_problem`]): never more
/// than the published size is read.
pub fn read_batch(path: &Path, format: Format) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    use std::io::Read;
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |reason: String| DataError::Corrupt {
        path: path.to_path_buf(),
        format: match format {
            Format::Binary => "CIFAR-10 binary batch",
            Format::Python => "CIFAR-10 Python batch (pickle)",
        },
        reason,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if let Some(reason) = size_problem(format, &name, len) {
        return Err(refuse(reason));
    }
    // At most one byte more than the length checked: a file that grew since is refused too.
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 != len {
        return Err(refuse(format!(
            "its length changed while it was read ({len} bytes, then {} or more)",
            bytes.len()
        )));
    }
    match format {
        Format::Binary => parse(&bytes, path),
        Format::Python => parse_python(&bytes, path),
    }
}

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
                other => Err(corrupt(format!(
                    "label {i} is {other:?}, not 0..9: the file is damaged or not a CIFAR-10 batch; delete it and run `experiments fetch cifar10`"
                ))),
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
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let (p, l) = read_batch(path, format)?;
        // Normalised file by file, so the bytes of all files are never held beside the floats.
        // (Bytes through these constants stay within ±2.2, far inside the bound on features
        // that `Dataset::new` checks.)
        images.extend(normalize(&p, 1024, &CIFAR10_MEAN, &CIFAR10_STD));
        labels.extend(l);
    }
    Dataset::new(images, labels, 3072, 10)
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
