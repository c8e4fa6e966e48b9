//! Folders this program writes into, of every kind ([`Kind`]: a run, a parent of runs, a job
//! list, a study's results): each is checked before anything goes in ([`check`]) and claimed
//! with the program's marker when first written ([`claim`]). A folder that is not new, not
//! empty and not the program's is the user's, and is refused naming what it holds; a folder
//! of the system is refused whatever it holds. Each kind's callers say how to recognise their
//! folders made before the marker existed.

use crate::TrainError;
use meanfield_io::owned::{self, Found, Kind};
use std::path::Path;

/// Whether `dir` may be written as a folder of `kind`, given by the setting (or flag) `setting`:
/// new, empty, marked so, or recognised by `earlier` (given the folder and its sorted entry
/// names, folders ending in `/`) as one the program made before markers. Reads only.
pub fn check(
    dir: &Path,
    kind: Kind,
    setting: &'static str,
    earlier: &dyn Fn(&Path, &[String]) -> bool,
) -> Result<(), TrainError> {
    // An empty path reads as no folder but writes into the working directory.
    if dir.as_os_str().is_empty() {
        return Err(TrainError::Config {
            source_name: format!("`{setting}`"),
            message: "is empty, which names no folder: give a folder's path".into(),
        });
    }
    if let Some(location) = owned::system_location(dir) {
        return Err(TrainError::SystemLocation {
            path: dir.to_path_buf(),
            location,
            setting,
        });
    }
    // Never inside a run directory or a job list (a study's or runs folder holds runs).
    if let Some(parent) = dir.ancestors().skip(1).find(|a| {
        crate::run_dir::is_run_dir(a) || owned::read_marker(a).is_some_and(|m| m.kind == Kind::Plan)
    }) {
        return Err(TrainError::Inside {
            dir: dir.to_path_buf(),
            parent: parent.to_path_buf(),
            setting,
        });
    }
    let found = owned::inspect(dir).map_err(|source| TrainError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    match found {
        Found::Absent | Found::Empty => Ok(()),
        Found::NotAFolder => Err(TrainError::NotAFolder {
            path: dir.to_path_buf(),
            setting,
        }),
        Found::Marked(m) if m.kind == kind && m.layout > owned::LAYOUT => {
            Err(TrainError::NotOurs {
                dir: dir.to_path_buf(),
                kind,
                holds: format!(
                    "the marker of layout {}, newer than this program's {}: use the program that made it",
                    m.layout,
                    owned::LAYOUT
                ),
                setting,
            })
        }
        Found::Marked(m) if m.kind == kind => Ok(()),
        Found::Marked(m) => Err(TrainError::NotOurs {
            dir: dir.to_path_buf(),
            kind,
            holds: format!("the marker of a {}", m.kind),
            setting,
        }),
        Found::Unmarked(names) if earlier(dir, &names) => Ok(()),
        Found::Unmarked(names) => Err(TrainError::NotOurs {
            dir: dir.to_path_buf(),
            kind,
            holds: owned::some_of(&names),
            setting,
        }),
    }
}

/// Creates `dir` when needed and writes the marker of `kind` into it (after [`check`]).
pub fn claim(dir: &Path, kind: Kind) -> Result<(), TrainError> {
    owned::mark(dir, kind).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })
}
