//! What `experiments runs DIR` says of each run directory: its setting, its status, and every
//! problem found, each file checked as reuse and resume check it ([`crate::run_dir`],
//! [`crate::checkpoint`]).

use crate::identity::{self, Identity};
use crate::layout::CONFIG;
use crate::summary::Status;
use crate::{TrainConfig, TrainError, checkpoint, manifest::Manifest, run_dir};
use std::path::{Path, PathBuf};

/// One run directory as listed.
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
    /// The directory's layout: 3 with a marker and digests, 2 or 1 before.
    pub layout: u32,
    /// Everything found wrong: a file not as written (its manifest's or its checkpoint's), a
    /// config this version cannot read, a name whose hash is not this version's for its setting
    /// (so automatic names never reuse it).
    pub problems: Vec<String>,
}

/// Inspects every run directory directly under `parent` (marked ones, and those of earlier
/// layouts), sorted by name.
pub fn list(parent: &Path) -> Result<Vec<Listing>, TrainError> {
    // A run directory given itself: that run.
    if run_dir::is_run_dir(parent) {
        return Ok(vec![inspect(parent)]);
    }
    let entries = std::fs::read_dir(parent).map_err(|source| TrainError::Read {
        path: parent.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && run_dir::is_run_dir(p))
        .collect();
    dirs.sort();
    Ok(dirs.iter().map(|d| inspect(d)).collect())
}

/// Inspects one run directory (see [`Listing`]).
pub fn inspect(dir: &Path) -> Listing {
    let mut problems = Vec::new();
    let layout = match meanfield_io::owned::read_marker(dir) {
        Some(m) => m.layout,
        None => run_dir::legacy(dir).unwrap_or(0),
    };
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
        let (expected, legacy) = (run_dir::auto_name(&c), identity::legacy_name(&c));
        if automatic && name != expected && name != legacy {
            problems.push(format!(
                "made by another version of the program, or renamed: its name is its setting's under no identity version this program knows (this version names it {expected}), so it is not reused automatically: rename it, or pass it as `out`"
            ));
        }
    }
    let (status, steps) = match Status::read(dir) {
        Some(Status::Finished(s)) => {
            // Every file, as reuse checks them (all of them, not only the first).
            match run_dir::damage(dir) {
                Some(found) if !found.is_empty() => problems.extend(found),
                // Every file as written: what else reuse checks (a file the setting writes
                // missing from the manifest, weights of another shape; before manifests, the
                // files' lengths).
                _ => {
                    if let Err(p) = run_dir::check_whole(dir, config.as_ref().ok(), s.steps) {
                        problems.push(p);
                    }
                }
            }
            ("finished".to_string(), Some(s.steps))
        }
        Some(Status::Diverged(_)) => ("diverged".to_string(), None),
        None => {
            // A summary.json that no longer reads, where the manifest records one, is damage.
            if let Ok(Some(m)) = Manifest::read(dir) {
                problems.extend(Manifest::damage(dir, &m.files));
            }
            // The checkpoint a resume would take, checked as a resume checks it.
            let fallback = std::cell::RefCell::new(Vec::new());
            let identity = config.as_ref().ok().map(|c| Identity::of(c).hash_hex());
            let say = |line: &str| fallback.borrow_mut().push(line.to_string());
            match checkpoint::find(dir, identity.as_deref(), &say) {
                Ok(Some(c)) => {
                    problems.extend(fallback.into_inner());
                    let status = checkpoint::step(&c)
                        .map_or("checkpoint".into(), |s| format!("checkpoint at step {s}"));
                    (status, None)
                }
                Ok(None) => ("unfinished".to_string(), None),
                Err(e) => {
                    problems.push(format!("resuming is refused: {e}"));
                    let status = checkpoint::latest(dir)
                        .and_then(|c| checkpoint::step(&c))
                        .map_or("checkpoint".into(), |s| format!("checkpoint at step {s}"));
                    (status, None)
                }
            }
        }
    };
    Listing {
        dir: dir.to_path_buf(),
        setting,
        status,
        steps,
        version,
        layout,
        problems,
    }
}
