//! Checkpoints: everything needed to continue a run exactly where it stopped.
//!
//! `<run>/checkpoint/` holds the weights (`hidden.npy`, `readout.npy`), the Polyak average
//! (`hidden_avg.npy`, `readout_avg.npy`) when there is one, and `state.json`: the number of
//! updates done, the batch sampler's state (ChaCha8 seed and stream position, permutation,
//! cursor), the average's count, and the time spent so far. Rows of `metrics.csv` up to that
//! step are kept on resume; later ones are dropped and recomputed.
//!
//! Writing is atomic: the new checkpoint is written (and fsynced) into `checkpoint.partial/`,
//! the previous one is renamed to `checkpoint.old/`, the new one to `checkpoint/`, and the old
//! one removed. A crash at any point leaves `checkpoint/` or `checkpoint.old/` whole.

use crate::shard::{Shard, on_lead};
use crate::{TrainError, weights};
use meanfield_data::sampler::SamplerState;
use meanfield_model::MeanFieldNet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DIR: &str = "checkpoint";
const PARTIAL: &str = "checkpoint.partial";
const OLD: &str = "checkpoint.old";
const STATE: &str = "state.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Updates done.
    pub step: u64,
    pub sampler: SamplerState,
    /// Weight sets in the Polyak average (0: no average yet).
    pub average_count: u64,
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

/// A loaded checkpoint: state, weights [N·p], [N·C], and the average if any.
pub struct Checkpoint {
    pub state: CheckpointState,
    pub hidden: Vec<f32>,
    pub readout: Vec<f32>,
    pub average: Option<(Vec<f32>, Vec<f32>)>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a checkpoint of `model` (and `average`) after `state.step` updates. In a sharded run
/// (`shard`) `model` and `average` are this shard's block; every shard writes its rows into
/// the same files ([`weights::save_shared`]), so the checkpoint is the one an unsharded run
/// would write, and every shard must call this.
pub fn save(
    run: &Path,
    state: &CheckpointState,
    model: &MeanFieldNet,
    average: Option<&MeanFieldNet>,
    shard: Option<&Shard>,
) -> Result<(), TrainError> {
    let partial = run.join(PARTIAL);
    on_lead(shard, || {
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
        }
        std::fs::create_dir_all(&partial).map_err(io(&partial))
    })?;
    weights::save_net(&partial, weights::HIDDEN, weights::READOUT, model, shard)?;
    if let Some(avg) = average {
        weights::save_net(
            &partial,
            weights::HIDDEN_AVG,
            weights::READOUT_AVG,
            avg,
            shard,
        )?;
    }
    on_lead(shard, || commit(run, state))
}

/// Writes `state.json` into the partial checkpoint and puts it in place of the current one.
fn commit(run: &Path, state: &CheckpointState) -> Result<(), TrainError> {
    let partial = run.join(PARTIAL);
    let state_path = partial.join(STATE);
    let text = serde_json::to_string(state).expect("state serialises");
    weights::write_file(&state_path, text.as_bytes())?;
    let current = run.join(DIR);
    let old = run.join(OLD);
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if current.exists() {
        std::fs::rename(&current, &old).map_err(io(&current))?;
    }
    std::fs::rename(&partial, &current).map_err(io(&partial))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// The newest whole checkpoint of a run, if any.
pub fn latest(run: &Path) -> Option<PathBuf> {
    [run.join(DIR), run.join(OLD)]
        .into_iter()
        .find(|d| d.join(STATE).is_file())
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
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|source| TrainError::Read {
        path: state_path.clone(),
        source,
    })?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| TrainError::BadWeights {
            path: state_path.clone(),
            reason: format!("not a checkpoint state: {e}"),
        })?;
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
    })
}

/// Removes a run's checkpoints (a finished run keeps only its final files).
pub fn remove(run: &Path) {
    for d in [DIR, OLD, PARTIAL] {
        let _ = std::fs::remove_dir_all(run.join(d));
    }
}
