//! What each setting of a run is, declared once beside its field in [`crate::TrainConfig`]
//! (the `settings!` declaration in `config.rs`): its key and default (the field), whether it
//! is written to `config.toml` at its default (the field's serde attribute), and here its flag
//! (help, how a value is read, which runs it applies to), whether it belongs to the run's
//! identity, and its own range. The command line's flags, the help's defaults, the range checks
//! and the identity follow from [`SETTINGS`](crate::config::SETTINGS); nothing else lists
//! settings.

use crate::TrainConfig;
use meanfield_data::DatasetKind;

/// One setting of [`TrainConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The `config.toml` key (its flag is the key with dashes: `train_subset`, `--train-subset`).
    pub key: &'static str,
    /// The flag setting it, if any (a setting without one is set in a config file).
    pub flag: Option<Flag>,
    /// Flags for the keys of a table setting (`arrays`: `--normalize`, `--classes`).
    pub table_flags: &'static [(&'static str, Flag)],
    /// Whether it decides the run's trajectory.
    pub role: Role,
    /// Its own range, checked on every resolved setting: the reason a value is refused (the
    /// caller names the setting). Checks across settings are in [`TrainConfig::validate`].
    pub check: fn(&TrainConfig) -> Result<(), String>,
}

/// Whether a setting is part of the run's identity ([`crate::identity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It changes the trajectory: another value is another run (another directory name).
    Trajectory,
    /// It changes how the run is carried out or where its files live (logging, evaluation and
    /// checkpoint cadence, folders): the same run continues in the same directory.
    Operational,
}

/// A flag: its help and how its text becomes the setting's value.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub help: &'static str,
    pub value: Value,
    /// The default as words, when it is not one value (`log_every`: 1 on a CPU, 100 on a GPU);
    /// otherwise the help shows the value of the setting the command starts from.
    pub default_note: Option<&'static str>,
    /// The only dataset whose runs it applies to (`--normalize`: your own arrays); other
    /// training commands do not offer it.
    pub only_for: Option<DatasetKind>,
}

/// How a flag's text becomes a value of `config.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A whole number ≥ 0.
    Count,
    /// A real number (negative ones allowed, so a range check can name them).
    Real,
    /// Text the setting parses itself (`normal:0.1`, `full`, `affine:0:1`).
    Text,
    /// A file or folder.
    Path,
    /// One of these names.
    Choice(&'static [&'static str]),
}

impl Flag {
    pub const fn new(help: &'static str, value: Value) -> Self {
        Flag {
            help,
            value,
            default_note: None,
            only_for: None,
        }
    }

    /// The same flag with its default said in words.
    pub const fn default_note(self, note: &'static str) -> Self {
        Flag {
            default_note: Some(note),
            ..self
        }
    }

    /// The same flag, for runs on `dataset` only.
    pub const fn only_for(self, dataset: DatasetKind) -> Self {
        Flag {
            only_for: Some(dataset),
            ..self
        }
    }

    /// The TOML value of the flag's text `text`, or why not.
    pub fn parse(&self, text: &str) -> Result<toml::Value, String> {
        match self.value {
            Value::Count => text
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .map(toml::Value::Integer)
                .ok_or_else(|| format!("{text:?} is not a whole number from 0 to 2^63 − 1")),
            Value::Real => text
                .parse::<f64>()
                .map(toml::Value::Float)
                .map_err(|_| format!("{text:?} is not a number")),
            Value::Text | Value::Path | Value::Choice(_) => Ok(toml::Value::String(text.into())),
        }
    }
}

impl Setting {
    /// A setting with no flag, part of the identity, any value: what a declaration starts from.
    pub const BASE: Setting = Setting {
        key: "",
        flag: None,
        table_flags: &[],
        role: Role::Trajectory,
        check: |_| Ok(()),
    };

    /// Every flag of the setting, with its name and its path in the config table (`train_subset`
    /// → ("train-subset", ["train_subset"]); `arrays`' `normalize` → ("normalize", ["arrays",
    /// "normalize"])).
    pub fn flags(&self) -> Vec<(String, Vec<&'static str>, Flag)> {
        let own = self
            .flag
            .map(|f| (self.key.replace('_', "-"), vec![self.key], f));
        let table = self
            .table_flags
            .iter()
            .map(|(key, f)| (key.replace('_', "-"), vec![self.key, *key], *f));
        own.into_iter().chain(table).collect()
    }
}

/// `Ok` when `v ≥ 1`.
pub fn at_least_one(v: impl Into<u64>) -> Result<(), String> {
    if v.into() >= 1 {
        Ok(())
    } else {
        Err("must be ≥ 1".into())
    }
}

/// `Ok` when `x` is finite and ≥ 0.
pub fn finite_non_negative(x: f64) -> Result<(), String> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(format!("{x} must be finite and ≥ 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SETTINGS;

    /// Every field of the config is declared once, and every key a flag sets exists in the
    /// config's table (so a flag can never name a key the config does not have).
    #[test]
    fn every_field_is_declared_and_every_flag_lands_on_a_key() {
        let table = toml::Table::try_from(TrainConfig {
            steps: Some(1),
            init_seed: Some(1),
            data_seed: Some(1),
            average_from: Some(1),
            train_subset: Some(1),
            test_subset: Some(1),
            out: Some("x".into()),
            init_from: Some("x".into()),
            snapshots: Some(1),
            snapshot_rows: Some(1),
            max_buffer_bytes: Some(1 << 20),
            ..TrainConfig::default()
        })
        .unwrap();
        let keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        for key in table.keys() {
            assert!(keys.contains(&key.as_str()), "{key} is not declared");
        }
        for s in SETTINGS {
            for (name, path, flag) in s.flags() {
                assert!(!flag.help.is_empty(), "{name}");
                if path.len() == 1 {
                    assert!(
                        table.contains_key(path[0])
                            || s.key == "dynamics"
                            || s.key.ends_with("_set"),
                        "{name}"
                    );
                }
            }
        }
    }

    /// Every name a choice flag offers (the enum's strum names) is a value config.toml takes
    /// (its serde names), so `--help`'s lists are exactly what a setting accepts.
    #[test]
    fn choice_names_are_the_config_values() {
        for s in SETTINGS {
            for (name, path, flag) in s.flags() {
                if let Value::Choice(names) = flag.value {
                    assert!(!names.is_empty(), "{name}");
                    for n in names {
                        let mut t = toml::Table::new();
                        t.insert(path[0].into(), toml::Value::String(n.to_string()));
                        // Read as config.toml is read (ranges aside).
                        toml::from_str::<TrainConfig>(&toml::to_string(&t).unwrap())
                            .unwrap_or_else(|e| panic!("--{name} {n}: {e}"));
                    }
                }
            }
        }
    }

    #[test]
    fn flag_text_becomes_typed_values() {
        let count = Flag::new("", Value::Count);
        assert_eq!(count.parse("12"), Ok(toml::Value::Integer(12)));
        assert!(
            count
                .parse("-1")
                .unwrap_err()
                .contains("from 0 to 2^63 − 1")
        );
        // Beyond TOML's integers (the settings file's), the same reason.
        assert!(
            count
                .parse("9223372036854775808")
                .unwrap_err()
                .contains("2^63 − 1")
        );
        assert!(count.parse("1.5").is_err());
        let real = Flag::new("", Value::Real);
        assert_eq!(real.parse("-0.5"), Ok(toml::Value::Float(-0.5)));
        assert_eq!(real.parse("2"), Ok(toml::Value::Float(2.0)));
        assert!(real.parse("x").is_err());
    }
}
