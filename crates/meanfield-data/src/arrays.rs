//! Your own data as NumPy arrays (`dataset = "arrays"`; `experiments arrays --data-dir DIR`).
//!
//! The folder holds `train_x.npy` and `train_y.npy`, and optionally `test_x.npy` and
//! `test_y.npy` (both or neither; without them there is no test set and the test scores are
//! absent):
//! - `*_x.npy`: float32 or uint8, C order, [n, p] or [n, h, w, c] (flattened row-major to
//!   p = h·w·c); uint8 values are divided by 255 first, as image pixels;
//! - `*_y.npy`: any integer dtype, [n], labels in 0..classes.
//!
//! `classes` is the largest label + 1 unless given. Normalisation ([`Normalize`]) is off,
//! per-feature standardisation with the training set's mean and standard deviation (applied to
//! both sets), or given constants; the choice is part of the run's `config.toml`. Every
//! malformed file is an error naming the file and what is wrong.

use crate::{DataError, Dataset};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file names, in train-x, train-y, test-x, test-y order.
pub const FILES: [&str; 4] = ["train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy"];

/// How the features are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Normalize {
    /// As stored (uint8 divided by 255).
    #[default]
    None,
    /// Per feature: (x − mean_j) / std_j over the training set (std_j = 0 counts as 1).
    Standardize,
    /// (x − mean) / std with the given constants.
    Affine { mean: f64, std: f64 },
}

impl std::fmt::Display for Normalize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Normalize::None => write!(f, "none"),
            Normalize::Standardize => write!(f, "standardize"),
            Normalize::Affine { mean, std } => write!(f, "affine:{mean}:{std}"),
        }
    }
}

impl std::str::FromStr for Normalize {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        let bad = || DataError::Invalid {
            what: "normalize",
            reason: format!(
                "{s:?}: use none, standardize, or affine:<mean>:<std> with a finite mean and std > 0"
            ),
        };
        match s {
            "none" => Ok(Normalize::None),
            "standardize" => Ok(Normalize::Standardize),
            _ => {
                let rest = s.strip_prefix("affine:").ok_or_else(bad)?;
                let (m, d) = rest.split_once(':').ok_or_else(bad)?;
                let (mean, std): (f64, f64) =
                    (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
                if mean.is_finite() && std.is_finite() && std > 0.0 {
                    Ok(Normalize::Affine { mean, std })
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl TryFrom<String> for Normalize {
    type Error = DataError;
    fn try_from(s: String) -> Result<Self, DataError> {
        s.parse()
    }
}

impl From<Normalize> for String {
    fn from(n: Normalize) -> String {
        n.to_string()
    }
}

impl ArraysConfig {
    /// Whether every setting is the default (then `config.toml` leaves the table out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The settings of an arrays dataset (the `[arrays]` table of a config).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArraysConfig {
    #[serde(default)]
    pub normalize: Normalize,
    /// The number of classes; the largest label + 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
}

fn bad(path: &Path, reason: String) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        format: "NumPy .npy",
        reason,
    }
}

/// The file's header and its data, once the header's shape is checked against the data's
/// length: its element count (with overflow-safe arithmetic) times the dtype's size must be the
/// bytes after the header, so the data are read only at the length the file really has (npyz
/// itself multiplies the shape with wrapping arithmetic and would read an overflowing count as
/// an empty array, or reserve memory for a count the file does not hold).
fn read(path: &Path) -> Result<npyz::NpyFile<std::io::Cursor<Vec<u8>>>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut cursor = std::io::Cursor::new(bytes);
    let header = npyz::NpyHeader::from_reader(&mut cursor)
        .map_err(|e| bad(path, format!("cannot parse the header: {e}")))?;
    let data_bytes = cursor.get_ref().len() as u64 - cursor.position();
    let shape = header.shape();
    let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    let item = header.dtype().num_bytes().map(|b| b as u64);
    let Some(count) = count else {
        return Err(bad(
            path,
            format!(
                "the header's shape {shape:?} has more elements than 2^64 (its product overflows), and the file holds {data_bytes} bytes of data: the header is damaged"
            ),
        ));
    };
    match item.and_then(|b| b.checked_mul(count)) {
        Some(need) if need == data_bytes => {}
        need => {
            return Err(bad(
                path,
                format!(
                    "the header's shape {shape:?} is {count} elements of {} bytes ({} bytes of data), but the file holds {data_bytes} bytes after its header: the file is truncated or its header is wrong; save it again with np.save",
                    item.map_or("an unknown number of".into(), |b| b.to_string()),
                    need.map_or("more than 2^64".into(), |n| n.to_string())
                ),
            ));
        }
    }
    let npy = npyz::NpyFile::with_header(header, cursor);
    if npy.order() != npyz::Order::C {
        return Err(bad(
            path,
            "Fortran order: save it with np.ascontiguousarray".into(),
        ));
    }
    Ok(npy)
}

/// The dtype as NumPy's type string (`<f4`, `|u1`, `<i8`, …).
fn descr(npy: &npyz::NpyFile<std::io::Cursor<Vec<u8>>>) -> String {
    match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    }
}

/// Features [n, p] (float, uint8 divided by 255).
fn features(path: &Path) -> Result<(Vec<f32>, usize, usize), DataError> {
    let npy = read(path)?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let too_many = || {
        bad(
            path,
            format!("shape {shape:?}: the features per example overflow"),
        )
    };
    let (n, p) = match shape[..] {
        [n, p] => (n, p),
        [n, h, w, c] => (
            n,
            h.checked_mul(w)
                .and_then(|hw| hw.checked_mul(c))
                .ok_or_else(too_many)?,
        ),
        _ => {
            return Err(bad(
                path,
                format!("shape {shape:?}: features must be [n, p] or [n, h, w, c]"),
            ));
        }
    };
    if n == 0 || p == 0 {
        return Err(bad(path, format!("shape {shape:?} is empty")));
    }
    let kind = descr(&npy);
    let values: Vec<f32> = match kind.as_str() {
        "<f4" => npy
            .into_vec::<f32>()
            .map_err(|e| bad(path, format!("cannot read the data: {e}")))?,
        "|u1" => npy
            .into_vec::<u8>()
            .map_err(|e| bad(path, format!("cannot read the data: {e}")))?
            .into_iter()
            .map(|b| b as f32 / 255.0)
            .collect(),
        other => {
            return Err(bad(
                path,
                format!(
                    "dtype {other}: features must be float32 (<f4) or uint8 (|u1); convert with x.astype(np.float32)"
                ),
            ));
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(
            path,
            format!("value {i} (row {}, feature {}) is not finite", i / p, i % p),
        ));
    }
    Ok((values, n, p))
}

/// Labels [n] as non-negative integers.
fn labels(path: &Path) -> Result<Vec<u64>, DataError> {
    let npy = read(path)?;
    let shape: Vec<u64> = npy.shape().to_vec();
    if shape.len() != 1 {
        return Err(bad(
            path,
            format!("shape {shape:?}: labels must be one integer per example, [n]"),
        ));
    }
    let kind = descr(&npy);
    let err = |e: std::io::Error| bad(path, format!("cannot read the data: {e}"));
    let values: Vec<i128> = match kind.as_str() {
        "|u1" => npy
            .into_vec::<u8>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "|i1" => npy
            .into_vec::<i8>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "<u2" => npy
            .into_vec::<u16>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "<i2" => npy
            .into_vec::<i16>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "<u4" => npy
            .into_vec::<u32>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "<i4" => npy
            .into_vec::<i32>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "<u8" => npy
            .into_vec::<u64>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        "<i8" => npy
            .into_vec::<i64>()
            .map_err(err)?
            .into_iter()
            .map(i128::from)
            .collect(),
        other => {
            return Err(bad(
                path,
                format!(
                    "dtype {other}: labels must be integers (e.g. int64); convert with y.astype(np.int64)"
                ),
            ));
        }
    };
    if values.is_empty() {
        return Err(bad(path, "no labels".into()));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            u64::try_from(v).map_err(|_| bad(path, format!("label {v} at index {i} is negative")))
        })
        .collect()
}

/// Loads (train, test) from `dir`; the test set is empty when `test_x.npy` and `test_y.npy` are
/// both absent.
pub fn load(dir: &Path, config: &ArraysConfig) -> Result<(Dataset, Dataset), DataError> {
    let path = |f: &str| -> PathBuf { dir.join(f) };
    if !path(FILES[0]).is_file() || !path(FILES[1]).is_file() {
        return Err(DataError::Missing {
            dataset: "arrays",
            dir: dir.to_path_buf(),
            missing: FILES[..2]
                .iter()
                .filter(|f| !path(f).is_file())
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            fix: "Save them from NumPy (np.save) into that folder, or point `data_dir` at it"
                .into(),
        });
    }
    let has_test = (path(FILES[2]).is_file(), path(FILES[3]).is_file());
    if has_test.0 != has_test.1 {
        let (have, lack) = if has_test.0 { (2, 3) } else { (3, 2) };
        return Err(bad(
            &path(FILES[have]),
            format!(
                "{} is missing: give both test files or neither",
                FILES[lack]
            ),
        ));
    }
    let pair = |x: &str, y: &str| -> Result<(Vec<f32>, Vec<u64>, usize), DataError> {
        let (values, n, p) = features(&path(x))?;
        let ys = labels(&path(y))?;
        if ys.len() != n {
            return Err(DataError::LengthMismatch {
                images: path(x),
                labels: path(y),
                n_images: n,
                n_labels: ys.len(),
            });
        }
        Ok((values, ys, p))
    };
    let (mut train_x, train_y, p) = pair(FILES[0], FILES[1])?;
    let (mut test_x, test_y) = if has_test.0 {
        let (x, y, test_p) = pair(FILES[2], FILES[3])?;
        if test_p != p {
            return Err(bad(
                &path(FILES[2]),
                format!("{test_p} features per example, but train_x.npy has {p}"),
            ));
        }
        (x, y)
    } else {
        (Vec::new(), Vec::new())
    };
    let largest = train_y.iter().chain(&test_y).copied().max().unwrap_or(0);
    if config.classes.is_none() && largest >= 256 {
        // The class count would come from this label: name where it is.
        let (file, i) = [(FILES[1], &train_y), (FILES[3], &test_y)]
            .into_iter()
            .find_map(|(f, ys)| ys.iter().position(|y| *y == largest).map(|i| (f, i)))
            .expect("the largest label is in one of the files");
        return Err(bad(
            &path(file),
            format!(
                "label {largest} at index {i} would make {} classes: at most 256 are supported (labels 0 to 255); relabel the classes as 0..K-1",
                largest as u128 + 1
            ),
        ));
    }
    let classes = config.classes.unwrap_or(largest as usize + 1);
    if classes > 256 {
        return Err(DataError::Invalid {
            what: "classes",
            reason: format!("{classes} classes: at most 256 are supported"),
        });
    }
    for (file, ys) in [(FILES[1], &train_y), (FILES[3], &test_y)] {
        if let Some((i, y)) = ys.iter().enumerate().find(|(_, y)| **y as usize >= classes) {
            return Err(bad(
                &path(file),
                format!(
                    "label {y} at index {i} is not below the number of classes {classes} (set classes = K in the [arrays] table of config.toml, or `classes`)"
                ),
            ));
        }
    }
    normalize(&mut train_x, &mut test_x, p, config.normalize);
    let fix = match config.normalize {
        Normalize::Standardize => "with `normalize` standardize, this value lies far outside the training set's range of the feature: check the file, or set `normalize` to affine:<mean>:<std>".to_string(),
        how => format!(
            "with `normalize` {how}, rescale the features: set `normalize` to standardize (each feature by the training set's mean and standard deviation) or to affine:<mean>:<std>"
        ),
    };
    for (file, x) in [(FILES[0], &train_x), (FILES[2], &test_x)] {
        crate::dataset::check_features(x, p, &path(file).display().to_string(), &fix)?;
    }
    let to_u8 = |ys: Vec<u64>| ys.into_iter().map(|y| y as u8).collect::<Vec<u8>>();
    Ok((
        Dataset::new(train_x, to_u8(train_y), p, classes)?,
        Dataset::new(test_x, to_u8(test_y), p, classes)?,
    ))
}

/// Applies `how` to both sets, with the training set's statistics.
fn normalize(train: &mut [f32], test: &mut [f32], p: usize, how: Normalize) {
    let (mean, std): (Vec<f64>, Vec<f64>) = match how {
        Normalize::None => return,
        Normalize::Affine { mean, std } => (vec![mean; p], vec![std; p]),
        Normalize::Standardize => {
            let n = (train.len() / p) as f64;
            let mut mean = vec![0.0f64; p];
            for row in train.chunks_exact(p) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += *v as f64 / n;
                }
            }
            let mut var = vec![0.0f64; p];
            for row in train.chunks_exact(p) {
                for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                    *s += (*v as f64 - m).powi(2) / n;
                }
            }
            let std = var
                .into_iter()
                .map(|v| if v > 0.0 { v.sqrt() } else { 1.0 })
                .collect();
            (mean, std)
        }
    };
    for data in [train, test] {
        for row in data.chunks_exact_mut(p) {
            for ((v, m), s) in row.iter_mut().zip(&mean).zip(&std) {
                *v = ((*v as f64 - m) / s) as f32;
            }
        }
    }
}
