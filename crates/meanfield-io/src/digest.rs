//! Content digests: a file's size and BLAKE3 hash, recorded when the program writes the file
//! and checked whenever it reads the file back (a run's `manifest.json`, a checkpoint's).
//!
//! BLAKE3 is cryptographic, so a matching digest proves the content is what was written (a
//! flipped bit, a cut, a file of the same size put in its place all change it). It hashes at
//! several GB/s per core; files of many megabytes are hashed on every core. The hex form is
//! what `b3sum FILE` prints, so an entry can be checked by hand.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

/// Bytes hashed per call: large enough for BLAKE3's multi-core path, small enough to keep
/// memory flat whatever the file's size.
const CHUNK: usize = 16 << 20;
/// Below this, one core hashes faster than the threads start.
const PARALLEL_FROM: usize = 1 << 20;

/// A file's size in bytes and its BLAKE3 hash (64 lowercase hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub size: u64,
    pub blake3: String,
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.blake3.get(..12).unwrap_or(&self.blake3);
        write!(f, "{} bytes, BLAKE3 {short}…", self.size)
    }
}

/// A running digest: bytes go in as they are written or read.
#[derive(Default)]
pub struct Hasher {
    hasher: blake3::Hasher,
    size: u64,
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if bytes.len() >= PARALLEL_FROM {
            self.hasher.update_rayon(bytes);
        } else {
            self.hasher.update(bytes);
        }
        self.size += bytes.len() as u64;
    }

    pub fn finish(&self) -> Digest {
        Digest {
            size: self.size,
            blake3: self.hasher.finalize().to_hex().to_string(),
        }
    }
}

/// The digest of `bytes`.
pub fn of_bytes(bytes: &[u8]) -> Digest {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

/// The digest of the file at `path`.
pub fn of_file(path: &Path) -> std::io::Result<Digest> {
    of_prefix(path, u64::MAX)
}

/// The digest of the first `len` bytes of the file at `path` (all of it when shorter: the
/// digest's `size` then says how many there were).
pub fn of_prefix(path: &Path, len: u64) -> std::io::Result<Digest> {
    let file = std::fs::File::open(path)?;
    let mut reader = file.take(len);
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            break;
        }
        hasher.update(&buf[..filled]);
        if filled < buf.len() {
            break;
        }
    }
    Ok(hasher.finish())
}

/// A writer that passes bytes on and digests them on the way.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> DigestWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Hasher::new(),
        }
    }

    /// The digest of everything written so far.
    pub fn digest(&self) -> Digest {
        self.hasher.finish()
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BLAKE3's published test vector for the empty input, and the digest of a file equal to
    /// the digest of its bytes however they were fed (whole, streamed, or in a writer).
    #[test]
    fn digests_agree_with_the_reference_and_each_other() {
        // https://github.com/BLAKE3-team/BLAKE3/blob/master/test_vectors/test_vectors.json
        // ("input_len": 0, "hash").
        assert_eq!(
            of_bytes(b"").blake3,
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..(3 * PARALLEL_FROM + 17))
            .map(|i| (i * 31) as u8)
            .collect();
        let path = dir.path().join("f");
        std::fs::write(&path, &bytes).unwrap();
        let whole = of_bytes(&bytes);
        assert_eq!(whole.size, bytes.len() as u64);
        assert_eq!(of_file(&path).unwrap(), whole);
        let mut w = DigestWriter::new(Vec::new());
        for part in bytes.chunks(1000) {
            w.write_all(part).unwrap();
        }
        assert_eq!(w.digest(), whole);
        assert_eq!(of_prefix(&path, 100).unwrap(), of_bytes(&bytes[..100]));
        assert_eq!(of_prefix(&path, u64::MAX).unwrap(), whole);
        assert_ne!(of_bytes(&bytes[1..]), whole);
    }
}
