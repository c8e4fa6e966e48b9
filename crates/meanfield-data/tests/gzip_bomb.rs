//! A gzip bomb in the MNIST format is refused with memory bounded by its header (issue 36: one
//! took 2.3 GB before it was refused). Its own test binary, so that the process's peak memory
//! is this test's.
//!
//! The bomb: a valid IDX header announcing MNIST's training images, [60000, 28, 28] (47,040,000
//! data bytes), followed by 1 GiB of zeros, gzipped (about 1 MB: deflate encodes a run of zeros
//! at about 1030:1). The reader stops one byte past the announced length.

use flate2::{Compression, write::GzEncoder};
use meanfield_data::idx;
use std::io::Write;

/// The process's peak resident memory in bytes (VmHWM), where /proc says it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_gzip_bomb_is_refused_at_its_headers_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    // Written through the encoder 1 MiB at a time: the bomb is never in memory.
    let mut gz = GzEncoder::new(
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
        Compression::default(),
    );
    gz.write_all(&idx::encode(&[60000, 28, 28], &[])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap().flush().unwrap();
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 4 << 20, "the bomb is {compressed} bytes");

    let start = std::time::Instant::now();
    let err = idx::read_maybe_gz(&path).unwrap_err().to_string();
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        err.contains("train-images-idx3-ubyte.gz")
            && err.contains("larger than its header says")
            && err.contains("47040000 data bytes of dimensions [60000, 28, 28]"),
        "{err}"
    );
    // Decompressing 47 MB takes well under a second (the whole GiB would take several).
    assert!(seconds < 2.0, "refused after {seconds:.2} s");
    // The header's 47 MB plus the test harness; reading the bomb whole would take over 1 GiB.
    if let Some(peak) = peak_rss() {
        eprintln!(
            "bomb of {compressed} bytes refused in {seconds:.3} s; peak resident memory {:.1} MiB",
            peak as f64 / (1 << 20) as f64
        );
        assert!(peak < 256 << 20, "peak resident memory {peak} bytes");
    }
}
