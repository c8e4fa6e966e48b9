//! The training settings as flags, built from their one declaration
//! ([`meanfield_train::config::SETTINGS`]): which a command offers, which it refuses (it sets
//! them itself) and why, their help with the default of the setting the command starts from,
//! and the table of `config.toml` keys the given ones make.

use anyhow::{Result, bail};
use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches};
use meanfield_train::config::SETTINGS;
use meanfield_train::data::DatasetKind;
use meanfield_train::setting::{Flag, Value};

/// Which settings a command takes as flags.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The command's name (messages).
    pub command: &'static str,
    /// The dataset whose own flags it offers (`arrays`: `--normalize`, `--classes`); `None`:
    /// every dataset's, checked against the setting's dataset once resolved (`run`, grids).
    pub dataset: Option<DatasetKind>,
    /// Settings it sets itself, refused as flags: (key, why).
    pub refused: Vec<(&'static str, String)>,
    /// Settings whose flag name the command uses for a flag of its own (a grid's `--out` is
    /// its results folder): neither offered nor refused.
    pub own: &'static [&'static str],
}

/// The id of a setting flag's argument (kept apart from the command's own flags).
fn id(name: &str) -> String {
    format!("setting.{name}")
}

/// Every flag of every setting: (flag name, path in the config table, flag).
pub fn all() -> Vec<(String, Vec<&'static str>, Flag)> {
    SETTINGS.iter().flat_map(|s| s.flags()).collect()
}

impl Scope {
    /// Whether the command offers the flag `name` (of the setting at `path`).
    fn offers(&self, path: &[&str], flag: &Flag) -> bool {
        let key = path[0];
        if self.own.contains(&key) || self.refused.iter().any(|(k, _)| *k == key) {
            return false;
        }
        match (flag.only_for, self.dataset) {
            (Some(only), Some(mine)) => only == mine,
            _ => true,
        }
    }

    /// The setting flags the command offers. The ones it refuses are not flags of the command
    /// at all (so clap never suggests one); [`Self::refusal`] names them with why.
    pub fn args(&self) -> Vec<Arg> {
        let mut args = Vec::new();
        for (name, path, flag) in all() {
            if !self.offers(&path, &flag) {
                continue;
            }
            let mut arg = Arg::new(id(&name))
                .long(name.clone())
                .action(ArgAction::Set)
                .value_name(value_name(&flag))
                .help(flag.help.to_string())
                .allow_negative_numbers(flag.value == Value::Real);
            arg = match flag.value {
                Value::Choice(names) => arg.value_parser(PossibleValuesParser::new(names)),
                _ => {
                    let f = flag;
                    arg.value_parser(move |s: &str| f.parse(s).map(|_| s.to_string()))
                }
            };
            args.push(arg);
        }
        args
    }

    /// Why the command refuses the flag `--name` (a setting it sets itself), if it does.
    pub fn refusal(&self, name: &str) -> Option<String> {
        let (_, path, _) = all().into_iter().find(|(n, _, _)| n == name)?;
        if self.own.contains(&path[0]) {
            return None;
        }
        self.refused
            .iter()
            .find(|(k, _)| *k == path[0])
            .map(|(_, why)| format!("--{name}: {why}"))
    }

    /// The `config.toml` table of the setting flags given. `--seed` sets `--init-seed` and
    /// `--data-seed`: given with both (or with one and the other set by the grid), it would
    /// change nothing, and is refused.
    pub fn table(&self, m: &ArgMatches) -> Result<toml::Table> {
        let mut table = toml::Table::new();
        for (name, path, flag) in all() {
            let Ok(Some(text)) = m.try_get_one::<String>(&id(&name)) else {
                continue;
            };
            let value = flag
                .parse(text)
                .map_err(|e| anyhow::anyhow!("--{name}: {e}"))?;
            insert(&mut table, &path, value);
        }
        if table.contains_key("seed") {
            let set =
                |key: &str| table.contains_key(key) || self.refused.iter().any(|(k, _)| *k == key);
            if set("init_seed") && set("data_seed") {
                bail!(
                    "--seed sets the initial particles' seed and the data seed, and both are set here (by --init-seed, --data-seed or the {} itself): leave --seed out",
                    if self.refused.is_empty() {
                        "command"
                    } else {
                        self.command
                    }
                );
            }
        }
        Ok(table)
    }

    /// Refuses a dataset's own flag given for a setting of another dataset (`--normalize`
    /// without your own arrays), which would change nothing.
    pub fn check_dataset(&self, given: &toml::Table, dataset: DatasetKind) -> Result<()> {
        Ok(meanfield_train::config::check_dataset_settings(
            given, dataset,
        )?)
    }
}

pub use meanfield_train::config::table_get as get;

fn insert(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    let (last, parents) = path.split_last().expect("a path has a key");
    let mut t = table;
    for p in parents {
        t = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table setting holds a table");
    }
    t.insert(last.to_string(), value);
}

fn value_name(flag: &Flag) -> &'static str {
    match flag.value {
        Value::Count => "N",
        Value::Real => "X",
        Value::Text => "SPEC",
        Value::Path => "PATH",
        Value::Choice(_) => "NAME",
    }
}

/// Appends each offered setting flag's default to its help: `[<source>: <value>]`, the value in
/// `defaults` (the resolved setting the command starts from), or the flag's own words when its
/// default is not one value. `extra` gives a command's own defaults for a key.
pub fn with_defaults(
    sub: clap::Command,
    source: &str,
    defaults: &toml::Table,
    extra: &[(&'static str, String)],
) -> clap::Command {
    let mut sub = sub;
    for (name, path, flag) in all() {
        let arg_id = id(&name);
        if !sub
            .get_arguments()
            .any(|a| a.get_id() == arg_id.as_str() && !a.is_hide_set())
        {
            continue;
        }
        let shown = if let Some((_, v)) = extra.iter().find(|(k, _)| *k == path[0]) {
            format!("[default: {v}]")
        } else if let Some(note) = flag.default_note {
            format!("[default: {note}]")
        } else {
            match get(defaults, &path) {
                Some(v) => format!("[{source}: {}]", show(v)),
                None => continue,
            }
        };
        sub = sub.mut_arg(arg_id, |a| {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            a.help(format!("{help} {shown}"))
        });
    }
    sub
}

/// A default as the flag takes it: 1 and 10000, not 1.0 and 10000.0.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}
