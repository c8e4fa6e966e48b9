//! The run directory: `config.toml`, `metrics.csv`, `summary.json`, and the weights.
//!
//! Without `--out`, a run goes to `runs/<dataset>-N<width>-beta<β>-seed<seed>-<hash>`, where the
//! hash is of the resolved config (minus where files live): the same setting always maps to
//! the same directory, so a finished run can be found and reused.

use crate::summary::{Status, Summary};
use crate::{TrainConfig, TrainError};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const CONFIG: &str = "config.toml";
pub const METRICS: &str = "metrics.csv";
pub const SUMMARY: &str = "summary.json";

/// How initial particles are drawn (docs/paper.md; `MeanFieldNetConfig::sample_particles`),
/// part of the run-directory hash.
const INIT_STREAMS: &str =
    "\n# initial particles: ChaCha8 stream k of the initial-weight seed for particle k\n";

/// The directory a config's run writes to.
pub fn run_dir(config: &TrainConfig) -> PathBuf {
    match &config.out {
        Some(out) => out.clone(),
        None => config.runs_dir.join(auto_name(config)),
    }
}

/// `<dataset>-N<width>-beta<β>-seed<seed>-<first 8 hex digits of the setting's hash>`.
pub fn auto_name(config: &TrainConfig) -> String {
    let identity = TrainConfig {
        out: None,
        runs_dir: PathBuf::new(),
        data_dir: PathBuf::new(),
        ..config.clone()
    };
    // The hash also names how initial particles are drawn, so a run made before the
    // per-particle streams (same settings, other initial weights) is never reused as this one.
    let hash = Sha256::digest(format!("{}{INIT_STREAMS}", identity.to_toml()).as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-N{}-beta{}-seed{}-{hex}",
        config.dataset, config.width, config.beta, config.seed
    )
}

/// The summary of a finished run in `dir`, if there is one.
pub fn finished(dir: &Path) -> Option<Summary> {
    match Status::read(dir)? {
        Status::Finished(summary) => Some(*summary),
        Status::Diverged(_) => None,
    }
}

/// Creates the directory (and parents), with an error that says what to do.
pub fn create(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })
}
