//! The run directory: whose it is, what it is called, whether its files are whole, and which of
//! them a fresh start removes. File names and the layout are in [`crate::layout`].
//!
//! Without `--out`, a run goes to `runs/<dataset>-N<width>-beta<β>-seed<seed>-<hash>`, where the
//! hash is of the run's [`Identity`] (the settings that decide its trajectory): the same setting
//! always maps to the same directory, so a finished run can be found and reused, and a run
//! whose logging or checkpoint cadence changed continues in place.
//!
//! **Ownership.** A folder is a run directory only when it says so: the marker
//! [`layout::MARKER`], which the program writes before anything else ([`meanfield_io::owned`]).
//! Directories made before the marker existed are recognised by their own files ([`legacy`]): an
//! `identity.json` of version 1 or 2 beside a `config.toml` (layout 2), or a `config.toml` holding
//! a complete setting beside a `summary.json`, checkpoint state or `metrics.csv` of this program
//! (layout 1). Anything else that is not empty is the user's: refused for `out`, and as the
//! parent `runs_dir` unless every folder in it is a run directory. The program deletes and
//! overwrites only the files a run writes ([`layout`]), and only in its own run directories.
//!
//! **Wholeness.** A finished run of layout 3 is whole when every file of its `manifest.json` has
//! the size and digest recorded when it was written ([`crate::manifest`]); one of an earlier
//! layout when its weights (and the snapshots its setting plans) have the length their headers
//! call for.

use crate::identity::{self, IDENTITY_VERSION, Identity};
use crate::layout::{self, CONFIG, MANIFEST, MARKER};
use crate::manifest::Manifest;
use crate::summary::{Status, Summary};
use crate::{TrainConfig, TrainError, folders};
use meanfield_io::owned::{self, Found, Kind};
use std::path::{Path, PathBuf};

/// The directory a config's run writes to: `--out`, else its automatic name under `runs_dir`,
/// or the name version 1 of the identity gave the same config when only that directory exists
/// (a run made before the upgrade is found, reused and continued in place).
pub fn run_dir(config: &TrainConfig) -> PathBuf {
    match &config.out {
        Some(out) => out.clone(),
        None => {
            let named = config.runs_dir.join(auto_name(config));
            if !named.exists() {
                let legacy = config.runs_dir.join(identity::legacy_name(config));
                if legacy.join(CONFIG).is_file() {
                    return legacy;
                }
            }
            named
        }
    }
}

/// `<dataset>-N<width>-beta<β>-seed<seed>-<first 8 hex digits of the identity's hash>`.
pub fn auto_name(config: &TrainConfig) -> String {
    identity::auto_name(config)
}

/// The layout of a run directory made before markers, recognised by its own files: 2 (an
/// `identity.json` of version 1 or 2 beside its `config.toml`) or 1 (a `config.toml` that
/// resolves to a complete setting of this program, with at least the core keys, beside a
/// `summary.json`, a checkpoint's `state.json` or a `metrics.csv` of this program). `None`
/// for anything else: a folder of the user's.
pub fn legacy(dir: &Path) -> Option<u32> {
    let config = std::fs::read_to_string(dir.join(CONFIG)).ok()?;
    let table: toml::Table = config.parse().ok()?;
    const CORE: [&str; 8] = [
        "dataset", "width", "alpha", "beta", "gamma", "batch", "horizon", "seed",
    ];
    if !CORE.iter().all(|k| table.contains_key(*k)) {
        return None;
    }
    // Read as a setting of this program, without today's range checks (an earlier version's
    // run may hold a setting that is refused now; it is still that version's run).
    toml::from_str::<TrainConfig>(&config).ok()?;
    // A run of this program also left a result of its own: a summary, a checkpoint's state,
    // or a log with this program's columns (copies of a setting alone do not make a run).
    let ours = Status::read(dir).is_some()
        || layout::CHECKPOINT_DIRS[..2]
            .iter()
            .any(|c| crate::checkpoint::step(&dir.join(c)).is_some())
        || std::fs::read_to_string(dir.join(layout::METRICS))
            .is_ok_and(|t| t.starts_with(crate::metrics::HEADER));
    if !ours {
        return None;
    }
    match std::fs::read_to_string(dir.join(layout::IDENTITY))
        .ok()
        .and_then(|t| serde_json::from_str::<Identity>(&t).ok())
    {
        Some(id) if (1..=2).contains(&id.version) => Some(2),
        _ => Some(1),
    }
}

/// Whether `dir` is a run directory of this program: marked, of an earlier layout, or holding
/// only a run's lock file (taken by a process before the marker, or by an earlier layout).
pub fn is_run_dir(dir: &Path) -> bool {
    matches!(owned::read_marker(dir), Some(m) if m.kind == Kind::Run)
        || legacy(dir).is_some()
        || only_lock(dir)
}

/// Whether `dir` holds nothing but a run's lock file (empty, or naming its holder).
fn only_lock(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names == [layout::LOCK] && crate::lock::is_lock_file(&dir.join(layout::LOCK))
}

/// Whose folders `config`'s run would write into, checked before anything is written: the
/// run directory must be new, empty or a run directory (refused: a file, a folder of the
/// user's, a folder of another kind, a system location); without `out`, so must its parent
/// `runs_dir` be new, empty, a runs directory, or hold only run directories.
pub fn check_ownership(config: &TrainConfig) -> Result<(), TrainError> {
    let dir = run_dir(config);
    if config.out.is_none() {
        // Run directories (any layout), and empty folders a crash left between making a run
        // directory and marking it.
        let only_runs = |dir: &Path, names: &[String]| {
            names.iter().all(|n| {
                n.strip_suffix('/').is_some_and(|d| {
                    let sub = dir.join(d);
                    is_run_dir(&sub)
                        || std::fs::read_dir(&sub).is_ok_and(|mut e| e.next().is_none())
                })
            })
        };
        folders::check(&config.runs_dir, Kind::Runs, "runs_dir", &only_runs)?;
    }
    let setting = if config.out.is_some() {
        "out"
    } else {
        "runs_dir"
    };
    folders::check(&dir, Kind::Run, setting, &|d, _| is_run_dir(d))?;
    // The program writes and removes its files by name: none of them may be a link to
    // somewhere else (a snapshots/ linked to a folder of yours would be cleared).
    let links = links_among_ours(&dir);
    if links.is_empty() {
        Ok(())
    } else {
        Err(TrainError::NotOurs {
            dir,
            kind: Kind::Run,
            holds: format!(
                "links where the program writes its own files ({})",
                links.join(", ")
            ),
            setting,
        })
    }
}

/// The names the program writes in a run directory that are links in `dir`.
fn links_among_ours(dir: &Path) -> Vec<String> {
    let names = layout::RESULT_FILES
        .iter()
        .chain(&layout::CHECKPOINT_DIRS)
        .chain(&[
            layout::SNAPSHOTS,
            layout::CONFIG,
            layout::IDENTITY,
            layout::MARKER,
            layout::LOCK,
        ]);
    names
        .filter(|n| dir.join(n).is_symlink())
        .map(|n| n.to_string())
        .collect()
}

/// Makes `config`'s run directory (and, without `out`, its `runs_dir`) this program's: creates
/// them when needed and writes their markers. Call after [`check_ownership`]. Returns whether
/// the run directory was created or empty (so a run refused before writing anything can
/// leave it as it found it, [`abandon`]).
pub fn claim(config: &TrainConfig) -> Result<bool, TrainError> {
    let dir = run_dir(config);
    if config.out.is_none() {
        folders::claim(&config.runs_dir, Kind::Runs)?;
    }
    let fresh = matches!(owned::inspect(&dir), Ok(Found::Absent) | Ok(Found::Empty));
    folders::claim(&dir, Kind::Run)?;
    Ok(fresh)
}

/// Undoes [`claim`] of a run directory that was new or empty when claimed, if the run wrote
/// nothing else into it: removes the marker and the lock file, then the folder.
pub fn abandon(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.iter().all(|n| n == MARKER || n == layout::LOCK) {
        for n in names {
            let _ = std::fs::remove_file(dir.join(n));
        }
        let _ = std::fs::remove_dir(dir);
    }
}

/// The summary of a finished run in `dir`, if there is one (its files unchecked: see
/// [`finished`]).
pub fn summary(dir: &Path) -> Option<Summary> {
    match Status::read(dir)? {
        Status::Finished(summary) => Some(*summary),
        Status::Diverged(_) => None,
    }
}

/// The summary of the finished run in `dir` when its files are whole ([`check_whole`]):
/// `Ok(None)` when there is no finished run, `Err(what is damaged)` when there is one whose
/// files are not as written.
pub fn finished(dir: &Path, config: Option<&TrainConfig>) -> Result<Option<Summary>, String> {
    let Some(summary) = summary(dir) else {
        // A summary.json the manifest records but that no longer reads is damage, not "no run".
        return match Manifest::read(dir) {
            Ok(Some(m)) => match Manifest::damage(dir, &m.files).into_iter().next() {
                Some(problem) => Err(problem),
                None => Ok(None),
            },
            _ => Ok(None),
        };
    };
    check_whole(dir, config, summary.steps)?;
    Ok(Some(summary))
}

/// The finished run in `dir`, checked whole before its files are read (studies, figures, a
/// `reference` given by hand): [`TrainError::RunDamaged`] names what is not.
pub fn verify(dir: &Path) -> Result<Summary, TrainError> {
    let damaged = |problem: String| TrainError::RunDamaged {
        dir: dir.to_path_buf(),
        problem,
    };
    finished(dir, None).map_err(damaged)?.ok_or_else(|| {
        damaged("it holds no finished run (no summary.json of a finished run)".into())
    })
}

/// Whether the finished run in `dir` can stand for `config`:
/// - `Ok(Some(summary))`: the same [`Identity`] (operational settings aside) and its result
///   files whole: reuse it;
/// - `Ok(None)`: no finished run there, or one whose files are damaged (`say` is told which
///   file): train it (again);
/// - `Err(ForeignRun)`: a finished run of another setting (only possible with `--out`), with
///   each key that differs and both values;
/// - `Err(InputsChanged)`: the files it read (data, `--init-from` weights) have other contents
///   now ([`crate::inputs`]);
/// - `Err(IdentityVersion)`: made under an identity version this program does not reuse.
pub fn reusable(
    dir: &Path,
    config: &TrainConfig,
    say: &dyn Fn(&str),
) -> Result<Option<Summary>, TrainError> {
    let summary = match finished(dir, Some(config)) {
        Ok(Some(summary)) => summary,
        Ok(None) => return Ok(None),
        Err(problem) => {
            // Damaged: trained again only when it is this setting's run (its identity whole
            // and equal), so a damaged run of another setting is never replaced unasked.
            same_setting(dir, config)?;
            say(&format!(
                "{} was marked finished but {problem}: training it again",
                dir.display()
            ));
            return Ok(None);
        }
    };
    same_setting(dir, config)?;
    if let Some(recorded) = crate::inputs::recorded(dir) {
        crate::inputs::check(dir, &recorded, &crate::inputs::fingerprint(config)?)?;
    }
    Ok(Some(summary))
}

/// Whether the finished run in `dir` is `config`'s: its identity (when its manifest records
/// `identity.json`, only if that file is as written) equal to the request's, operational
/// settings aside. [`TrainError::ForeignRun`] names each key that differs; a damaged identity
/// is [`TrainError::RunDamaged`], since the run's setting cannot then be told.
fn same_setting(dir: &Path, config: &TrainConfig) -> Result<(), TrainError> {
    if let Ok(Some(m)) = Manifest::read(dir)
        && let Some(recorded) = m.files.get(layout::IDENTITY)
        && let Err(problem) =
            crate::manifest::check(&dir.join(layout::IDENTITY), layout::IDENTITY, recorded)
    {
        return Err(TrainError::RunDamaged {
            dir: dir.to_path_buf(),
            problem: format!(
                "{problem}, so which setting the run is cannot be told; pass `force` to train this one there"
            ),
        });
    }
    let differences = compare(dir, config)?;
    if differences.is_empty() {
        Ok(())
    } else {
        Err(TrainError::ForeignRun {
            dir: dir.to_path_buf(),
            differences: differences.join("; "),
        })
    }
}

/// The first thing wrong with the files of the finished run in `dir` (`steps` steps): with a
/// manifest (layout 3), any file not as recorded, the manifest itself missing or damaged, or
/// (when the setting is known) a file the run must have written missing from it; before
/// manifests, its weights and the snapshots its setting plans (studies read them) missing or
/// cut short.
pub fn check_whole(dir: &Path, config: Option<&TrainConfig>, steps: u64) -> Result<(), String> {
    match damage(dir) {
        Some(problems) => {
            if let Some(first) = problems.into_iter().next() {
                return Err(first);
            }
            let Some(config) = config else {
                return Ok(());
            };
            let listed = Manifest::read(dir)?.map(|m| m.files).unwrap_or_default();
            if let Some(name) = expected_files(config, steps)?
                .into_iter()
                .find(|name| !listed.contains_key(name))
            {
                return Err(format!(
                    "{MANIFEST} does not list {name}, which the run writes"
                ));
            }
            // Whole files of the wrong shape are not this run's weights either.
            for name in [
                layout::HIDDEN,
                layout::READOUT,
                layout::HIDDEN_AVG,
                layout::READOUT_AVG,
            ] {
                if !listed.contains_key(name) {
                    continue;
                }
                let [rows, _] =
                    crate::weights::shape(&dir.join(name)).map_err(|e| e.to_string())?;
                if rows != config.net_width() {
                    return Err(format!(
                        "{name} has {rows} rows where the run has {} particles",
                        config.net_width()
                    ));
                }
            }
            Ok(())
        }
        None => {
            [layout::HIDDEN, layout::READOUT]
                .into_iter()
                .try_for_each(|name| crate::weights::check_whole(&dir.join(name)))?;
            match config {
                Some(c) => crate::snapshot::check_whole(dir, c, steps),
                None => Ok(()),
            }
        }
    }
}

/// The files a finished run of `config` over `steps` steps must have written (its manifest
/// lists at least these).
fn expected_files(config: &TrainConfig, steps: u64) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = [
        layout::IDENTITY,
        layout::CONFIG,
        layout::METRICS,
        layout::SUMMARY,
        layout::HIDDEN,
        layout::READOUT,
    ]
    .map(String::from)
    .to_vec();
    if config.average_from.is_some_and(|n0| n0 <= steps) {
        names.extend([layout::HIDDEN_AVG, layout::READOUT_AVG].map(String::from));
    }
    for point in crate::snapshot::plan(config, steps).map_err(|e| e.to_string())? {
        names.extend(["hidden", "readout"].map(|w| layout::snapshot(w, point.j)));
    }
    Ok(names)
}

/// Every file of the run in `dir` that is not as its manifest records (empty when all are);
/// `None` for a directory of an earlier layout, which has no manifest. A directory of layout
/// 3 without one is damaged.
pub fn damage(dir: &Path) -> Option<Vec<String>> {
    match Manifest::read(dir) {
        Ok(Some(m)) => Some(Manifest::damage(dir, &m.files)),
        Err(problem) => Some(vec![problem]),
        Ok(None) => {
            let marked = owned::read_marker(dir).is_some_and(|m| m.layout >= owned::LAYOUT);
            let summarised = summary(dir).is_some_and(|s| s.layout >= owned::LAYOUT);
            (marked || summarised).then(|| {
                vec![format!(
                    "{MANIFEST} is missing (a finished run of this layout always has one)"
                )]
            })
        }
    }
}

/// The settings of the run recorded in `dir` that differ from `config`'s (operational ones
/// aside), after checking that its identity version is one this program reuses.
pub fn compare(dir: &Path, config: &TrainConfig) -> Result<Vec<String>, TrainError> {
    let theirs = Identity::read(dir).unwrap_or(Identity {
        version: IDENTITY_VERSION,
        settings: toml::Table::new(),
    });
    theirs.check_version(dir)?;
    Ok(theirs.differences(&Identity::of(config)))
}

/// Removes what an earlier run left in its run directory `dir` before a fresh start (or
/// `force`): its result files, snapshots and checkpoints, and nothing else (not its marker,
/// setting or lock, nor any file of another name). Returns the paths removed, relative to
/// `dir`.
pub fn clear(dir: &Path) -> Vec<String> {
    let mut removed: Vec<String> = layout::RESULT_FILES
        .iter()
        .flat_map(|name| [name.to_string(), layout::partial(name)])
        .filter(|name| std::fs::remove_file(dir.join(name)).is_ok())
        .collect();
    removed.extend(remove_ours(&dir.join(layout::SNAPSHOTS), |name| {
        layout::is_snapshot_file(name.strip_suffix(".partial").unwrap_or(name))
    }));
    removed.extend(crate::checkpoint::remove(dir));
    removed
}

/// Removes the files of `folder` that `ours` accepts (and the atomic writer's temporary files),
/// then the folder if it is then empty. Returns what was removed, as `folder-name/file`.
pub fn remove_ours(folder: &Path, ours: impl Fn(&str) -> bool) -> Vec<String> {
    // Never through a link: what it points to is not the program's.
    if folder.is_symlink() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let label = folder
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let mut removed = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file
            && (ours(&name) || name.starts_with(owned::TEMPORARY))
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed.push(format!("{label}/{name}"));
        }
    }
    removed.sort();
    let _ = std::fs::remove_dir(folder);
    removed
}

/// Removes a checkpoint folder's own files (weights, averages, state, manifest, and the
/// `.partial` files of a sharded write), then the folder if it is then empty.
pub fn remove_checkpoint_folder(folder: &Path) -> Vec<String> {
    remove_ours(folder, |name| {
        let base = name.strip_suffix(".partial").unwrap_or(name);
        [
            layout::HIDDEN,
            layout::READOUT,
            layout::HIDDEN_AVG,
            layout::READOUT_AVG,
            layout::STATE,
            layout::MANIFEST,
        ]
        .contains(&base)
    })
}

/// Creates the directory (and parents), with an error that says what to do.
pub fn create(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the program's own files go: a user's file inside a run directory (or its snapshots
    /// folder) stays, and so does the folder that holds it.
    #[test]
    fn clear_removes_only_the_programs_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for f in [
            "hidden.npy",
            "summary.json",
            "notes.txt",
            "snapshots/index.csv",
            "snapshots/hidden_0.npy",
            "snapshots/mine.npy",
            "checkpoint/state.json",
            "checkpoint/hidden.npy",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let removed = clear(dir);
        assert_eq!(
            removed,
            [
                "summary.json",
                "hidden.npy",
                "snapshots/hidden_0.npy",
                "snapshots/index.csv",
                "checkpoint/hidden.npy",
                "checkpoint/state.json"
            ]
        );
        assert!(dir.join("notes.txt").is_file());
        assert!(dir.join("snapshots/mine.npy").is_file());
        assert!(!dir.join("checkpoint").exists());
    }
}
