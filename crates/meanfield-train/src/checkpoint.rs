//! Checkpoints: everything needed to continue a run exactly where it stopped.
//!
//! `<run>/checkpoint/` holds the weights (`hidden.npy`, `readout.npy`), the Polyak average
//! (`hidden_avg.npy`, `readout_avg.npy`) when there is one, `state.json` (the number of updates
//! done, the batch sampler's state — ChaCha8 seed and stream position, permutation, cursor —,
//! the average's count, and the time spent so far) and, written last, `manifest.json`: the
//! digest of each of those files and of the run directory's files as they were at that step
//! (the snapshots written so far, and `metrics.csv`'s rows up to the step). Resuming checks every
//! one of them first: a checkpoint whose files were changed is never used
//! ([`TrainError::CheckpointDamaged`]), and rows of `metrics.csv` after the step are dropped.
//!
//! Writing is atomic: the new checkpoint is written (and fsynced) into `checkpoint.partial/`,
//! the previous one is renamed to `checkpoint.old/`, the new one to `checkpoint/`, and the old
//! one removed. A crash at any point leaves `checkpoint/` or `checkpoint.old/` whole.
//! Checkpoints written before manifests (layouts 1 and 2) have no `manifest.json`; they resume
//! as before, on their `state.json`.

use crate::layout::{
    CHECKPOINT, CHECKPOINT_DIRS, CHECKPOINT_OLD, CHECKPOINT_PARTIAL, MANIFEST, METRICS, STATE,
};
use crate::manifest::{Files, Manifest};
use crate::shard::{Shard, on_lead};
use crate::{TrainError, weights};
use meanfield_data::sampler::SamplerState;
use meanfield_model::MeanFieldNet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Updates done.
    pub step: u64,
    pub sampler: SamplerState,
    /// Weight sets in the Polyak average (0: no average yet).
    pub average_count: u64,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    /// The layout that wrote it ([`meanfield_io::owned::LAYOUT`]); 2 for a state written
    /// before it was recorded (then the checkpoint has no manifest).
    #[serde(default = "layout_before_manifests")]
    pub layout: u32,
    /// The hash of the identity of the run that wrote it ([`crate::identity::Identity`]), so
    /// that a checkpoint copied from another run is never continued; absent before layout 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

fn layout_before_manifests() -> u32 {
    2
}

/// A loaded checkpoint: state, weights [N·p], [N·C], and the average if any.
pub struct Checkpoint {
    pub state: CheckpointState,
    pub hidden: Vec<f32>,
    pub readout: Vec<f32>,
    pub average: Option<(Vec<f32>, Vec<f32>)>,
    /// The run directory's files at the checkpoint's step (its manifest's `run`: snapshots,
    /// and `metrics.csv`'s rows up to the step); empty for a checkpoint made before manifests.
    pub run_files: Files,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a checkpoint of `model` (and `average`) after `state.step` updates; `snapshots` are
/// the digests of the snapshot files the run has written so far (the checkpoint records them
/// with `metrics.csv`'s rows up to the step). In a sharded run (`shard`) `model` and
/// `average` are this shard's block; every shard writes its rows into the same files
/// ([`weights::save_shared`]), so the checkpoint is the one an unsharded run would write, and
/// every shard must call this.
pub fn save(
    run: &Path,
    state: &CheckpointState,
    model: &MeanFieldNet,
    average: Option<&MeanFieldNet>,
    snapshots: &Files,
    shard: Option<&Shard>,
) -> Result<(), TrainError> {
    let partial = run.join(CHECKPOINT_PARTIAL);
    on_lead(shard, || {
        clear_folder(&partial)?;
        std::fs::create_dir_all(&partial).map_err(io(&partial))
    })?;
    let mut files = Files::new();
    files.extend(weights::save_net(
        &partial,
        weights::HIDDEN,
        weights::READOUT,
        model,
        shard,
    )?);
    if let Some(avg) = average {
        files.extend(weights::save_net(
            &partial,
            weights::HIDDEN_AVG,
            weights::READOUT_AVG,
            avg,
            shard,
        )?);
    }
    on_lead(shard, || commit(run, state, files.clone(), snapshots))
}

/// Writes `state.json` and the manifest into the partial checkpoint and puts it in place of the
/// current one.
fn commit(
    run: &Path,
    state: &CheckpointState,
    mut files: Files,
    snapshots: &Files,
) -> Result<(), TrainError> {
    let partial = run.join(CHECKPOINT_PARTIAL);
    let text = serde_json::to_string(state).expect("state serialises");
    files.insert(
        STATE.into(),
        weights::write_file(&partial.join(STATE), text.as_bytes())?,
    );
    let metrics = run.join(METRICS);
    let mut manifest = Manifest::new(files);
    manifest.run = snapshots.clone();
    manifest.run.insert(
        METRICS.into(),
        meanfield_io::digest::of_file(&metrics).map_err(|source| TrainError::Read {
            path: metrics.clone(),
            source,
        })?,
    );
    manifest.write(&partial)?;
    let current = run.join(CHECKPOINT);
    let old = run.join(CHECKPOINT_OLD);
    clear_folder(&old)?;
    if current.exists() {
        std::fs::rename(&current, &old).map_err(io(&current))?;
    }
    std::fs::rename(&partial, &current).map_err(io(&partial))?;
    clear_folder(&old)
}

/// Removes a checkpoint folder's own files and the folder; files of another name in it (not
/// the program's) stay, and are named in the error.
fn clear_folder(folder: &Path) -> Result<(), TrainError> {
    crate::run_dir::remove_checkpoint_folder(folder);
    if !folder.exists() {
        return Ok(());
    }
    let names: Vec<String> = std::fs::read_dir(folder)
        .map(|e| {
            e.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    Err(TrainError::NotOurs {
        dir: folder.to_path_buf(),
        kind: meanfield_io::owned::Kind::Run,
        holds: format!(
            "{} among a checkpoint's files, which the program does not remove",
            meanfield_io::owned::some_of(&names)
        ),
        setting: "out",
    })
}

/// The newest checkpoint folder of a run that is not being written (`checkpoint/`, else
/// `checkpoint.old/`, which a crash during a commit can leave alone), whole or not.
pub fn latest(run: &Path) -> Option<PathBuf> {
    [run.join(CHECKPOINT), run.join(CHECKPOINT_OLD)]
        .into_iter()
        .find(|d| d.is_dir())
}

/// Everything wrong with the checkpoint in `dir` (empty when it can be resumed): its manifest
/// missing or unreadable, a file of it not as recorded, `state.json` missing or unreadable. A
/// checkpoint made before manifests is checked on its `state.json` alone.
pub fn damage(dir: &Path) -> Vec<String> {
    let mut found = match Manifest::read(dir) {
        Ok(Some(m)) => Manifest::damage(dir, &m.files),
        // Made before manifests (its state says so), or its manifest deleted.
        Ok(None) => match read_state(dir) {
            Ok(state) if state.layout < meanfield_io::owned::LAYOUT => Vec::new(),
            Ok(_) => vec![format!("{MANIFEST} is missing")],
            Err(_) if !dir.join(STATE).is_file() => vec![format!("{STATE} is missing")],
            Err(e) => vec![e.to_string()],
        },
        Err(e) => vec![e],
    };
    if found.is_empty()
        && let Err(e) = read_state(dir)
    {
        found.push(e.to_string());
    }
    found
}

/// The run directory's files that the checkpoint in `dir` recorded (`metrics.csv`'s rows up
/// to its step, the snapshots written by then) and that are no longer as they were.
pub fn changed_since(run: &Path, dir: &Path) -> Vec<String> {
    let Ok(Some(m)) = Manifest::read(dir) else {
        return Vec::new();
    };
    m.run
        .iter()
        .filter_map(|(name, digest)| {
            let path = run.join(name);
            let check = if name == METRICS {
                crate::manifest::check_prefix(&path, name, digest)
            } else {
                crate::manifest::check(&path, name, digest)
            };
            check.err()
        })
        .collect()
}

/// Whether the checkpoint in `dir` can continue the run in `run`: its own files whole
/// ([`TrainError::CheckpointDamaged`]), and the run directory's files as it recorded them
/// ([`TrainError::ChangedSinceCheckpoint`]).
/// `identity`, when given, is the hash of the run's identity: a checkpoint that recorded
/// another one was written by another run.
pub fn check(run: &Path, dir: &Path, identity: Option<&str>) -> Result<(), TrainError> {
    let own = damage(dir);
    if !own.is_empty() {
        return Err(TrainError::CheckpointDamaged {
            dir: dir.to_path_buf(),
            problems: own.join("; "),
        });
    }
    if let (
        Some(expected),
        Ok(CheckpointState {
            identity: Some(theirs),
            ..
        }),
    ) = (identity, read_state(dir))
        && theirs != expected
    {
        return Err(TrainError::CheckpointDamaged {
            dir: dir.to_path_buf(),
            problems: format!(
                "it was written by another run (identity {theirs}, this run's is {expected})"
            ),
        });
    }
    let changed = changed_since(run, dir);
    if !changed.is_empty() {
        return Err(TrainError::ChangedSinceCheckpoint {
            dir: run.to_path_buf(),
            step: step(dir).unwrap_or(0),
            problems: changed.join("; "),
        });
    }
    Ok(())
}

/// The checkpoint to resume from: the newest one that passes [`check`] (`say` is told when an
/// older one is used because the newest cannot be); `Ok(None)` when the run has none; the
/// newest one's error when none can be used.
pub fn find(
    run: &Path,
    identity: Option<&str>,
    say: &dyn Fn(&str),
) -> Result<Option<PathBuf>, TrainError> {
    let mut first_error = None;
    for dir in [run.join(CHECKPOINT), run.join(CHECKPOINT_OLD)] {
        if !dir.is_dir() {
            continue;
        }
        if !holds_ours(&dir) {
            // A folder of that name with none of a checkpoint's files is no checkpoint.
            continue;
        }
        match check(run, &dir, identity) {
            Ok(()) => {
                if let Some(e) = &first_error {
                    say(&format!(
                        "{e}; resuming from the previous checkpoint instead, {}",
                        dir.display()
                    ));
                }
                return Ok(Some(dir));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// Whether `dir` holds any file a checkpoint is made of.
fn holds_ours(dir: &Path) -> bool {
    [
        STATE,
        MANIFEST,
        weights::HIDDEN,
        weights::READOUT,
        weights::HIDDEN_AVG,
        weights::READOUT_AVG,
    ]
    .iter()
    .any(|f| dir.join(f).exists())
}

/// The step of the checkpoint in `dir`, if its state can be read.
pub fn step(dir: &Path) -> Option<u64> {
    read_state(dir).ok().map(|s| s.step)
}

fn read_state(dir: &Path) -> Result<CheckpointState, TrainError> {
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|source| TrainError::Read {
        path: state_path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| TrainError::BadWeights {
        path: state_path.clone(),
        reason: format!("not a checkpoint state: {e}"),
    })
}

/// Loads particles `rows` (all of them, or a shard's block) of a checkpoint written for a
/// network of `shape` = (N, p, C). A checkpoint holds whole matrices whatever the number of
/// shards that wrote it, so a run can continue with another number of processes.
pub fn load(
    dir: &Path,
    shape: (usize, usize, usize),
    rows: std::ops::Range<usize>,
) -> Result<Checkpoint, TrainError> {
    let (n, p, c) = shape;
    let state = read_state(dir)?;
    let run_files = match Manifest::read(dir) {
        Ok(Some(m)) => m.run,
        Ok(None) => Files::new(),
        Err(problem) => {
            return Err(TrainError::CheckpointDamaged {
                dir: dir.to_path_buf(),
                problems: problem,
            });
        }
    };
    let load =
        |name: &str, cols: usize| weights::load_rows(&dir.join(name), [n, cols], rows.clone());
    let hidden = load(weights::HIDDEN, p)?;
    let readout = load(weights::READOUT, c)?;
    let average = if state.average_count > 0 {
        Some((
            load(weights::HIDDEN_AVG, p)?,
            load(weights::READOUT_AVG, c)?,
        ))
    } else {
        None
    };
    Ok(Checkpoint {
        state,
        hidden,
        readout,
        average,
        run_files,
    })
}

/// Removes a run's checkpoints (a finished run keeps only its final files). Each folder's own
/// files go ([`crate::run_dir::remove_ours`]); a folder is removed only once empty.
pub fn remove(run: &Path) -> Vec<String> {
    CHECKPOINT_DIRS
        .iter()
        .flat_map(|d| crate::run_dir::remove_checkpoint_folder(&run.join(d)))
        .collect()
}
