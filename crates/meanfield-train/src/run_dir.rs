//! The run directory: `config.toml`, `metrics.csv`, `summary.json`, and the weights.
//!
//! Without `--out`, a run goes to `runs/<dataset>-N<width>-beta<β>-seed<seed>-<hash>`, where the
//! hash is of the run's [`Identity`] (the settings that decide its trajectory): the same setting
//! always maps to the same directory, so a finished run can be found and reused, and a run
//! whose logging or checkpoint cadence changed continues in place.

use crate::identity::{self, IDENTITY_VERSION, Identity};
use crate::summary::{Status, Summary};
use crate::{TrainConfig, TrainError};
use std::path::{Path, PathBuf};

pub const CONFIG: &str = "config.toml";
pub const METRICS: &str = "metrics.csv";
pub const SUMMARY: &str = crate::summary::FILE;

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

/// The summary of a finished run in `dir`, if there is one.
pub fn finished(dir: &Path) -> Option<Summary> {
    match Status::read(dir)? {
        Status::Finished(summary) => Some(*summary),
        Status::Diverged(_) => None,
    }
}

/// Whether the finished run in `dir` can stand for `config`:
/// - `Ok(Some(summary))`: the same [`Identity`] (operational settings aside) and its result
///   files whole: reuse it;
/// - `Ok(None)`: no finished run there, or its weights are missing or cut short (`say` is told
///   which file): train it (again);
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
    let Some(summary) = finished(dir) else {
        return Ok(None);
    };
    let differences = compare(dir, config)?;
    if !differences.is_empty() {
        return Err(TrainError::ForeignRun {
            dir: dir.to_path_buf(),
            differences: differences.join("; "),
        });
    }
    if let Some(recorded) = crate::inputs::recorded(dir) {
        crate::inputs::check(dir, &recorded, &crate::inputs::fingerprint(config)?)?;
    }
    if let Err(problem) = check_whole(dir, Some(config), summary.steps) {
        say(&format!(
            "{} was marked finished but {problem}: training it again",
            dir.display()
        ));
        return Ok(None);
    }
    Ok(Some(summary))
}

/// The first result file of the finished run in `dir` (`steps` steps) that is missing or cut
/// short: its weights, and the snapshots its setting plans (studies read them) when the
/// setting is known.
pub fn check_whole(dir: &Path, config: Option<&TrainConfig>, steps: u64) -> Result<(), String> {
    [crate::weights::HIDDEN, crate::weights::READOUT]
        .into_iter()
        .try_for_each(|name| crate::weights::check_whole(&dir.join(name)))?;
    match config {
        Some(c) => crate::snapshot::check_whole(dir, c, steps),
        None => Ok(()),
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

/// Files a run directory may hold before a run starts in it ([`guard_out`]).
const RUN_FILES: [&str; 7] = [
    CONFIG,
    METRICS,
    SUMMARY,
    identity::FILE,
    ".lock",
    "checkpoint",
    "snapshots",
];

/// Refuses to start a run in `dir` when it exists, is not empty, and holds none of a run's
/// files (an `--out` pointing at a folder of the user's own).
pub fn guard_out(dir: &Path) -> Result<(), TrainError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() || names.iter().any(|n| RUN_FILES.contains(&n.as_str())) {
        return Ok(());
    }
    let mut sorted = names;
    sorted.sort();
    Err(TrainError::NotARunDirectory {
        dir: dir.to_path_buf(),
        first: match sorted.len() {
            1 => sorted[0].clone(),
            n => format!("{} and {} more", sorted[0], n - 1),
        },
    })
}

/// Creates the directory (and parents), with an error that says what to do.
pub fn create(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// What `experiments runs DIR` says of one run directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing {
    pub dir: PathBuf,
    /// "mnist N=1000 β=0.75 γ=1 M=100 seed=0", or what could be read of it.
    pub setting: String,
    /// `finished`, `diverged`, `checkpoint at step S`, or `unfinished` (no checkpoint).
    pub status: String,
    /// Steps of a finished run.
    pub steps: Option<u64>,
    /// The identity version it was made under (1: before `identity.json`).
    pub version: Option<u32>,
    /// Everything found wrong: damaged weights, a config this version cannot read, a name
    /// whose hash is not this version's for its setting (so automatic names never reuse it).
    pub problems: Vec<String>,
}

/// Inspects every run directory directly under `parent` (folders holding a `config.toml`),
/// sorted by name.
pub fn list(parent: &Path) -> Result<Vec<Listing>, TrainError> {
    let entries = std::fs::read_dir(parent).map_err(|source| TrainError::Read {
        path: parent.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(CONFIG).is_file())
        .collect();
    dirs.sort();
    Ok(dirs.iter().map(|d| inspect(d)).collect())
}

/// Inspects one run directory (see [`Listing`]).
pub fn inspect(dir: &Path) -> Listing {
    let mut problems = Vec::new();
    let text = std::fs::read_to_string(dir.join(CONFIG)).unwrap_or_default();
    let config = text
        .parse::<toml::Table>()
        .map_err(|e| e.to_string())
        .and_then(|t| TrainConfig::resolve(vec![(CONFIG.into(), t)]).map_err(|e| e.to_string()));
    let setting = match &config {
        Ok(c) => format!(
            "{} N={} β={} γ={} M={} seed={}",
            c.dataset, c.width, c.beta, c.gamma, c.batch, c.seed
        ),
        Err(e) => {
            problems.push(format!(
                "config.toml does not resolve with this version: {e}"
            ));
            "?".into()
        }
    };
    let identity = Identity::read(dir);
    if let Some(Err(e)) = identity.as_ref().map(|id| id.check_version(dir)) {
        problems.push(e.to_string());
    }
    let version = identity.map(|id| id.version);
    if let (Ok(c), Some(name)) = (&config, dir.file_name().and_then(|n| n.to_str())) {
        let c = TrainConfig {
            out: None,
            ..c.clone()
        };
        // Only automatic names carry a hash (an --out directory is named by its user).
        let automatic = name
            .rsplit_once('-')
            .is_some_and(|(_, h)| h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
            && name.starts_with(&format!("{}-N", c.dataset));
        let (expected, legacy) = (auto_name(&c), identity::legacy_name(&c));
        if automatic && name != expected && name != legacy {
            problems.push(format!(
                "made by another version of the program, or renamed: its name is its setting's under no identity version this program knows (this version names it {expected}), so it is not reused automatically: rename it, or pass it as `out`"
            ));
        }
    }
    let (status, steps) = match Status::read(dir) {
        Some(Status::Finished(s)) => {
            // The same check as reuse (snapshots too when the setting could be read).
            if let Err(p) = check_whole(dir, config.as_ref().ok(), s.steps) {
                problems.push(p);
            }
            ("finished".to_string(), Some(s.steps))
        }
        Some(Status::Diverged(_)) => ("diverged".to_string(), None),
        None => match crate::checkpoint::latest(dir) {
            Some(c) => {
                let step = std::fs::read_to_string(c.join("state.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v["step"].as_u64());
                (
                    step.map_or("checkpoint".into(), |s| format!("checkpoint at step {s}")),
                    None,
                )
            }
            None => ("unfinished".to_string(), None),
        },
    };
    Listing {
        dir: dir.to_path_buf(),
        setting,
        status,
        steps,
        version,
        problems,
    }
}
