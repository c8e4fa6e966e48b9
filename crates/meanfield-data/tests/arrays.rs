//! Your own arrays: the formats read (float32 and uint8, [n, p] and [n, h, w, c], any integer
//! labels), normalisation against its definition, and a clear error, naming the file, for every
//! malformed input.

use meanfield_data::arrays::{ArraysConfig, Normalize, load};
use npyz::WriterBuilder;
use std::path::Path;

fn save<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    dir: &Path,
    name: &str,
    shape: &[u64],
    data: &[T],
) {
    let mut file = std::fs::File::create(dir.join(name)).unwrap();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut file)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

/// 4 training examples of p = 3 features, labels 0..2; a test set of 2.
fn good(dir: &Path) {
    save(
        dir,
        "train_x.npy",
        &[4, 3],
        &[
            1.0f32, 2.0, 3.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0, 4.0, 4.0, 4.0,
        ],
    );
    save(dir, "train_y.npy", &[4], &[0i64, 1, 2, 1]);
    save(
        dir,
        "test_x.npy",
        &[2, 3],
        &[1.0f32, 1.0, 1.0, 2.0, 2.0, 2.0],
    );
    save(dir, "test_y.npy", &[2], &[2i64, 0]);
}

fn error(dir: &Path, config: &ArraysConfig) -> String {
    load(dir, config).unwrap_err().to_string()
}

#[test]
fn reads_float_and_images_and_infers_classes() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let (train, test) = load(dir.path(), &ArraysConfig::default()).unwrap();
    assert_eq!((train.len(), train.dim, train.classes), (4, 3, 3));
    assert_eq!(train.row(1), &[3.0, 2.0, 1.0]);
    assert_eq!((test.len(), test.labels.clone()), (2, vec![2, 0]));

    // uint8 images [n, h, w, c] are flattened row-major and divided by 255; int32 labels; the
    // class count can be larger than the labels seen; no test files, no test set.
    let img = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..2 * 2 * 2 * 3).map(|i| (i * 10) as u8).collect();
    save(img.path(), "train_x.npy", &[2, 2, 2, 3], &pixels);
    save(img.path(), "train_y.npy", &[2], &[1i32, 0]);
    let config = ArraysConfig {
        classes: Some(10),
        ..Default::default()
    };
    let (train, test) = load(img.path(), &config).unwrap();
    assert_eq!((train.dim, train.classes, test.len()), (12, 10, 0));
    assert_eq!(train.row(1)[0], 120.0 / 255.0);
}

/// Standardisation uses the training set's per-feature mean and (population) sd, for both
/// sets. Feature 0 of the training set is 1, 3, 0, 4: mean 2, sd sqrt(2.5); a constant feature
/// would keep sd 1.
#[test]
fn normalisation_matches_its_definition() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let config = ArraysConfig {
        normalize: Normalize::Standardize,
        classes: None,
    };
    let (train, test) = load(dir.path(), &config).unwrap();
    let sd = 2.5f64.sqrt();
    assert!((train.row(0)[0] as f64 - (1.0 - 2.0) / sd).abs() < 1e-6);
    assert!((test.row(1)[0] as f64 - (2.0 - 2.0) / sd).abs() < 1e-6);
    for j in 0..3 {
        let mean: f64 = (0..4).map(|i| train.row(i)[j] as f64).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-6, "feature {j} mean {mean}");
    }
    let config = ArraysConfig {
        normalize: "affine:1:2".parse().unwrap(),
        classes: None,
    };
    let (train, _) = load(dir.path(), &config).unwrap();
    assert_eq!(train.row(0), &[0.0, 0.5, 1.0]);
    for bad in ["affine:1", "affine:1:0", "affine:x:1", "zscore"] {
        assert!(bad.parse::<Normalize>().is_err(), "{bad}");
    }
}

/// A malformed input: what it is, how to make it from the good files, what the error says.
type Case = (&'static str, Box<dyn Fn(&Path)>, &'static [&'static str]);

/// Every malformed input: the message names the file and what is wrong.
#[test]
fn malformed_files_are_clear_errors() {
    let config = ArraysConfig::default();
    let case = |tweak: &dyn Fn(&Path)| -> String {
        let dir = tempfile::tempdir().unwrap();
        good(dir.path());
        tweak(dir.path());
        error(dir.path(), &config)
    };
    let cases: Vec<Case> = vec![
        (
            "float64 features",
            Box::new(|d| save(d, "train_x.npy", &[4, 3], &[0.5f64; 12])),
            &["train_x.npy", "<f8", "float32"],
        ),
        (
            "1-D features",
            Box::new(|d| save(d, "train_x.npy", &[12], &[0.5f32; 12])),
            &["train_x.npy", "[12]", "[n, p]"],
        ),
        (
            "n mismatch",
            Box::new(|d| save(d, "train_y.npy", &[3], &[0i64, 1, 2])),
            &["train_x.npy", "train_y.npy", "4", "3"],
        ),
        (
            "NaN",
            Box::new(|d| {
                let mut v = [1.0f32; 12];
                v[4] = f32::NAN;
                save(d, "train_x.npy", &[4, 3], &v)
            }),
            &["train_x.npy", "value 4 (row 1, feature 1) is not finite"],
        ),
        (
            "negative label",
            Box::new(|d| save(d, "train_y.npy", &[4], &[0i64, -1, 2, 1])),
            &["train_y.npy", "label -1 at index 1 is negative"],
        ),
        (
            "float labels",
            Box::new(|d| save(d, "test_y.npy", &[2], &[0.0f32, 1.0])),
            &["test_y.npy", "<f4", "integers"],
        ),
        (
            "empty",
            Box::new(|d| save(d, "train_x.npy", &[0, 3], &[] as &[f32])),
            &["train_x.npy", "empty"],
        ),
        (
            "test without its labels",
            Box::new(|d| std::fs::remove_file(d.join("test_y.npy")).unwrap()),
            &["test_x.npy", "test_y.npy is missing"],
        ),
        (
            "test with another p",
            Box::new(|d| save(d, "test_x.npy", &[2, 2], &[1.0f32; 4])),
            &["test_x.npy", "2 features", "has 3"],
        ),
        (
            "not a .npy file",
            Box::new(|d| std::fs::write(d.join("train_y.npy"), b"0,1,2,1").unwrap()),
            &["train_y.npy", "header"],
        ),
        (
            "no training files",
            Box::new(|d| std::fs::remove_file(d.join("train_x.npy")).unwrap()),
            &["train_x.npy", "np.save"],
        ),
    ];
    for (what, tweak, needles) in cases {
        let err = case(&*tweak);
        for n in needles {
            assert!(err.contains(n), "{what}: {err:?} lacks {n:?}");
        }
    }
    // A label past the given class count names the fix.
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let err = error(
        dir.path(),
        &ArraysConfig {
            classes: Some(2),
            ..Default::default()
        },
    );
    assert!(
        err.contains("train_y.npy")
            && err.contains("label 2 at index 2")
            && err.contains("`classes`"),
        "{err}"
    );
}
