//! A run's identity: what decides its trajectory, as a value of its own.
//!
//! An [`Identity`] holds the resolved settings minus the [`OPERATIONAL`] ones (logging,
//! evaluation and checkpoint cadence, where files live) and the schema version
//! [`IDENTITY_VERSION`]. Together with the fingerprint of the files a run read
//! ([`crate::inputs`], checked separately because hashing data is not free) it is what reuse and
//! resume compare, and its hash names an automatic run directory. So changing an operational
//! setting continues the same run in the same directory; changing anything else is another run.
//!
//! Backend and engine are part of the identity: they change the floats (Flex and ndarray
//! agree to about 1e-6, not bit for bit), and a result should be reproducible from its
//! directory's setting exactly.
//!
//! Versions. 1: the name hashed the whole config.toml (operational keys included); there was no
//! `identity.json`. 2: operational keys left the hash, `identity.json` records the version.
//! Bump [`IDENTITY_VERSION`] only on purpose, when the same settings would now give another
//! trajectory (a new random stream, a changed default that config.toml does not spell out) and
//! raise [`OLDEST_REUSABLE`] with it; docs/development.md says when. Directories made under
//! version 1 are found under their old names ([`legacy_name`]) and reused in place.

use crate::{TrainConfig, TrainError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The identity schema this program writes.
pub const IDENTITY_VERSION: u32 = 2;
/// The oldest identity version whose runs this program reuses and resumes: versions 1 and 2
/// differ in naming only.
pub const OLDEST_REUSABLE: u32 = 1;

/// Settings that change how a run is carried out or where its files live, not its trajectory
/// (declared so beside their fields: [`crate::setting::Role::Operational`]).
pub fn operational() -> impl Iterator<Item = &'static str> {
    crate::config::SETTINGS
        .iter()
        .filter(|s| s.role == crate::setting::Role::Operational)
        .map(|s| s.key)
}

/// How initial particles are drawn (docs/paper.md; `MeanFieldNetConfig::sample_particles`),
/// part of every hash since the per-particle streams.
const INIT_STREAMS: &str =
    "\n# initial particles: ChaCha8 stream k of the initial-weight seed for particle k\n";

/// The settings that decide a run's trajectory, and the schema they were recorded under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub version: u32,
    pub settings: toml::Table,
}

impl Identity {
    /// The identity of `config` under this program's version.
    pub fn of(config: &TrainConfig) -> Self {
        Self {
            version: IDENTITY_VERSION,
            settings: settings(&config.to_toml()),
        }
    }

    /// The first 8 hex digits of the identity's SHA-256 (the automatic directory name's tail).
    pub fn hash_hex(&self) -> String {
        let text = toml::to_string(&self.settings).expect("a table serialises");
        hex8(&format!(
            "meanfield run identity v{}\n{text}{INIT_STREAMS}",
            self.version
        ))
    }

    /// The identity recorded in `dir`: its `identity.json`, else (a run of version 1) the
    /// settings of its config.toml; `None` when neither can be read.
    pub fn read(dir: &Path) -> Option<Self> {
        if let Ok(text) = std::fs::read_to_string(dir.join(crate::layout::IDENTITY)) {
            return serde_json::from_str(&text).ok();
        }
        let config = std::fs::read_to_string(dir.join(crate::layout::CONFIG)).ok()?;
        Some(Self {
            version: 1,
            settings: settings(&config),
        })
    }

    /// Writes `identity.json` into `dir`; returns its digest.
    pub fn write(&self, dir: &Path) -> Result<meanfield_io::Digest, TrainError> {
        let text = serde_json::to_string_pretty(self).expect("an identity serialises");
        crate::weights::write_file(&dir.join(crate::layout::IDENTITY), text.as_bytes())
    }

    /// Whether this program may reuse or resume a run recorded under this identity's version,
    /// and why not.
    pub fn check_version(&self, dir: &Path) -> Result<(), TrainError> {
        if (OLDEST_REUSABLE..=IDENTITY_VERSION).contains(&self.version) {
            return Ok(());
        }
        Err(TrainError::IdentityVersion {
            dir: dir.to_path_buf(),
            version: self.version,
            why: if self.version > IDENTITY_VERSION {
                format!(
                    "this program knows versions up to {IDENTITY_VERSION}: run it with the newer program that made it, or train again here with `force`"
                )
            } else {
                format!(
                    "the same settings give another trajectory since version {OLDEST_REUSABLE}: train again with `force` (or keep it and give this run another `out`)"
                )
            },
        })
    }

    /// The settings that differ from `asked`'s: "width: 200 in the run, 300 asked".
    pub fn differences(&self, asked: &Identity) -> Vec<String> {
        let (run, asked) = (&self.settings, &asked.settings);
        let mut keys: Vec<&String> = run.keys().chain(asked.keys()).collect();
        keys.sort();
        keys.dedup();
        let show = |v: Option<&toml::Value>| v.map_or("unset".to_string(), |v| v.to_string());
        keys.into_iter()
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
}

/// A config.toml text's table without the operational keys.
fn settings(config_toml: &str) -> toml::Table {
    let mut table: toml::Table = config_toml.parse().unwrap_or_default();
    for key in operational() {
        table.remove(key);
    }
    table
}

fn hex8(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<dataset>-N<width>-beta<β>-seed<seed>-<hash>` with `hash` as given.
fn named(config: &TrainConfig, hash: &str) -> String {
    format!(
        "{}-N{}-beta{}-seed{}-{hash}",
        config.dataset, config.width, config.beta, config.seed
    )
}

/// The automatic directory name of `config`: its identity's hash.
pub fn auto_name(config: &TrainConfig) -> String {
    named(config, &Identity::of(config).hash_hex())
}

/// The name version 1 gave the same config (the whole config.toml hashed, where files live
/// aside), so runs made then are still found.
pub fn legacy_name(config: &TrainConfig) -> String {
    let located = TrainConfig {
        out: None,
        runs_dir: PathBuf::new(),
        data_dir: PathBuf::new(),
        ..config.clone()
    };
    named(
        config,
        &hex8(&format!("{}{INIT_STREAMS}", located.to_toml())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mnist(width: usize, beta: f64) -> TrainConfig {
        let mut c = TrainConfig::from_preset("mnist").unwrap();
        c.width = width;
        c.beta = beta;
        c
    }

    /// Pinned identities: a new config field serialised by default, a changed default or a
    /// changed hash input renames every run directory made from now on. This test fails first;
    /// change the pins only on purpose, with [`IDENTITY_VERSION`] when trajectories change
    /// (docs/development.md). Version-1 names, pinned too: the README's first command's run
    /// (`runs/mnist-N1000-beta0.75-seed0-ecb476cb`, measured 2026-11-30) and Figure 1's β = 1,
    /// N = 500 panel (`figures/runs/…-16f01770`, written on 2026-12-01). Version-2 names: as
    /// computed when version 2 was introduced (2026-12-02).
    #[test]
    fn identities_and_names_are_pinned() {
        assert_eq!(
            legacy_name(&mnist(1000, 0.75)),
            "mnist-N1000-beta0.75-seed0-ecb476cb"
        );
        assert_eq!(
            legacy_name(&mnist(500, 1.0)),
            "mnist-N500-beta1-seed0-16f01770"
        );
        assert_eq!(
            auto_name(&mnist(1000, 0.75)),
            "mnist-N1000-beta0.75-seed0-3bcc381d"
        );
        assert_eq!(
            auto_name(&mnist(500, 1.0)),
            "mnist-N500-beta1-seed0-872338a2"
        );
    }

    /// Operational settings are not part of the identity (nor of the name); every other
    /// setting is, named with both values.
    #[test]
    fn operational_settings_leave_the_identity() {
        let a = mnist(1000, 0.75);
        let b = TrainConfig {
            checkpoint_every: 25,
            log_every: 7,
            eval_every: 3,
            data_dir: "elsewhere".into(),
            runs_dir: "other-runs".into(),
            ..a.clone()
        };
        assert_eq!(Identity::of(&a), Identity::of(&b));
        assert_eq!(auto_name(&a), auto_name(&b));
        assert_ne!(legacy_name(&a), legacy_name(&b), "version 1 hashed them");
        let c = TrainConfig {
            width: 300,
            ..a.clone()
        };
        assert_eq!(
            Identity::of(&a).differences(&Identity::of(&c)),
            vec!["width: 1000 in the run, 300 asked".to_string()]
        );
    }

    #[test]
    fn versions_outside_the_reusable_range_are_refused_with_the_way_out() {
        let dir = Path::new("runs/x");
        let mut id = Identity::of(&mnist(10, 1.0));
        id.check_version(dir).unwrap();
        id.version = 1;
        id.check_version(dir).unwrap();
        id.version = IDENTITY_VERSION + 1;
        let e = id.check_version(dir).unwrap_err().to_string();
        assert!(e.contains("newer program") && e.contains("runs/x"), "{e}");
    }
}
