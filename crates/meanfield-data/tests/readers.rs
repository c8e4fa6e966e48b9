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

/// CIFAR-10's two published formats give the same tensors: the binary batches are built here
/// from the formula `tests/fixtures/make_cifar_py.py` used (with numpy) to write the Python
/// batches in `tests/fixtures/cifar-10-batches-py/`: pixel j of image i is (31 i + 7 j + k) mod
/// 256 (k = 0 train, 100 test), label i mod 10.
#[test]
fn cifar10_binary_and_python_formats_agree() {
    use meanfield_data::cifar::{Format, load_dir, locate};
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let record = |i: usize, k: usize| -> Vec<u8> {
        let mut r = vec![(i % 10) as u8];
        r.extend((0..3072).map(|j| ((31 * i + 7 * j + k) % 256) as u8));
        r
    };
    let bin = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(bin.path().join("cifar10")).unwrap();
    for b in 0..5 {
        let bytes: Vec<u8> = (2 * b..2 * b + 2).flat_map(|i| record(i, 0)).collect();
        std::fs::write(
            bin.path().join(format!("cifar10/data_batch_{}.bin", b + 1)),
            bytes,
        )
        .unwrap();
    }
    let test: Vec<u8> = (0..3).flat_map(|i| record(i, 100)).collect();
    std::fs::write(bin.path().join("cifar10/test_batch.bin"), test).unwrap();
    assert_eq!(locate(bin.path()).unwrap().1, Format::Binary);
    assert_eq!(locate(&fixture).unwrap().1, Format::Python);
    let (bin_train, bin_test) = load_dir(bin.path()).unwrap().unwrap();
    let (py_train, py_test) = load_dir(&fixture).unwrap().unwrap();
    assert_eq!((bin_train.len(), bin_test.len()), (10, 3));
    assert_eq!(bin_train, py_train);
    assert_eq!(bin_test, py_test);
    // Through the dataset's own entry point, from a torchvision-style root.
    let (train, _) = meanfield_data::DatasetKind::Cifar10.load(&fixture).unwrap();
    assert_eq!(train, bin_train);

    // A damaged pickle is a clear error naming the file, not a panic.
    let bad = tempfile::tempdir().unwrap();
    let py = bad.path().join("cifar-10-batches-py");
    std::fs::create_dir_all(&py).unwrap();
    for f in cifar::PY_TRAIN_FILES.iter().chain([&cifar::PY_TEST_FILE]) {
        std::fs::copy(fixture.join("cifar-10-batches-py").join(f), py.join(f)).unwrap();
    }
    let bytes = std::fs::read(py.join("data_batch_3")).unwrap();
    std::fs::write(py.join("data_batch_3"), &bytes[..bytes.len() / 2]).unwrap();
    let err = load_dir(bad.path()).unwrap().unwrap_err().to_string();
    assert!(
        err.contains("data_batch_3") && err.contains("pickle"),
        "{err}"
    );
}
