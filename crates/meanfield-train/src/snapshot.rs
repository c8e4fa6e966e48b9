//! Snapshots of the particles along the trajectory (`--snapshots K`): the weights at the K + 1
//! evenly spaced times t_j = j·T/K, each at step ⌊t_j / γ_{α,β}(N)⌋, so that runs of every
//! width are seen on the same time grid (the sup over t in Theorems 1 and 2 is the max over
//! these times).
//!
//! Layout under the run directory: `snapshots/index.csv` (j, time, step, rows) and, for each
//! j, `snapshots/hidden_<j>.npy` [R, p] and `snapshots/readout_<j>.npy` [R, C], R the particles
//! kept (`snapshot_rows`, all by default). A snapshot is written when its step is reached, before
//! any checkpoint of that step, so a resumed run writes exactly the snapshots an uninterrupted
//! one does.

use crate::layout::{self, SNAPSHOT_INDEX, SNAPSHOTS};
use crate::manifest::Files;
use crate::shard::Shard;
use crate::{TrainConfig, TrainError, weights};
use meanfield_model::MeanFieldNet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One point of the time grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPoint {
    pub j: u64,
    /// t_j = j·T/K.
    pub time: f64,
    /// ⌊t_j / γ_{α,β}(N)⌋.
    pub step: u64,
    /// Particles kept.
    pub rows: usize,
}

/// The snapshots a run of `config` writes when it runs `steps` steps (those whose step is past
/// the run's end are left out). Empty without `snapshots`.
pub fn plan(config: &TrainConfig, steps: u64) -> Result<Vec<SnapshotPoint>, TrainError> {
    let Some(k) = config.snapshots else {
        return Ok(Vec::new());
    };
    let schedule = config.schedule().init()?;
    let rows = config
        .snapshot_rows
        .map_or(config.net_width(), |r| r.min(config.net_width()));
    Ok((0..=k)
        .map(|j| {
            let time = j as f64 * config.horizon / k as f64;
            SnapshotPoint {
                j,
                time,
                step: schedule.steps_to(time),
                rows,
            }
        })
        .filter(|s| s.step <= steps)
        .collect())
}

/// The first snapshot file of a finished run that is missing or cut short, for the snapshots
/// `config` plans over `steps` steps (studies read them: a run without them is not whole).
pub fn check_whole(dir: &Path, config: &TrainConfig, steps: u64) -> Result<(), String> {
    for point in plan(config, steps).map_err(|e| e.to_string())? {
        for what in ["hidden", "readout"] {
            let path = file(dir, what, point.j);
            weights::check_whole(&path).map_err(|p| format!("snapshot {p}"))?;
        }
    }
    Ok(())
}

fn file(dir: &Path, what: &str, j: u64) -> PathBuf {
    dir.join(layout::snapshot(what, j))
}

/// Creates `snapshots/` and writes its index (returned with its digest, by its path in the
/// run directory). A fresh run's earlier snapshots were removed with the rest of the earlier
/// run ([`crate::run_dir::clear`]).
pub fn start(dir: &Path, plan: &[SnapshotPoint]) -> Result<Files, TrainError> {
    let folder = dir.join(SNAPSHOTS);
    if plan.is_empty() {
        return Ok(Files::new());
    }
    std::fs::create_dir_all(&folder).map_err(|source| TrainError::Write {
        path: folder.clone(),
        source,
    })?;
    let path = folder.join(SNAPSHOT_INDEX);
    let digest = meanfield_io::write_csv(&path, plan)
        .map_err(|source| TrainError::Write { path, source })?;
    Ok(Files::from([(
        format!("{SNAPSHOTS}/{SNAPSHOT_INDEX}"),
        digest,
    )]))
}

/// Writes every snapshot of `plan` due at `step` from `model`; returns the files written with
/// their digests (none on a shard other than the lead).
pub fn write_due(
    dir: &Path,
    plan: &[SnapshotPoint],
    step: u64,
    model: &MeanFieldNet,
    shard: Option<&Shard>,
) -> Result<Files, TrainError> {
    let mut written = Files::new();
    for s in plan.iter().filter(|s| s.step == step) {
        for (name, tensor) in [
            ("hidden", model.hidden.val()),
            ("readout", model.readout.val()),
        ] {
            // A shard writes its rows among the first R.
            if let Some(d) = weights::save_rows(&file(dir, name, s.j), s.rows, &tensor, shard)? {
                written.insert(layout::snapshot(name, s.j), d);
            }
        }
    }
    Ok(written)
}

/// The snapshots of a finished run: its index and, for each point, hidden [R, p] and readout
/// [R, C] row-major.
pub struct Snapshots {
    pub points: Vec<SnapshotPoint>,
    pub hidden: Vec<Vec<f32>>,
    pub readout: Vec<Vec<f32>>,
    pub input_dim: usize,
    pub classes: usize,
}

/// Reads a finished run's snapshots, after checking the run's files are whole
/// ([`crate::run_dir::verify`]).
pub fn load(dir: &Path) -> Result<Snapshots, TrainError> {
    crate::run_dir::verify(dir)?;
    let index = dir.join(SNAPSHOTS).join(SNAPSHOT_INDEX);
    let bad = |reason: String| TrainError::BadWeights {
        path: index.clone(),
        reason,
    };
    let mut reader = csv::Reader::from_path(&index).map_err(|e| {
        bad(format!(
            "cannot read the snapshot index ({e}): was the run trained with `snapshots` K?"
        ))
    })?;
    let points: Vec<SnapshotPoint> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("not a snapshot index: {e}")))?;
    let (mut hidden, mut readout) = (Vec::new(), Vec::new());
    let (mut input_dim, mut classes) = (0, 0);
    for s in &points {
        let (h, [rows, p]) = weights::load_matrix(&file(dir, "hidden", s.j))?;
        let (r, [rows_r, c]) = weights::load_matrix(&file(dir, "readout", s.j))?;
        if rows != s.rows || rows_r != s.rows {
            return Err(bad(format!(
                "snapshot {} has {rows} hidden and {rows_r} readout rows, the index says {}",
                s.j, s.rows
            )));
        }
        (input_dim, classes) = (p, c);
        hidden.push(h);
        readout.push(r);
    }
    Ok(Snapshots {
        points,
        hidden,
        readout,
        input_dim,
        classes,
    })
}
