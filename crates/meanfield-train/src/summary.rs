//! `summary.json`: how a run ended, as one typed value ([`Status`]).
//!
//! A finished run's file is `{"status": "finished", "dataset": …, "last": {…}, …}`; a run that
//! diverged writes `{"status": "diverged", "step": …, "step_size": …, "error": "…"}` (its last
//! good checkpoint stays in place). An interrupted run writes none: its checkpoint says where
//! it is.

use crate::TrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Loss and accuracy on the train and test sets. A run without a test set (your own arrays
/// without `test_*.npy`) has NaN test scores, written as `null` in `summary.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    #[serde(deserialize_with = "nan_if_null")]
    pub train_loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub train_accuracy: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub test_loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub test_accuracy: f64,
}

/// JSON has no NaN (serde_json writes it as `null`): read `null` back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The outcome of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub dataset: String,
    pub width: usize,
    pub beta: f64,
    pub alpha: f64,
    pub gamma: f64,
    pub batch: usize,
    /// n_T from the schedule.
    pub horizon_steps: u64,
    /// Steps actually run (n_T unless --steps).
    pub steps: u64,
    /// γ_αβ(N), continuous time per step.
    pub time_step: f64,
    /// The step size of the first update.
    pub initial_step_size: f64,
    pub train_examples: usize,
    pub test_examples: usize,
    /// Scores of the last weights.
    pub last: Scores,
    /// Scores of the Polyak average, when averaging was on.
    pub averaged: Option<Scores>,
    pub wall_seconds: f64,
    /// Training steps per second (evaluation time excluded).
    pub steps_per_second: f64,
    pub backend: String,
    pub engine: String,
    /// `sgd` or `diffusion` (absent in summaries written before the diffusion: SGD).
    #[serde(default = "sgd")]
    pub dynamics: String,
    /// The run directory's layout ([`meanfield_io::owned::LAYOUT`]; 2 for a summary written
    /// before it was recorded): from layout 3 a finished run always has a manifest, so one
    /// whose manifest (and marker) went missing is not taken for an older run.
    #[serde(default = "layout_before_manifests")]
    pub layout: u32,
}

fn sgd() -> String {
    "sgd".into()
}

fn layout_before_manifests() -> u32 {
    2
}

/// A divergence: the step whose loss was not finite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The 0-based index of the step.
    pub step: u64,
    pub step_size: f64,
    /// The error message the run stopped with.
    pub error: String,
}

/// What `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    Finished(Box<Summary>),
    Diverged(Divergence),
}

impl Status {
    /// Writes `dir/summary.json` atomically; returns its digest.
    pub fn write(&self, dir: &Path) -> Result<meanfield_io::Digest, TrainError> {
        let text = serde_json::to_string_pretty(self).expect("a status serialises");
        crate::weights::write_file(&dir.join(crate::layout::SUMMARY), text.as_bytes())
    }

    /// Reads `dir/summary.json`; `None` when there is none or it is not a status.
    pub fn read(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(crate::layout::SUMMARY)).ok()?;
        serde_json::from_str(&text).ok()
    }
}
