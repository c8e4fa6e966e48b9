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

/// Settings that change how a run is carried out or where its files live, not its trajectory:
/// a finished run is reused whatever their values.
pub const OPERATIONAL: [&str; 6] = [
    "out",
    "runs_dir",
    "data_dir",
    "log_every",
    "eval_every",
    "checkpoint_every",
];

/// Whether the finished run in `dir` can stand for `config`:
/// - `Ok(Some(summary))`: the same setting (every key but the [`OPERATIONAL`] ones) and its
///   weight files whole: reuse it;
/// - `Ok(None)`: no finished run there, or its weights are missing or cut short (`say` is told
///   which file): train it (again);
/// - `Err(ForeignRun)`: a finished run of another setting (only possible with `--out`), with
///   each key that differs and both values;
/// - `Err(InputsChanged)`: the files it read (data, `--init-from` weights) have other contents
///   now ([`crate::inputs`]).
pub fn reusable(
    dir: &Path,
    config: &TrainConfig,
    say: &dyn Fn(&str),
) -> Result<Option<Summary>, TrainError> {
    let Some(summary) = finished(dir) else {
        return Ok(None);
    };
    let theirs = std::fs::read_to_string(dir.join(CONFIG)).unwrap_or_default();
    let differences = differences(&theirs, &config.to_toml());
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

/// The keys whose values differ between two config.toml texts, operational keys aside:
/// "width: 200 in the run, 300 asked".
pub fn differences(run: &str, asked: &str) -> Vec<String> {
    let parse = |text: &str| -> toml::Table { text.parse().unwrap_or_default() };
    let (run, asked) = (parse(run), parse(asked));
    let mut keys: Vec<&String> = run.keys().chain(asked.keys()).collect();
    keys.sort();
    keys.dedup();
    let show = |v: Option<&toml::Value>| v.map_or("unset".to_string(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| !OPERATIONAL.contains(&k.as_str()))
        .filter(|k| run.get(*k) != asked.get(*k))
        .map(|k| {
            format!(
                "{k}: {} in the run, {} asked",
                show(run.get(k)),
                show(asked.get(k))
            )
        })
        .collect()
}

/// Files a run directory may hold before a run starts in it ([`guard_out`]).
const RUN_FILES: [&str; 6] = [CONFIG, METRICS, SUMMARY, ".lock", "checkpoint", "snapshots"];

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
    if let (Ok(c), Some(name)) = (&config, dir.file_name().and_then(|n| n.to_str())) {
        let expected = auto_name(&TrainConfig {
            out: None,
            ..c.clone()
        });
        // Only automatic names carry a hash (an --out directory is named by its user).
        let automatic = name
            .rsplit_once('-')
            .is_some_and(|(_, h)| h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
            && name.starts_with(&format!("{}-N", c.dataset));
        if automatic && name != expected {
            problems.push(format!(
                "made by another version of the program: this version names this setting {expected}, so it is not reused automatically (rename it, or pass it as --out)"
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
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mnist(width: usize, beta: f64) -> TrainConfig {
        let mut c = TrainConfig::resolve(vec![(
            "mnist".into(),
            TrainConfig::preset("mnist").unwrap(),
        )])
        .unwrap();
        c.width = width;
        c.beta = beta;
        c
    }

    /// Pinned names: a new config field serialised by default, a changed default or a changed
    /// hash input renames every existing run directory (and orphans it). This test fails first;
    /// change the pins only on purpose, and say so in the change (docs/development.md).
    /// Values: the README's first command's run (`runs/mnist-N1000-beta0.75-seed0-ecb476cb`,
    /// measured 2026-11-30) and Figure 1's β = 1, N = 500 panel (`figures/runs/…-16f01770`,
    /// written by `experiments figure1 --betas 1` on 2026-12-01).
    #[test]
    fn automatic_names_are_pinned() {
        assert_eq!(
            auto_name(&mnist(1000, 0.75)),
            "mnist-N1000-beta0.75-seed0-ecb476cb"
        );
        assert_eq!(
            auto_name(&mnist(500, 1.0)),
            "mnist-N500-beta1-seed0-16f01770"
        );
    }

    /// Operational keys are not differences; every other key is, with both values.
    #[test]
    fn differences_name_the_key_and_both_values() {
        let a = mnist(1000, 0.75);
        let b = TrainConfig {
            checkpoint_every: 25,
            log_every: 7,
            data_dir: "elsewhere".into(),
            ..a.clone()
        };
        assert!(differences(&a.to_toml(), &b.to_toml()).is_empty());
        let c = TrainConfig {
            width: 300,
            ..a.clone()
        };
        assert_eq!(
            differences(&a.to_toml(), &c.to_toml()),
            vec!["width: 1000 in the run, 300 asked".to_string()]
        );
    }
}
