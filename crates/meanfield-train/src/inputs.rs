//! The fingerprint of what a run read: SHA-256 of each input file (the dataset's files, the
//! `--init-from` weights), written to `<run>/inputs.json` when the run starts. A finished run is
//! reused, and a checkpoint resumed, only while the same files still have the same contents:
//! data changed in place under the same path is never answered with an old result.
//!
//! Hashing is cached next to the data, in `.meanfield-sha256.json` in each file's folder,
//! keyed by the file's size, modification time, and (on Unix) its inode and status-change
//! time, so a large dataset is hashed once (a folder that cannot be written just goes
//! uncached). The change time is set by the kernel on every write, rename or metadata change and
//! cannot be set back by a program (`touch -d` and copies that preserve times set only the
//! modification time), so new contents under an old modification time are hashed again. Files are named by their folder and file name
//! (`mnist/train-images-idx3-ubyte.gz`, `init_from/hidden.npy`), not their full path: where the
//! data lives is an operational setting, what it holds is not.

use crate::{TrainConfig, TrainError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

const CACHE: &str = ".meanfield-sha256.json";

/// Name → SHA-256 (lowercase hex) of every input `config` reads from disk.
pub type Fingerprint = BTreeMap<String, String>;

/// The files `config` reads, each with the name it has in a [`Fingerprint`].
fn input_files(config: &TrainConfig) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = config
        .dataset
        .input_files(&config.data_dir)
        .into_iter()
        .map(|p| (short_name(&p), p))
        .collect();
    if let Some(dir) = &config.init_from {
        for name in [crate::weights::HIDDEN, crate::weights::READOUT] {
            let path = dir.join(name);
            if path.is_file() {
                files.push((format!("init_from/{name}"), path));
            }
        }
    }
    files
}

/// `folder/file` of a path.
fn short_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    match path.parent().and_then(|p| p.file_name()) {
        Some(folder) => format!("{}/{file}", folder.to_string_lossy()),
        None => file,
    }
}

/// The fingerprint of `config`'s inputs as they are now.
pub fn fingerprint(config: &TrainConfig) -> Result<Fingerprint, TrainError> {
    input_files(config)
        .into_iter()
        .map(|(name, path)| Ok((name, sha256_cached(&path)?)))
        .collect()
}

/// SHA-256 of `path`, from the folder's cache when its size and mtime are unchanged.
fn sha256_cached(path: &Path) -> Result<String, TrainError> {
    let read_err = |source| TrainError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let key = cache_key(&meta);
    let name = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let cache_path = path.with_file_name(CACHE);
    let mut cache: BTreeMap<String, (String, String)> = std::fs::read_to_string(&cache_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some((k, sum)) = cache.get(&name)
        && *k == key
    {
        return Ok(sum.clone());
    }
    let sum = meanfield_data::fetch::sha256_file(path)?;
    cache.insert(name, (key, sum.clone()));
    // A read-only data folder goes uncached, and so does one of the system's (data the system
    // ships is read, never written next to).
    let system = cache_path
        .parent()
        .is_some_and(|folder| meanfield_io::owned::system_location(folder).is_some());
    if !system && let Ok(text) = serde_json::to_string_pretty(&cache) {
        let _ = meanfield_io::write_atomic(&cache_path, text.as_bytes());
    }
    Ok(sum)
}

/// What the cache keys a file's hash on: `size:mtime` and, on Unix,
/// `:inode:ctime` (nanoseconds), which no program can preserve across a change of contents.
fn cache_key(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "{}:{mtime}:{}:{}.{:09}",
            meta.len(),
            meta.ino(),
            meta.ctime(),
            meta.ctime_nsec()
        )
    }
    #[cfg(not(unix))]
    {
        format!("{}:{mtime}", meta.len())
    }
}

/// Writes `fingerprint` into the run directory; returns the file's digest.
pub fn write(dir: &Path, fingerprint: &Fingerprint) -> Result<meanfield_io::Digest, TrainError> {
    let text = serde_json::to_string_pretty(fingerprint).expect("a map of strings serialises");
    crate::weights::write_file(&dir.join(crate::layout::INPUTS), text.as_bytes())
}

/// The inputs the run in `dir` recorded (`None` for runs made before this check).
pub fn recorded(dir: &Path) -> Option<Fingerprint> {
    std::fs::read_to_string(dir.join(crate::layout::INPUTS))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
}

/// `Err(InputsChanged)` naming every file whose contents differ between what the run in `dir`
/// recorded and `now`.
pub fn check(dir: &Path, recorded: &Fingerprint, now: &Fingerprint) -> Result<(), TrainError> {
    let changes = changes(recorded, now);
    if changes.is_empty() {
        Ok(())
    } else {
        Err(TrainError::InputsChanged {
            dir: dir.to_path_buf(),
            changes: changes.join("; "),
        })
    }
}

/// How `recorded` and `now` differ, one line per file.
fn changes(recorded: &Fingerprint, now: &Fingerprint) -> Vec<String> {
    let mut names: Vec<&String> = recorded.keys().chain(now.keys()).collect();
    names.sort();
    names.dedup();
    let short = |s: Option<&String>| s.map_or("absent".to_string(), |s| s[..12].to_string() + "…");
    names
        .into_iter()
        .filter(|n| recorded.get(*n) != now.get(*n))
        .map(|n| {
            format!(
                "{n} has SHA-256 {} now, {} when the run read it",
                short(now.get(n)),
                short(recorded.get(n))
            )
        })
        .collect()
}
