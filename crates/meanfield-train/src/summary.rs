//! `summary.json`: the outcome of a finished run.

use serde::{Deserialize, Serialize};

/// Loss and accuracy on the train and test sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// "finished" (the only status a run writes here for now).
    pub status: String,
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
}
