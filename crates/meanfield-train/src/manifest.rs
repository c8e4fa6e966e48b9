//! `manifest.json`: the record of the files a run (or a checkpoint) wrote, each with its size
//! and BLAKE3 digest ([`meanfield_io::digest`]), written atomically after every file it lists.
//! Whatever reads those files back (reuse, resume, `experiments runs`, `--assemble-only`, the
//! figures and studies) checks them against it first: a file missing, cut, grown, or with any
//! byte changed is named, never used.
//!
//! A run directory's manifest lists its setting files, `metrics.csv`, the snapshots, the final
//! weights (and averages) and `summary.json`. A checkpoint's lists its own files, and under
//! `run` the files of the run directory as they were at that step: the snapshots written so far
//! and the first bytes of `metrics.csv` (its rows up to the checkpoint). Each manifest carries
//! the digest of its own record (`self_blake3`), so a change to the manifest itself is named as
//! such, not blamed on the file whose entry changed.

use crate::{TrainError, layout};
use meanfield_io::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Files by path relative to the folder the manifest is in (`snapshots/hidden_0.npy`).
pub type Files = BTreeMap<String, Digest>;

/// A folder's record of its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub program: String,
    pub layout: u32,
    /// The folder's own files.
    pub files: Files,
    /// A checkpoint's record of its run directory at its step (empty for a run directory):
    /// snapshots written so far, and `metrics.csv`'s first bytes ([`Digest::size`] of them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub run: Files,
}

/// The manifest as written: its record and the BLAKE3 of that record's JSON.
#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(flatten)]
    manifest: Manifest,
    self_blake3: String,
}

impl Manifest {
    /// The BLAKE3 of the record's compact JSON (field order fixed by the struct, files sorted).
    fn seal(&self) -> String {
        let text = serde_json::to_string(self).expect("a manifest serialises");
        meanfield_io::digest::of_bytes(text.as_bytes()).blake3
    }
}

impl Manifest {
    pub fn new(files: Files) -> Self {
        Self {
            program: meanfield_io::owned::PROGRAM.into(),
            layout: meanfield_io::owned::LAYOUT,
            files,
            run: Files::new(),
        }
    }

    /// Writes `folder/manifest.json` atomically.
    pub fn write(&self, folder: &Path) -> Result<(), TrainError> {
        let sealed = Sealed {
            manifest: self.clone(),
            self_blake3: self.seal(),
        };
        let text = serde_json::to_string_pretty(&sealed).expect("a manifest serialises");
        crate::weights::write_file(&folder.join(layout::MANIFEST), text.as_bytes()).map(|_| ())
    }

    /// `folder/manifest.json`: `Ok(None)` when there is none, `Err` (why) when it cannot be read
    /// as one.
    pub fn read(folder: &Path) -> Result<Option<Self>, String> {
        let path = folder.join(layout::MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{} cannot be read ({e})", layout::MANIFEST)),
        };
        let sealed = serde_json::from_str::<Sealed>(&text)
            .map_err(|e| format!("{} is damaged: not a manifest ({e})", layout::MANIFEST))?;
        if sealed.manifest.seal() != sealed.self_blake3 {
            return Err(format!(
                "{} is damaged: its record does not match its own digest (it was changed)",
                layout::MANIFEST
            ));
        }
        if sealed.manifest.program != meanfield_io::owned::PROGRAM {
            return Err(format!(
                "{} is not this program's (program {:?})",
                layout::MANIFEST,
                sealed.manifest.program
            ));
        }
        Ok(Some(sealed.manifest))
    }

    /// Every file of `files` (relative to `folder`) that is not as recorded, one line each.
    pub fn damage(folder: &Path, files: &Files) -> Vec<String> {
        files
            .iter()
            .filter_map(|(name, recorded)| check(&folder.join(name), name, recorded).err())
            .collect()
    }
}

/// Whether the file at `path` (called `name` in messages) is as `recorded`, else what is wrong.
pub fn check(path: &Path, name: &str, recorded: &Digest) -> Result<(), String> {
    let size = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Err(format!("{name} is not a file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{name} is missing"));
        }
        Err(e) => return Err(format!("{name} cannot be read ({e})")),
    };
    if size != recorded.size {
        return Err(format!(
            "{name} is {size} bytes where {} were written (cut short, grown or replaced)",
            recorded.size
        ));
    }
    let now =
        meanfield_io::digest::of_file(path).map_err(|e| format!("{name} cannot be read ({e})"))?;
    if now.blake3 != recorded.blake3 {
        return Err(format!(
            "{name} does not match the digest recorded when it was written (its bytes were changed)"
        ));
    }
    Ok(())
}

/// Whether the first `recorded.size` bytes of the file at `path` are as recorded (a log that
/// has grown since is fine), else what is wrong.
pub fn check_prefix(path: &Path, name: &str, recorded: &Digest) -> Result<(), String> {
    let size = std::fs::metadata(path)
        .map_err(|_| format!("{name} is missing"))?
        .len();
    if size < recorded.size {
        return Err(format!(
            "{name} is {size} bytes, shorter than the {} it had at the checkpoint (cut short)",
            recorded.size
        ));
    }
    let now = meanfield_io::digest::of_prefix(path, recorded.size)
        .map_err(|e| format!("{name} cannot be read ({e})"))?;
    if now.blake3 != recorded.blake3 {
        return Err(format!(
            "{name}'s rows up to the checkpoint do not match the digest recorded then (they were changed)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind of damage is named: missing, cut short, same length with a changed byte, and a
    /// log's prefix changed or cut.
    #[test]
    fn damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(dir.path().join(name), bytes).unwrap();
            meanfield_io::digest::of_bytes(bytes)
        };
        let mut files = Files::new();
        files.insert("a.npy".into(), write("a.npy", b"0123456789"));
        files.insert("b.npy".into(), write("b.npy", b"abcdef"));
        files.insert("c.npy".into(), write("c.npy", b"xyz"));
        let m = Manifest::new(files.clone());
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), Some(m));
        assert!(Manifest::damage(dir.path(), &files).is_empty());
        std::fs::write(dir.path().join("a.npy"), b"0123456780").unwrap();
        std::fs::write(dir.path().join("b.npy"), b"abc").unwrap();
        std::fs::remove_file(dir.path().join("c.npy")).unwrap();
        let damage = Manifest::damage(dir.path(), &files);
        assert_eq!(damage.len(), 3, "{damage:?}");
        assert!(
            damage[0].contains("a.npy does not match the digest"),
            "{damage:?}"
        );
        assert!(
            damage[1].contains("b.npy is 3 bytes where 6 were written"),
            "{damage:?}"
        );
        assert!(damage[2].contains("c.npy is missing"), "{damage:?}");
        let log = dir.path().join("log.csv");
        std::fs::write(&log, b"step\n0\n1\n").unwrap();
        let prefix = meanfield_io::digest::of_bytes(b"step\n0\n");
        std::fs::write(&log, b"step\n0\n1\n2\n").unwrap();
        check_prefix(&log, "log.csv", &prefix).unwrap();
        std::fs::write(&log, b"step\n9\n1\n2\n").unwrap();
        assert!(
            check_prefix(&log, "log.csv", &prefix)
                .unwrap_err()
                .contains("changed")
        );
        std::fs::write(&log, b"step\n").unwrap();
        assert!(
            check_prefix(&log, "log.csv", &prefix)
                .unwrap_err()
                .contains("cut short")
        );
        std::fs::write(dir.path().join(layout::MANIFEST), b"{").unwrap();
        assert!(Manifest::read(dir.path()).unwrap_err().contains("damaged"));
    }
}
