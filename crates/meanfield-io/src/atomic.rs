//! Atomic file writes.
//!
//! The temporary file is opened with mode 0666, so the process umask applies exactly as for a
//! plain `File::create`: with umask 0022 the result is `-rw-r--r--`, readable by a collaborator
//! on a shared cluster directory (tempfile's own default, 0600, would survive the rename).

use crate::digest::{Digest, DigestWriter};
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]); returns their digest.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<Digest> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Writes a file atomically: `write` fills a temporary file in the same directory (removed if
/// anything fails), which is flushed, fsynced and renamed over `path`. Returns the digest of
/// what was written, computed on the way (the file is not read back).
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<Digest> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(crate::owned::TEMPORARY);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    // The digest sees the buffer's large writes, not the caller's small ones.
    let digest = {
        let mut out = BufWriter::with_capacity(1 << 20, DigestWriter::new(tmp.as_file_mut()));
        write(&mut out)?;
        out.flush()?;
        out.get_ref().digest()
    };
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(digest)
}

/// Writes `rows` as CSV (a header from their field names) atomically; returns its digest.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> std::io::Result<Digest> {
    write_atomic_with(path, |out| {
        let mut w = csv::Writer::from_writer(out);
        for row in rows {
            w.serialize(row).map_err(std::io::Error::other)?;
        }
        w.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        a: u32,
        b: f64,
    }

    #[test]
    fn writes_whole_files_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        write_atomic(&p, b"one").unwrap();
        let digest = write_atomic(&p, b"two").unwrap();
        assert_eq!(digest, crate::digest::of_file(&p).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let err = write_atomic_with(&p, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        // The old content is intact and no temporary file is left behind.
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_csv(&dir.path().join("r.csv"), &[Row { a: 1, b: 0.5 }]).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("r.csv")).unwrap(),
            "a,b\n1,0.5\n"
        );
    }

    /// The file gets what a plain create gives under the process umask, not tempfile's 0600.
    #[cfg(unix)]
    #[test]
    fn permissions_follow_the_umask_like_a_plain_create() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let atomic = dir.path().join("atomic");
        write_atomic(&atomic, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
        assert_ne!(
            mode(&plain),
            0o600,
            "the umask of this test process hides the check"
        );
    }
}
