//! Folders this program owns. The program writes into a folder, and deletes or overwrites files
//! in it, only when the folder is its own: new, empty, or holding the marker file
//! [`MARKER`] that the program alone writes (`{"program": "meanfield", "kind": "run",
//! "layout": 3}`), created before anything else goes in. A folder that holds anything else
//! belongs to its user and is refused, with the files found named; so are the system's own
//! folders ([`system_location`]), whatever they hold.
//!
//! Folders made before the marker existed (layouts 1 and 2) are recognised by their callers from
//! their own files (a run directory from its `identity.json` or complete `config.toml`); this
//! module only reads and writes the marker.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The marker's file name, in every folder the program owns.
pub const MARKER: &str = "meanfield.json";
/// The program name the marker carries.
pub const PROGRAM: &str = "meanfield";
/// The folder layout this program writes: 3 is the first with markers and digests (layouts 1
/// and 2 are the run directories of identity versions 1 and 2).
pub const LAYOUT: u32 = 3;

/// The prefix of the atomic writer's temporary files ([`crate::atomic`]), which another process
/// may have in a folder for an instant.
pub const TEMPORARY: &str = ".tmp-";

/// What an owned folder is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One training run (`config.toml`, weights, `metrics.csv`, …).
    Run,
    /// The parent of automatically named run directories (`runs/`, `figures/runs/`).
    Runs,
    /// A grid written as jobs (`--plan DIR`).
    Plan,
    /// A study's or a figure's results (`report.md`, CSVs, plots).
    Study,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Run => "run directory",
            Kind::Runs => "runs directory (the parent of run directories)",
            Kind::Plan => "job list (--plan)",
            Kind::Study => "study or figure folder",
        })
    }
}

/// The marker's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub program: String,
    pub kind: Kind,
    pub layout: u32,
}

/// What is at a path, as far as ownership goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Nothing: the program may create it.
    Absent,
    /// A file or something else that is not a folder.
    NotAFolder,
    /// A folder with nothing in it.
    Empty,
    /// A folder with this program's marker.
    Marked(Marker),
    /// A folder that holds entries and no marker of this program (sorted names; folders end
    /// in `/`).
    Unmarked(Vec<String>),
}

/// Looks at `dir` without changing anything.
pub fn inspect(dir: &Path) -> std::io::Result<Found> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        // A link to nothing is not a folder the program can make.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.is_symlink() => {
            return Ok(Found::NotAFolder);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Absent),
        // A path through a file (`afile/sub`).
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(Found::NotAFolder),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Ok(Found::NotAFolder);
    }
    if let Some(marker) = read_marker(dir) {
        return Ok(Found::Marked(marker));
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMPORARY) {
            // Another process's atomic write in progress (the marker's, say).
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    // Another process may have marked the folder between the two reads.
    if names.iter().any(|n| n == MARKER)
        && let Some(marker) = read_marker(dir)
    {
        return Ok(Found::Marked(marker));
    }
    Ok(if names.is_empty() {
        Found::Empty
    } else {
        Found::Unmarked(names)
    })
}

/// The marker in `dir`, when there is one of this program.
pub fn read_marker(dir: &Path) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str::<Marker>(&text)
        .ok()
        .filter(|m| m.program == PROGRAM)
}

/// Creates `dir` (and its parents) when needed and writes the marker of `kind` into it, unless
/// it is there already. The caller has checked the folder is new, empty or its own.
pub fn mark(dir: &Path, kind: Kind) -> std::io::Result<()> {
    if read_marker(dir).is_some_and(|m| m.kind == kind && m.layout >= LAYOUT) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let marker = Marker {
        program: PROGRAM.into(),
        kind,
        layout: LAYOUT,
    };
    let text = serde_json::to_string(&marker).expect("a marker serialises");
    crate::write_atomic(&dir.join(MARKER), format!("{text}\n").as_bytes()).map(|_| ())
}

/// "notes.txt, data/ and 3 more": the first entries of a folder, for messages.
pub fn some_of(names: &[String]) -> String {
    match names {
        [] => "nothing".into(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b} and {c}"),
        [a, b, c, rest @ ..] => format!("{a}, {b}, {c} and {} more", rest.len()),
    }
}

/// Folders of the operating system that the program never writes into, whatever they hold:
/// `/` and a new folder directly in it, everything under the folders that hold the system's
/// own files (`/usr`, `/var` but its scratch `/var/tmp`, `/etc`, `/proc`, …), the folders
/// that hold users' mount points and homes themselves (`/mnt`, `/home`, …; a folder inside
/// them may be the user's), and the home folder itself (a run or study goes into a folder of
/// its own inside it). Returns the location `dir` is, or is under.
pub fn system_location(dir: &Path) -> Option<PathBuf> {
    /// Refused themselves and everything below them.
    const TREES: [&str; 13] = [
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
        "/sbin", "/sys", "/usr",
    ];
    /// Refused themselves (their subfolders may be the user's).
    const ONLY: [&str; 7] = ["/", "/opt", "/srv", "/mnt", "/media", "/home", "/tmp"];
    let absolute = std::path::absolute(dir).ok()?;
    // `..` and links resolved as far as the path exists.
    let resolved = resolve_existing(&absolute);
    for candidate in [&absolute, &resolved] {
        if let Some(t) = TREES
            .iter()
            .map(Path::new)
            .find(|t| candidate.starts_with(t))
        {
            return Some(t.to_path_buf());
        }
        if candidate.starts_with("/var") && !candidate.starts_with("/var/tmp") {
            return Some(PathBuf::from("/var"));
        }
        if ONLY.iter().any(|o| candidate == Path::new(o)) {
            return Some(candidate.clone());
        }
        // A new folder at the root of the file system.
        if candidate.parent() == Some(Path::new("/")) && !candidate.exists() {
            return Some(PathBuf::from("/"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
            && *candidate == resolve_existing(Path::new(&home))
        {
            return Some(candidate.clone());
        }
    }
    None
}

/// `path` with its longest existing prefix canonicalised (links and `..` resolved) and the rest
/// appended.
fn resolve_existing(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            return rest.iter().rev().fold(c, |p, r| p.join(r));
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a");
        assert_eq!(inspect(&dir).unwrap(), Found::Absent);
        std::fs::create_dir(&dir).unwrap();
        assert_eq!(inspect(&dir).unwrap(), Found::Empty);
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(dir.join("data")).unwrap();
        assert_eq!(
            inspect(&dir).unwrap(),
            Found::Unmarked(vec!["data/".into(), "notes.txt".into()])
        );
        assert_eq!(inspect(&dir.join("notes.txt")).unwrap(), Found::NotAFolder);
        // A file named like the marker but not this program's is not a marker.
        std::fs::write(
            dir.join(MARKER),
            r#"{"program": "other", "kind": "run", "layout": 3}"#,
        )
        .unwrap();
        assert!(matches!(inspect(&dir).unwrap(), Found::Unmarked(_)));
        let new = tmp.path().join("b/c");
        mark(&new, Kind::Run).unwrap();
        assert_eq!(
            inspect(&new).unwrap(),
            Found::Marked(Marker {
                program: PROGRAM.into(),
                kind: Kind::Run,
                layout: LAYOUT
            })
        );
        assert_eq!(
            some_of(&["a".into(), "b".into(), "c".into(), "d".into(), "e".into()]),
            "a, b, c and 2 more"
        );
    }

    #[test]
    fn system_locations_are_refused() {
        for refused in [
            "/",
            "/etc",
            "/usr",
            "/proc/self",
            "/etc/../etc/x",
            "/dev/shm/x",
            "/usr/local/share/runs",
            "/var/mail/x",
            "/run/x",
            "/tmp",
            "/a-new-top-level-folder",
        ] {
            assert!(system_location(Path::new(refused)).is_some(), "{refused}");
        }
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(system_location(tmp.path()), None);
        assert_eq!(system_location(&tmp.path().join("new/run")), None);
        assert_eq!(system_location(Path::new("/var/tmp/runs")), None);
    }
}
