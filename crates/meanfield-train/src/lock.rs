//! Run locks: a process that trains a run holds an exclusive lock on its directory for the
//! whole run, so two processes (two terminals, two cluster jobs) never train the same run at
//! once.
//!
//! The lock is an advisory lock of the operating system (`flock` on Linux, through
//! `std::fs::File::try_lock`) on `<run>/.lock`, which also holds who took it (pid, host, start
//! time) for the message the other process prints. The kernel releases the lock when the
//! holder exits, however it exits, so a lock never outlives its process; a `.lock` that still
//! names a holder while nobody holds the lock was left by a process that died, and the next
//! run takes it over with a message. Across machines the lock is as good as the shared file
//! system's `flock` (docs/cluster.md).

use crate::TrainError;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Who holds (or held) a run's lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339, UTC, to the second.
    pub since: String,
}

impl Holder {
    fn me() -> Self {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {} since {}", self.pid, self.host, self.since)
    }
}

/// This machine's name (Linux: the kernel's; else `$HOSTNAME`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// The exclusive lock on a run directory; released when dropped (and by the kernel if the
/// process dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Clear the holder before the lock goes, so a finished holder is not mistaken for a
        // dead one.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

impl RunLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether the file at `path` is a lock file this program writes: empty (released), or naming
/// its holder.
pub fn is_lock_file(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|t| t.is_empty() || serde_json::from_str::<Holder>(&t).is_ok())
}

/// Takes the lock of run directory `dir` (created if needed). When another process holds it:
/// with `wait`, blocks until it is released (`log` says so first); without, returns
/// [`TrainError::Locked`] naming the holder.
pub fn acquire(dir: &Path, wait: bool, log: &dyn Fn(&str)) -> Result<RunLock, TrainError> {
    acquire_until(dir, wait, &crate::StopHandle::new(), log)
}

/// [`acquire`], where waiting ends with [`TrainError::StoppedWaiting`] when `stop` is
/// requested (checked every 100 ms): a stop asked while a run waits for another process's.
pub fn acquire_until(
    dir: &Path,
    wait: bool,
    stop: &crate::StopHandle,
    log: &dyn Fn(&str),
) -> Result<RunLock, TrainError> {
    let path = dir.join(crate::layout::LOCK);
    let mut said = false;
    let mut file = loop {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                if !wait {
                    return Err(TrainError::Locked {
                        dir: dir.to_path_buf(),
                        holder: holder.map_or("another process".into(), |h| h.to_string()),
                    });
                }
                if !said {
                    log(&format!(
                        "{} is being trained by {}: waiting for it to finish",
                        dir.display(),
                        holder.map_or("another process".into(), |h| h.to_string())
                    ));
                    said = true;
                }
                loop {
                    if stop.requested() {
                        return Err(TrainError::StoppedWaiting {
                            dir: dir.to_path_buf(),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    match file.try_lock() {
                        Ok(()) => break,
                        Err(TryLockError::WouldBlock) => {}
                        Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
                    }
                }
            }
            Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        // The holder may have removed the lock file (a run refused before writing anything
        // leaves its new folder as it found it): then this lock is on a file no one else
        // opens, so take it again on the path's file.
        if same_file(&file, &path) {
            break file;
        }
    };
    if let Some(old) = read_holder(&mut file) {
        // Nobody holds the lock, yet it names a holder: that process died mid-run.
        log(&format!(
            "taking over the lock of {} left by {old} (that process is no longer running); the run continues from its last checkpoint",
            dir.display()
        ));
    }
    let me = serde_json::to_string(&Holder::me()).expect("a holder serialises");
    file.set_len(0).map_err(io(&path))?;
    file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
    file.write_all(me.as_bytes()).map_err(io(&path))?;
    file.sync_all().map_err(io(&path))?;
    Ok(RunLock { file, path })
}
