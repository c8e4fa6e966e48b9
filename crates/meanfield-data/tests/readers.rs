//! The IDX and CIFAR-10 readers on generated files, good and corrupt, and the missing-data
//! error of a dataset directory.

use flate2::{Compression, write::GzEncoder};
use meanfield_data::{DatasetKind, cifar, idx};
use std::io::Write;
use std::path::Path;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Three 2×2 images and their labels, raw and gzipped.
#[test]
fn idx_pair_loads_normalised_rows() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..12).map(|i| i * 20).collect();
    let images = idx::encode(&[3, 2, 2], &pixels);
    let labels = idx::encode(&[3], &[7, 0, 9]);
    for (img_bytes, lab_bytes, suffix) in [
        (images.clone(), labels.clone(), ""),
        (gz(&images), gz(&labels), ".gz"),
    ] {
        let i = write(dir.path(), &format!("img{suffix}"), &img_bytes);
        let l = write(dir.path(), &format!("lab{suffix}"), &lab_bytes);
        let d = idx::load_pair(&i, &l, 0.1307, 0.3081, 10).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.dim, 4);
        assert_eq!(d.labels, vec![7, 0, 9]);
        // Pixel 5 of the file is 100: (100/255 − 0.1307)/0.3081 (docs/paper.md's MNIST constants).
        let expected = (100.0f32 / 255.0 - 0.1307) / 0.3081;
        assert!((d.row(1)[1] - expected).abs() < 1e-6);
    }
}

#[test]
fn idx_pair_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let images = idx::encode(&[3, 2, 2], &[0; 12]);
    let img = write(dir.path(), "img", &images);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short-labels", idx::encode(&[2], &[1, 2]), "3 images but"),
        ("big-label", idx::encode(&[3], &[1, 2, 10]), "out of range"),
        (
            "two-dim-labels",
            idx::encode(&[3, 1], &[1, 2, 3]),
            "1 dimension",
        ),
        (
            "truncated-gz",
            gz(&idx::encode(&[3], &[1, 2, 3]))[..10].to_vec(),
            "gzip",
        ),
        ("garbage", b"hello world, not idx".to_vec(), "magic"),
    ];
    for (name, bytes, expect) in cases {
        let lab = write(dir.path(), name, &bytes);
        let err = idx::load_pair(&img, &lab, 0.0, 1.0, 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
    }
    let lab = write(dir.path(), "ok-labels", &idx::encode(&[3], &[1, 2, 3]));
    let flat = write(dir.path(), "flat-images", &idx::encode(&[3, 4], &[0; 12]));
    let err = idx::load_pair(&flat, &lab, 0.0, 1.0, 10)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("flat-images") && err.contains("3 dimensions"),
        "{err}"
    );
}

#[test]
fn cifar_batches_load_and_normalise() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for label in [4u8, 1] {
        bytes.push(label);
        bytes.extend(std::iter::repeat_n(255u8, 3072));
    }
    let p = write(dir.path(), "data_batch_1.bin", &bytes);
    let d = cifar::load(&[&p]).unwrap();
    assert_eq!(d.labels, vec![4, 1]);
    assert_eq!(d.dim, 3072);
    // A white pixel in the blue plane: (1 − 0.447)/0.262 (docs/paper.md's CIFAR-10 constants).
    assert!((d.row(0)[2048] - (1.0 - 0.447) / 0.262).abs() < 1e-5);
    let t = write(dir.path(), "test_batch.bin", &bytes[..5000]);
    let err = cifar::load(&[&t]).unwrap_err().to_string();
    assert!(
        err.contains("test_batch.bin") && err.contains("records"),
        "{err}"
    );
}

#[test]
fn missing_dataset_says_where_and_how() {
    let dir = tempfile::tempdir().unwrap();
    let err = DatasetKind::Mnist.load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("experiments fetch mnist") && err.contains("train-images-idx3-ubyte.gz"),
        "{err}"
    );
    let err = DatasetKind::Cifar10
        .load(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data_batch_1.bin") && err.contains("cifar10"),
        "{err}"
    );
}
