//! Data through the binary: your own arrays, CIFAR-10 fetched on first use (through a local
//! HTTP server), an interrupted download resumed, a mirror, an empty dataset.
//! MNIST is fetched into the workspace's `data/` by the binary itself when missing (`.ci/run`
//! does it up front).

use meanfield_train::data::cifar;
use std::path::Path;

// One harness for every test file of the binary; each uses part of it.
#[allow(dead_code)]
mod support;
use support::*;

/// Your own arrays end to end: a folder of .npy files (no test set) trains, `config.toml`
/// records the normalisation, `summary.json` writes the absent test scores as null and the run
/// is reused on the next call; a malformed file is a clear error.
#[test]
fn trains_on_your_own_arrays() {
    use npyz::WriterBuilder;
    fn save<T: npyz::Serialize + npyz::AutoSerialize>(path: &Path, shape: &[u64], values: Vec<T>) {
        let mut file = std::fs::File::create(path).unwrap();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut file)
            .begin_nd()
            .unwrap();
        w.extend(values).unwrap();
        w.finish().unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("mydata");
    std::fs::create_dir_all(&data).unwrap();
    // 300 points in R^4, label = which of the first two coordinates is larger.
    let x: Vec<f32> = (0..300 * 4)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let y: Vec<i64> = x.chunks(4).map(|r| (r[0] > r[1]) as i64).collect();
    save(&data.join("train_x.npy"), &[300, 4], x);
    save(&data.join("train_y.npy"), &[300], y);
    let out = tmp.path().join("run").display().to_string();
    let args = [
        "arrays",
        "--data-dir",
        data.to_str().unwrap(),
        "--normalize",
        "standardize",
        "--width",
        "200",
        "--steps",
        "100",
        "--quiet",
        "--out",
        &out,
    ];
    ok(&args);
    let run = tmp.path().join("run");
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("dataset = \"arrays\"") && config.contains("normalize = \"standardize\"")
    );
    let s = summary(&run);
    assert_eq!(s["status"], "finished");
    assert!(s["last"]["test_accuracy"].is_null());
    assert!(s["last"]["train_accuracy"].as_f64().unwrap() > 0.8, "{s}");
    let again = ok(&args);
    assert!(String::from_utf8_lossy(&again.stderr).contains("reused"));
    // The same files with other contents (the first 10 points mirrored): the finished run is
    // not answered for them; --force trains on the files as they are.
    let x2: Vec<f32> = (0..300 * 4)
        .map(|i| {
            let v = ((i * 7919) % 1000) as f32 / 500.0 - 1.0;
            if i < 40 { -v } else { v }
        })
        .collect();
    let y2: Vec<i64> = x2.chunks(4).map(|r| (r[0] > r[1]) as i64).collect();
    save(&data.join("train_x.npy"), &[300, 4], x2);
    save(&data.join("train_y.npy"), &[300], y2);
    let err = stderr_of_failure(&args);
    assert!(
        err.contains("was trained on other inputs")
            && err.contains("mydata/train_x.npy has SHA-256")
            && err.contains("--force"),
        "{err}"
    );
    let forced: Vec<&str> = args.iter().copied().chain(["--force"]).collect();
    ok(&forced);
    let again = ok(&args);
    assert!(String::from_utf8_lossy(&again.stderr).contains("reused"));
    // The fingerprint's cache sits next to the data.
    assert!(data.join(".meanfield-sha256.json").is_file());
    save(&data.join("train_x.npy"), &[300], vec![0.0f32; 300]);
    let bad_out = tmp.path().join("bad").display().to_string();
    let mut bad = args.to_vec();
    *bad.last_mut().unwrap() = &bad_out;
    let err = stderr_of_failure(&bad);
    assert!(
        err.contains("train_x.npy") && err.contains("[n, p]"),
        "{err}"
    );
}

/// The headline command on a fresh machine: `experiments cifar --beta 1.0` with no data
/// fetches the archive (here from a local mirror through $MEANFIELD_CIFAR10_URL), says what and
/// where before it starts, shows the download's progress as plain lines when stderr is not a
/// terminal, checks the MD5 and trains. `--no-fetch` keeps today's message; `--quiet` hides
/// the progress.
#[test]
fn cifar_fetches_its_data_on_first_use() {
    let good = tar_gz(&generated_cifar_binary());
    let mut files = std::collections::HashMap::new();
    files.insert("/bin.tar.gz".to_string(), good.clone());
    let base = serve(files);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cifar = |extra: &[&str]| {
        let mut args = vec![
            "cifar",
            "--beta",
            "1.0",
            "--steps",
            "5",
            "--batch",
            "4",
            "--width",
            "64",
            "--data-dir",
            data.to_str().unwrap(),
            "--out",
        ];
        let run = tmp.path().join(format!("run{}", extra.len()));
        let run = run.to_str().unwrap().to_string();
        args.push(&run);
        args.extend_from_slice(extra);
        bin()
            .args(&args)
            .env("MEANFIELD_CIFAR10_URL", format!("{base}/bin.tar.gz"))
            .env("MEANFIELD_CIFAR10_MD5", md5_hex(&good))
            .output()
            .unwrap()
    };
    // --no-fetch: the clear message, nothing fetched.
    let out = cifar(&["--no-fetch"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("data_batch_1.bin") && err.contains("without --no-fetch"),
        "{err}"
    );
    assert!(!data.join("cifar10/data_batch_1.bin").exists());
    // First use: fetched, verified, trained.
    let out = cifar(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let size = meanfield_train::data::download::human_bytes(good.len() as u64);
    assert!(
        err.contains("cifar10 is missing from")
            && err.contains(&format!("{base}/bin.tar.gz"))
            && err.contains(&data.join("cifar10").display().to_string()),
        "what, from where and to where are said first: {err}"
    );
    assert!(
        err.contains(&format!("{size} of {size} (100%)")),
        "a plain progress line with bytes and percent: {err}"
    );
    assert!(err.contains("MD5") && err.contains("installed"), "{err}");
    assert_eq!(
        summary(&tmp.path().join("run0"))["status"].as_str(),
        Some("finished")
    );
    // Present now: a second run fetches nothing; --quiet prints no progress either way.
    let out = cifar(&["--quiet"]);
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A download cut halfway keeps its part; the next call continues it with a Range request when
/// the server allows (206) and starts over when it does not (200). Both end with the right MD5
/// and a whole dataset; a part is never taken for the archive.
#[test]
fn an_interrupted_cifar10_download_resumes() {
    let good = tar_gz(&generated_cifar_binary());
    let half = good.len() / 2;
    let mut files = std::collections::HashMap::new();
    files.insert("/bin.tar.gz".to_string(), good.clone());
    let (base, requests) = serve_logged(files);
    let tmp = tempfile::tempdir().unwrap();
    for (case, prefix, expect_second) in [
        ("ranges", "/cut", format!("bytes={half}-")),
        ("no-ranges", "/cut-no-ranges", format!("bytes={half}-")),
    ] {
        let data = tmp.path().join(case);
        let url = format!("{base}{prefix}/bin.tar.gz");
        let fetch = || {
            bin()
                .args(["fetch", "cifar10", "--data-dir", data.to_str().unwrap()])
                .env("MEANFIELD_CIFAR10_URL", &url)
                .env("MEANFIELD_CIFAR10_MD5", md5_hex(&good))
                .output()
                .unwrap()
        };
        let out = fetch();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: a cut download accepted");
        assert!(err.contains("is kept in"), "{case}: {err}");
        let part = data.join("cifar10/.fetch/archive.tar.gz.part");
        assert_eq!(
            std::fs::metadata(&part).map(|m| m.len() as usize).ok(),
            Some(half),
            "{case}: the part received"
        );
        assert!(!data.join("cifar10/.fetch/archive.tar.gz").exists());
        assert!(!data.join("cifar10/data_batch_1.bin").exists());
        let out = fetch();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{case}: {err}");
        let asked: Vec<String> = requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with(&format!("GET {prefix}/")))
            .cloned()
            .collect();
        assert_eq!(
            asked,
            vec![
                format!("GET {prefix}/bin.tar.gz"),
                format!("GET {prefix}/bin.tar.gz {expect_second}")
            ],
            "{case}"
        );
        match case {
            "ranges" => assert!(err.contains(&format!("resuming {url}")), "{err}"),
            _ => assert!(err.contains("starting over"), "{err}"),
        }
        assert!(data.join("cifar10/data_batch_5.bin").is_file(), "{case}");
        assert!(!data.join("cifar10/.fetch").exists(), "{case}");
    }
}

/// The user's headline command for real, without the internet: a local HTTP server serves
/// generated archives in CIFAR-10's exact layout (binary and Python versions); `experiments
/// fetch cifar10` through the mirror override installs them (MD5 checked, SHA256SUMS written),
/// and `experiments cifar --beta 1.0` trains to the end. A wrong checksum, a truncated archive
/// and an archive without the batches are refused and leave nothing behind.
#[test]
fn cifar10_fetch_through_a_mirror_then_train() {
    let binary = generated_cifar_binary();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cifar-10-batches-py");
    let python: Vec<(String, Vec<u8>)> = cifar::PY_TRAIN_FILES
        .iter()
        .chain([&cifar::PY_TEST_FILE])
        .map(|f| {
            (
                format!("cifar-10-batches-py/{f}"),
                std::fs::read(fixture.join(f)).unwrap(),
            )
        })
        .collect();
    let good = tar_gz(&binary);
    let good_py = tar_gz(&python);
    let truncated = good[..good.len() / 2].to_vec();
    let readme_only = tar_gz(&binary[6..]);
    let mut files = std::collections::HashMap::new();
    for (name, bytes) in [
        ("/bin.tar.gz", &good),
        ("/py.tar.gz", &good_py),
        ("/truncated.tar.gz", &truncated),
        ("/readme.tar.gz", &readme_only),
    ] {
        files.insert(name.to_string(), bytes.clone());
    }
    let base = serve(files);
    let tmp = tempfile::tempdir().unwrap();
    let fetch = |data: &Path, path: &str, md5: &str| {
        bin()
            .args(["fetch", "cifar10", "--data-dir", data.to_str().unwrap()])
            .env("MEANFIELD_CIFAR10_URL", format!("{base}{path}"))
            .env("MEANFIELD_CIFAR10_MD5", md5)
            .output()
            .unwrap()
    };
    let nothing_left = |data: &Path| {
        let left: Vec<_> = std::fs::read_dir(data.join("cifar10"))
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left behind: {left:?}");
    };
    // Refusals.
    for (case, path, md5, needle) in [
        (
            "wrong checksum",
            "/bin.tar.gz",
            "0123456789abcdef0123456789abcdef".to_string(),
            "expected 0123456789abcdef0123456789abcdef",
        ),
        (
            "truncated",
            "/truncated.tar.gz",
            md5_hex(&truncated),
            "not a readable .tar.gz",
        ),
        (
            "no batches",
            "/readme.tar.gz",
            md5_hex(&readme_only),
            "holds neither",
        ),
        (
            "published checksum on a generated archive",
            "/bin.tar.gz",
            "c32a1d4ab5d03f1284b67883e8d87530".to_string(),
            "has MD5",
        ),
    ] {
        let data = tmp.path().join(case.replace(' ', "-"));
        let out = fetch(&data, path, &md5);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: accepted");
        assert!(
            err.contains(needle) && err.contains("nothing was installed"),
            "{case}: {err}"
        );
        nothing_left(&data);
    }
    // The binary version, then the headline command on it.
    let data = tmp.path().join("data");
    let out = fetch(&data, "/bin.tar.gz", &md5_hex(&good));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sums = std::fs::read_to_string(data.join("cifar10/SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 6);
    assert!(!data.join("cifar10/.fetch").exists());
    let run = tmp.path().join("run");
    ok(&[
        "cifar",
        "--beta",
        "1.0",
        "--steps",
        "5",
        "--batch",
        "4",
        "--width",
        "64",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    let s = summary(&run);
    assert_eq!(
        (
            s["status"].as_str(),
            s["steps"].as_u64(),
            s["train_examples"].as_u64()
        ),
        (Some("finished"), Some(5), Some(20))
    );
    // The Python version installs into cifar-10-batches-py/ and is found there.
    let data_py = tmp.path().join("data-py");
    let out = fetch(&data_py, "/py.tar.gz", &md5_hex(&good_py));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        data_py
            .join("cifar10/cifar-10-batches-py/test_batch")
            .is_file()
    );
    let run_py = tmp.path().join("run-py");
    ok(&[
        "cifar",
        "--beta",
        "1.0",
        "--steps",
        "5",
        "--batch",
        "2",
        "--width",
        "64",
        "--quiet",
        "--data-dir",
        data_py.to_str().unwrap(),
        "--out",
        run_py.to_str().unwrap(),
    ]);
    assert_eq!(summary(&run_py)["test_examples"].as_u64(), Some(3));
}

/// An empty dataset (valid IDX files with zero images) is an error, not a panic.
#[test]
fn empty_dataset_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data/mnist");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        ("train-images-idx3-ubyte", idx_bytes(&[0, 28, 28], &[])),
        ("train-labels-idx1-ubyte", idx_bytes(&[0], &[])),
        ("t10k-images-idx3-ubyte", idx_bytes(&[0, 28, 28], &[])),
        ("t10k-labels-idx1-ubyte", idx_bytes(&[0], &[])),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let data = tmp.path().join("data").display().to_string();
    let out = tmp.path().join("run").display().to_string();
    let err = stderr_of_failure(&[
        "mnist",
        "--no-fetch",
        "--data-dir",
        &data,
        "--steps",
        "1",
        "--out",
        &out,
    ]);
    // Named with its file (an empty set is a header whose count is 0).
    assert!(
        err.contains("train-images-idx3-ubyte") && err.contains("hold no data"),
        "{err}"
    );
}
