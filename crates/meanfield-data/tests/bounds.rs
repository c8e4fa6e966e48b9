//! Bounds before allocation, and errors that name the file and the numbers (issue 36, the data
//! inputs): CIFAR-10 archive members and batch files larger than their published sizes, IDX
//! files longer than their headers, `.npy` headers whose shape overflows or disagrees with the
//! file, labels out of range, and features no normalised data set holds.
//!
//! Expected sizes: a published binary batch is 10000 records of 1 + 3072 bytes = 30,730,000
//! bytes (cs.toronto.edu/~kriz/cifar.html); the published Python `data_batch_1` is 31,035,704
//! bytes (`cifar::PY_BATCH_BYTES`, where the sources are given). The gzip bomb has its own test
//! binary (`gzip_bomb.rs`), so that its peak memory is its own.

use meanfield_data::arrays::{ArraysConfig, Normalize, load};
use meanfield_data::cifar::{self, Format};
use meanfield_data::fetch::{Archive, fetch_cifar10};
use meanfield_data::{Dataset, idx};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Serves `body` to every GET on a local port; returns the URL.
fn serve(body: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/archive.tar.gz", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    url
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tar header for `path` announcing `size` bytes.
fn tar_header(path: &str, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_path(path).unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Fetches `archive_bytes` through a local server as `experiments fetch cifar10` does with a
/// mirror; returns the error and what is left under `cifar10/`.
fn fetch_refused(archive_bytes: Vec<u8>) -> (String, Vec<PathBuf>) {
    let archive = Archive {
        md5: md5_hex(&archive_bytes),
        url: serve(archive_bytes),
        bytes: None,
    };
    let data = tempfile::tempdir().unwrap();
    let err = fetch_cifar10(data.path(), &archive, &mut |_: &str| {})
        .unwrap_err()
        .to_string();
    let left = std::fs::read_dir(data.path().join("cifar10"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    (err, left)
}

/// The probe's case: a member in CIFAR-10's layout announcing 1.5 GB in a tiny download. The
/// archive holds only the header (512 bytes, gzipped): the size is refused from the header,
/// before a byte is written, naming the member, its size and the published size.
#[test]
fn an_archive_member_larger_than_published_is_refused_from_its_header() {
    for (member, published) in [
        ("cifar-10-batches-bin/data_batch_1.bin", 30_730_000u64),
        ("cifar-10-batches-py/data_batch_1", 31_035_704),
    ] {
        let header = tar_header(member, 1_500_000_000);
        let (err, left) = fetch_refused(gz(header.as_bytes()));
        assert!(
            err.contains(member)
                && err.contains("1500000000 bytes")
                && err.contains(&format!("published file is {published} bytes"))
                && err.contains("nothing was installed"),
            "{err}"
        );
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// A whole archive in the binary layout where one batch has one record more than the published
/// 10000 (30,733,073 bytes, really there): refused at that member; the members before it were
/// within their sizes. A member that is not a whole number of records is refused too.
#[test]
fn an_archive_member_one_record_over_is_refused() {
    let record = |label: u8| -> Vec<u8> {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(7u8, 3072));
        r
    };
    for (size, needle) in [
        (30_733_073usize, "30733073 bytes"),
        (2 * 3073 + 1, "not a whole number of 3073-byte records"),
    ] {
        let mut tar = tar::Builder::new(Vec::new());
        let small: Vec<u8> = (0..2).flat_map(|_| record(1)).collect();
        tar.append(
            &tar_header("cifar-10-batches-bin/test_batch.bin", small.len() as u64),
            &small[..],
        )
        .unwrap();
        let big: Vec<u8> = record(3).into_iter().cycle().take(size).collect();
        tar.append(
            &tar_header("cifar-10-batches-bin/data_batch_2.bin", size as u64),
            &big[..],
        )
        .unwrap();
        let (err, left) = fetch_refused(gz(&tar.into_inner().unwrap()));
        assert!(
            err.contains("cifar-10-batches-bin/data_batch_2.bin")
                && err.contains(needle)
                && err.contains("30730000"),
            "{err}"
        );
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// Members within their published sizes still install: a generated binary archive (4 records
/// a batch, as the command-line tests serve) and the Python fixture of
/// `tests/fixtures/cifar-10-batches-py` (9614-byte pickles).
#[test]
fn archives_of_smaller_batches_still_install() {
    let record = |i: usize| -> Vec<u8> {
        let mut r = vec![(i % 10) as u8];
        r.extend((0..3072).map(|j| ((31 * i + 7 * j) % 256) as u8));
        r
    };
    let mut binary = tar::Builder::new(Vec::new());
    for (k, f) in cifar::files(Format::Binary).iter().enumerate() {
        let bytes: Vec<u8> = (4 * k..4 * k + 4).flat_map(record).collect();
        let header = tar_header(&format!("cifar-10-batches-bin/{f}"), bytes.len() as u64);
        binary.append(&header, &bytes[..]).unwrap();
    }
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cifar-10-batches-py");
    let mut python = tar::Builder::new(Vec::new());
    for f in cifar::files(Format::Python) {
        let bytes = std::fs::read(fixture.join(f)).unwrap();
        let header = tar_header(&format!("cifar-10-batches-py/{f}"), bytes.len() as u64);
        python.append(&header, &bytes[..]).unwrap();
    }
    for (archive, format, train) in [(binary, Format::Binary, 20), (python, Format::Python, 10)] {
        let bytes = gz(&archive.into_inner().unwrap());
        let archive = Archive {
            md5: md5_hex(&bytes),
            url: serve(bytes),
            bytes: None,
        };
        let data = tempfile::tempdir().unwrap();
        fetch_cifar10(data.path(), &archive, &mut |_: &str| {}).unwrap();
        assert_eq!(cifar::locate(data.path()).unwrap().1, format);
        let (train_set, _) = cifar::load_dir(data.path()).unwrap().unwrap();
        assert_eq!(train_set.len(), train, "{format:?}");
    }
}

/// The readers refuse a batch file larger than its published size from its length, before
/// reading it: the files here are sparse (set_len), 1.5 GB of them cost nothing, and reading
/// one whole would take 1.5 GB.
#[test]
fn batch_files_larger_than_published_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = |name: &str, len: u64| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().set_len(len).unwrap();
        p
    };
    for (name, format, len, needles) in [
        (
            "data_batch_1.bin",
            Format::Binary,
            1_500_000_000u64,
            ["1500000000 bytes", "10000 records of 3073 bytes, 30730000"],
        ),
        (
            "data_batch_2.bin",
            Format::Binary,
            30_733_073,
            ["30733073 bytes", "30730000"],
        ),
        (
            "data_batch_1",
            Format::Python,
            31_035_705,
            ["31035705 bytes", "published data_batch_1 (31035704 bytes)"],
        ),
        (
            "test_batch",
            Format::Python,
            1_500_000_000,
            ["1500000000 bytes", "published test_batch (31035526 bytes)"],
        ),
    ] {
        let p = sparse(name, len);
        let start = std::time::Instant::now();
        let err = cifar::load_format(&[&p], format).unwrap_err().to_string();
        for n in needles.iter().chain([&name]) {
            assert!(err.contains(n), "{name}: {err:?} lacks {n:?}");
        }
        // Refused from the length: no time to read 1.5 GB.
        assert!(start.elapsed().as_secs_f64() < 0.5, "{name}: {err}");
    }
}

/// A CIFAR-10 label out of range names the file, the record and the value, in both formats.
#[test]
fn cifar_labels_out_of_range_name_file_index_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for label in [4u8, 9, 12] {
        bytes.push(label);
        bytes.extend(std::iter::repeat_n(0u8, 3072));
    }
    let bin = dir.path().join("data_batch_3.bin");
    std::fs::write(&bin, &bytes).unwrap();
    let err = cifar::load(&[&bin]).unwrap_err().to_string();
    assert!(
        err.contains("data_batch_3.bin")
            && err.contains("record 2 has label 12")
            && err.contains("experiments fetch cifar10"),
        "{err}"
    );

    // The Python format: a pickled dict of `labels` and `data`, as the published batches are.
    use serde_pickle::{HashableValue, SerOptions, Value};
    let pickle = serde_pickle::value_to_vec(
        &Value::Dict(
            [
                (
                    HashableValue::Bytes(b"labels".to_vec()),
                    Value::List(vec![Value::I64(0), Value::I64(1), Value::I64(10)]),
                ),
                (
                    HashableValue::Bytes(b"data".to_vec()),
                    Value::Bytes(vec![0u8; 3 * 3072]),
                ),
            ]
            .into_iter()
            .collect(),
        ),
        SerOptions::new(),
    )
    .unwrap();
    let py = dir.path().join("data_batch_4");
    std::fs::write(&py, pickle).unwrap();
    let err = cifar::load_format(&[&py], Format::Python)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data_batch_4") && err.contains("label 2 is I64(10)"),
        "{err}"
    );
}

/// IDX files: one longer than its header says is refused from its length (a raw file) with
/// both lengths; a header announcing more than 2^30 data bytes is refused before any is read;
/// a label out of range names the file, the index, the value and the classes.
#[test]
fn idx_files_are_read_only_to_their_headers_length() {
    let dir = tempfile::tempdir().unwrap();
    // [2, 2, 2]: 8 data bytes + 16 header bytes; then 1 MB more.
    let mut long = idx::encode(&[2, 2, 2], &[0; 8]);
    long.extend(std::iter::repeat_n(0u8, 1_000_000));
    let p = dir.path().join("long-images");
    std::fs::write(&p, &long).unwrap();
    let err = idx::read_maybe_gz(&p).unwrap_err().to_string();
    assert!(
        err.contains("long-images")
            && err.contains("larger than its header says")
            && err.contains("1000000 trailing bytes after the 8 data bytes")
            && err.contains("1000024 bytes in all, 24 expected"),
        "{err}"
    );
    // The same, gzipped: the decompressed data go on past the header's length.
    let p = dir.path().join("long-images.gz");
    std::fs::write(&p, gz(&long)).unwrap();
    let err = idx::read_maybe_gz(&p).unwrap_err().to_string();
    assert!(
        err.contains("long-images.gz")
            && err.contains("go on past the 8 data bytes")
            && err.contains("24 bytes with the header"),
        "{err}"
    );
    // The boundary: exactly the announced length is read back, one byte more is refused.
    let exact = idx::encode(&[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
    let p = dir.path().join("exact.gz");
    std::fs::write(&p, gz(&exact)).unwrap();
    assert_eq!(idx::read_maybe_gz(&p).unwrap(), exact);
    std::fs::write(&p, gz(&[exact.as_slice(), &[0]].concat())).unwrap();
    let err = idx::read_maybe_gz(&p).unwrap_err().to_string();
    assert!(
        err.contains("exact.gz") && err.contains("go on past"),
        "{err}"
    );
    // 60000 × 28 × 2800 = 4,704,000,000 bytes announced in a 16-byte file.
    let p = dir.path().join("huge-header");
    std::fs::write(&p, idx::encode(&[60000, 28, 2800], &[])).unwrap();
    let err = idx::read_maybe_gz(&p).unwrap_err().to_string();
    assert!(
        err.contains("huge-header") && err.contains("4704000000") && err.contains("1073741824"),
        "{err}"
    );
    // A label of 10 among 10 classes.
    let img = dir.path().join("img");
    std::fs::write(&img, idx::encode(&[3, 2, 2], &[0; 12])).unwrap();
    let lab = dir.path().join("lab");
    std::fs::write(&lab, idx::encode(&[3], &[1, 10, 2])).unwrap();
    let err = idx::load_pair(&img, &lab, 0.0, 1.0, 10)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lab")
            && err.contains("label 10 at index 1")
            && err.contains("0 to 9")
            && err.contains("fetch it again"),
        "{err}"
    );
}

/// A `.npy` version 1.0 file with the given header fields and data bytes (the format of
/// numpy.lib.format: magic, version, little-endian u16 header length, the header dict padded
/// with spaces to a multiple of 64 bytes, ending in a newline).
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Good arrays: 4 rows of 3 features, labels 0..2, no test set.
fn arrays_dir(x: &[f32]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train_x.npy"),
        npy("<f4", "(4, 3)", &f32_bytes(x)),
    )
    .unwrap();
    let labels: Vec<u8> = [0i64, 1, 2, 1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.path().join("train_y.npy"), npy("<i8", "(4,)", &labels)).unwrap();
    dir
}

/// `.npy` headers: a shape whose element count overflows (the probe's case, (2^32, 2^32): its
/// product wraps to 0, and npyz alone reads an empty array), a count whose bytes overflow, and
/// a shape that disagrees with the file's length are errors naming the file and both numbers.
#[test]
fn npy_shapes_are_checked_against_the_file() {
    let x = [1.0f32; 12];
    for (file, descr, shape, data, needles) in [
        (
            "train_x.npy",
            "<f4",
            "(4294967296, 4294967296)",
            f32_bytes(&x),
            vec!["[4294967296, 4294967296]", "overflows", "48 bytes of data"],
        ),
        (
            "train_x.npy",
            "<f4",
            "(4611686018427387904, 5)",
            f32_bytes(&x),
            vec!["[4611686018427387904, 5]", "overflows", "48 bytes"],
        ),
        (
            "train_x.npy",
            "<f4",
            "(4611686018427387904,)",
            f32_bytes(&x),
            vec![
                "4611686018427387904 elements of 4 bytes",
                "more than 2^64",
                "48 bytes",
            ],
        ),
        (
            "train_x.npy",
            "<f4",
            "(4, 3)",
            f32_bytes(&x[..10]),
            vec![
                "[4, 3]",
                "12 elements of 4 bytes (48 bytes of data)",
                "holds 40 bytes",
            ],
        ),
        (
            "train_x.npy",
            "<f4",
            "(4, 3)",
            f32_bytes(&[x.as_slice(), &[0.0]].concat()),
            vec!["48 bytes of data", "holds 52 bytes"],
        ),
        (
            "train_y.npy",
            "<i8",
            "(4294967296, 4294967296)",
            vec![0u8; 32],
            vec!["[4294967296, 4294967296]", "overflows", "32 bytes of data"],
        ),
        (
            "train_y.npy",
            "<i8",
            "(1099511627776,)",
            vec![0u8; 32],
            vec![
                "1099511627776 elements of 8 bytes (8796093022208 bytes",
                "holds 32 bytes",
            ],
        ),
    ] {
        let dir = arrays_dir(&x);
        std::fs::write(dir.path().join(file), npy(descr, shape, &data)).unwrap();
        let err = load(dir.path(), &ArraysConfig::default())
            .unwrap_err()
            .to_string();
        for n in needles.iter().chain([&file]) {
            assert!(err.contains(n), "{shape}: {err:?} lacks {n:?}");
        }
    }
}

/// Labels: one of 300 (more classes than supported) names the file, its index and value.
#[test]
fn a_label_past_256_classes_names_its_file_and_index() {
    let dir = arrays_dir(&[1.0; 12]);
    let labels: Vec<u8> = [0i64, 1, 300, 1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.path().join("train_y.npy"), npy("<i8", "(4,)", &labels)).unwrap();
    let err = load(dir.path(), &ArraysConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_y.npy")
            && err.contains("label 300 at index 2")
            && err.contains("at most 256"),
        "{err}"
    );
}

/// The probe's features of 3e38, and 2e6 (beyond the bound of 1e6), are refused after
/// normalisation, naming the file, row, feature and value, and the `normalize` settings; with
/// standardisation the same 2e6 is fine (it becomes a z-score). An affine normalisation whose
/// tiny std sends finite values past f32 is refused as not finite.
#[test]
fn features_no_normalised_data_hold_are_refused() {
    let mut x = [
        1.0f32, 2.0, 3.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0, 4.0, 4.0, 4.0,
    ];
    for value in [3e38f32, 2e6] {
        x[7] = value;
        let dir = arrays_dir(&x);
        let err = load(dir.path(), &ArraysConfig::default())
            .unwrap_err()
            .to_string();
        for n in [
            "train_x.npy",
            "row 2, feature 1",
            &format!("is {value:e}"),
            "beyond the ±1e6",
            "with `normalize` none",
            "set `normalize` to standardize",
            "affine:<mean>:<std>",
        ] {
            assert!(err.contains(n), "{value}: {err:?} lacks {n:?}");
        }
        let standardised = ArraysConfig {
            normalize: Normalize::Standardize,
            ..Default::default()
        };
        let (train, _) = load(dir.path(), &standardised).unwrap();
        assert!(train.images.iter().all(|v| v.abs() < 2.0), "{train:?}");
    }
    let dir = arrays_dir(&[1.0; 12]);
    let tiny = ArraysConfig {
        normalize: Normalize::Affine {
            mean: 0.0,
            std: 1e-39,
        },
        ..Default::default()
    };
    let err = load(dir.path(), &tiny).unwrap_err().to_string();
    assert!(
        err.contains("train_x.npy")
            && err.contains("row 0, feature 0 is inf")
            && err.contains("not a finite number")
            && err.contains("with `normalize` affine:0:"),
        "{err}"
    );
}

/// The same one check guards every dataset: `Dataset::new` and a Burn dataset refuse a feature
/// of 1e7, naming the row and feature; 1e6 itself is accepted.
#[test]
fn every_dataset_passes_the_feature_check() {
    let err = Dataset::new(vec![0.0, 1.0, 1e7, 0.0], vec![0, 1], 2, 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the dataset's features") && err.contains("row 1, feature 0 is 1e7"),
        "{err}"
    );
    Dataset::new(vec![0.0, 1.0, 1e6, -1e6], vec![0, 1], 2, 2).unwrap();
    let burn =
        burn_dataset::InMemDataset::new(vec![(vec![0.0f32, 1.0], 0usize), (vec![2.0, -1e7], 1)]);
    let err = Dataset::from_burn(&burn, 2).unwrap_err().to_string();
    assert!(
        err.contains("the Burn dataset") && err.contains("row 1, feature 1 is -1e7"),
        "{err}"
    );
}
