//! The run directory's layout: the name of every file a run writes, in one place. A leaf: it
//! depends on nothing else in the crate, so every module that reads or writes a run's files
//! takes its names from here.
//!
//! ```text
//! <run>/meanfield.json        the marker: this folder is a run directory of this program (first)
//!       .lock                 who is training it (held while a process trains it)
//!       identity.json         the settings that decide the trajectory, versioned
//!       config.toml           the resolved setting
//!       inputs.json           SHA-256 of every file the run read
//!       metrics.csv           one row per logged step
//!       snapshots/index.csv, snapshots/hidden_<j>.npy, snapshots/readout_<j>.npy
//!       checkpoint/           state.json, hidden.npy, readout.npy [, *_avg.npy], manifest.json
//!       hidden.npy, readout.npy [, hidden_avg.npy, readout_avg.npy]   the final weights
//!       summary.json          finished or diverged
//!       manifest.json         every file above with its size and BLAKE3 digest (last)
//! ```

/// The marker that makes a folder a run directory of this program ([`meanfield_io::owned`]).
pub const MARKER: &str = meanfield_io::owned::MARKER;
/// The lock file ([`crate::lock`]).
pub const LOCK: &str = ".lock";
pub const IDENTITY: &str = "identity.json";
pub const CONFIG: &str = "config.toml";
pub const INPUTS: &str = "inputs.json";
pub const METRICS: &str = "metrics.csv";
pub const SUMMARY: &str = "summary.json";
/// The record of a finished run's files with their digests (also inside each checkpoint).
pub const MANIFEST: &str = "manifest.json";

pub const HIDDEN: &str = "hidden.npy";
pub const READOUT: &str = "readout.npy";
pub const HIDDEN_AVG: &str = "hidden_avg.npy";
pub const READOUT_AVG: &str = "readout_avg.npy";

/// The current checkpoint, the previous one while a new one replaces it, and the one being
/// written.
pub const CHECKPOINT: &str = "checkpoint";
pub const CHECKPOINT_OLD: &str = "checkpoint.old";
pub const CHECKPOINT_PARTIAL: &str = "checkpoint.partial";
/// A checkpoint's step, sampler state, average count and times.
pub const STATE: &str = "state.json";

pub const SNAPSHOTS: &str = "snapshots";
pub const SNAPSHOT_INDEX: &str = "index.csv";

/// The files a run writes directly in its directory besides its setting: what a fresh start
/// removes when an earlier run of the directory left them.
pub const RESULT_FILES: [&str; 8] = [
    METRICS,
    SUMMARY,
    MANIFEST,
    INPUTS,
    HIDDEN,
    READOUT,
    HIDDEN_AVG,
    READOUT_AVG,
];

/// The checkpoint folders, newest first.
pub const CHECKPOINT_DIRS: [&str; 3] = [CHECKPOINT, CHECKPOINT_OLD, CHECKPOINT_PARTIAL];

/// Whether `dir` is a run directory of this layout (its marker or its manifest is there), whose
/// files are then checked before they are read.
pub fn has_record(dir: &std::path::Path) -> bool {
    dir.join(MARKER).is_file() || dir.join(MANIFEST).is_file()
}

/// The name under which a file is written in place by several processes before it is renamed
/// (`hidden.npy.partial`), or rewritten (`metrics.csv.partial`).
pub fn partial(name: &str) -> String {
    format!("{name}.partial")
}

/// The path of snapshot `j`'s `what` (`hidden` or `readout`) relative to the run directory.
pub fn snapshot(what: &str, j: u64) -> String {
    format!("{SNAPSHOTS}/{what}_{j}.npy")
}

/// Whether `name`, a file in `snapshots/`, is one the program writes there.
pub fn is_snapshot_file(name: &str) -> bool {
    if name == SNAPSHOT_INDEX {
        return true;
    }
    ["hidden_", "readout_"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(".npy"))
            .is_some_and(|j| !j.is_empty() && j.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names() {
        assert_eq!(snapshot("hidden", 3), "snapshots/hidden_3.npy");
        for ours in ["index.csv", "hidden_0.npy", "readout_12.npy"] {
            assert!(is_snapshot_file(ours), "{ours}");
        }
        for theirs in ["hidden_.npy", "hidden_1.npz", "notes.txt", "hidden_a.npy"] {
            assert!(!is_snapshot_file(theirs), "{theirs}");
        }
    }
}
