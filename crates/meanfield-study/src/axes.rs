//! The grid axes: each setting a grid command varies over a list of values, declared once, as
//! one row of [`SPECS`]: its list flag and preset key (`widths`), the setting it varies in each
//! run (`width`), how its values read, and its help. Studies and figures name the axes they vary
//! ([`crate::chaos::ChaosStudy::AXES`], [`crate::figures::Figure::axes`]); the command line
//! builds each axis's flag from here, and [`refused_settings`] says what a grid refuses because
//! it sets it itself (`width` beside `widths`, named with the list), for flags and `--config`
//! files alike. The values given arrive as a [`Grid`].

use crate::StudyError;
use std::collections::BTreeMap;

/// A setting a grid varies over a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Axis {
    /// N, the widths.
    Widths,
    /// β, the step-size exponents.
    Betas,
    /// γ, the base steps.
    Gammas,
    /// M, the batch sizes.
    Batches,
    /// The seeds (each run's `seed`: its initial particles and its batches).
    Seeds,
    /// The data seeds (each run's `data_seed`: its batches and noise; the initial particles
    /// shared).
    DataSeeds,
}

/// How an axis's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// Whole numbers ≥ 1 (widths, batch sizes).
    Sizes,
    /// Whole numbers ≥ 0 (seeds).
    Seeds,
    /// Finite real numbers (β, γ).
    Reals,
}

/// One value of an axis, exactly as given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AxisValue {
    Whole(u64),
    Real(f64),
}

impl AxisValue {
    /// As a real number (β, γ; a whole value converts).
    pub fn real(self) -> f64 {
        match self {
            AxisValue::Whole(v) => v as f64,
            AxisValue::Real(v) => v,
        }
    }

    /// As a whole number (sizes, seeds); `None` for a real value.
    pub fn whole(self) -> Option<u64> {
        match self {
            AxisValue::Whole(v) => Some(v),
            AxisValue::Real(_) => None,
        }
    }

    fn toml(self) -> toml::Value {
        match self {
            AxisValue::Whole(v) => toml::Value::Integer(v as i64),
            AxisValue::Real(v) => toml::Value::Float(v),
        }
    }
}

/// An axis's declaration: one row of [`SPECS`].
#[derive(Debug)]
pub struct Spec {
    pub axis: Axis,
    /// The list's flag and preset key: `widths` (`--widths`).
    pub key: &'static str,
    /// The run setting it varies: `width`.
    pub setting: &'static str,
    pub values: Values,
    /// The flag's help.
    pub help: &'static str,
}

/// Every axis, in the order of [`Axis`].
pub const SPECS: [Spec; 6] = [
    Spec {
        axis: Axis::Widths,
        key: "widths",
        setting: "width",
        values: Values::Sizes,
        help: "Widths N, comma-separated: one run (or more) at each",
    },
    Spec {
        axis: Axis::Betas,
        key: "betas",
        setting: "beta",
        values: Values::Reals,
        help: "Exponents β, comma-separated",
    },
    Spec {
        axis: Axis::Gammas,
        key: "gammas",
        setting: "gamma",
        values: Values::Reals,
        help: "Base steps γ, comma-separated",
    },
    Spec {
        axis: Axis::Batches,
        key: "batches",
        setting: "batch",
        values: Values::Sizes,
        help: "Batch sizes M, comma-separated",
    },
    Spec {
        axis: Axis::Seeds,
        key: "seeds",
        setting: "seed",
        values: Values::Seeds,
        help: "Seeds, comma-separated (each run's initial particles and batches)",
    },
    Spec {
        axis: Axis::DataSeeds,
        key: "data_seeds",
        setting: "data_seed",
        values: Values::Seeds,
        help: "Data seeds, comma-separated (each run's batches and noise; the initial particles are shared)",
    },
];

/// Lists hold the values of the axes through TOML (preset keys) as i64: larger whole values are
/// refused rather than wrapped.
const WHOLE_MAX: u64 = i64::MAX as u64;

impl Axis {
    pub const ALL: [Axis; 6] = [
        Axis::Widths,
        Axis::Betas,
        Axis::Gammas,
        Axis::Batches,
        Axis::Seeds,
        Axis::DataSeeds,
    ];

    /// The axis's declaration.
    pub fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// The list's flag and preset key: `widths` (`--widths`).
    pub fn key(self) -> &'static str {
        self.spec().key
    }

    /// The list's flag: `--widths`, `--data-seeds`.
    pub fn flag(self) -> String {
        format!("--{}", self.key().replace('_', "-"))
    }

    /// The run setting it varies: `width`.
    pub fn setting(self) -> &'static str {
        self.spec().setting
    }

    pub fn values(self) -> Values {
        self.spec().values
    }

    /// The flag's help.
    pub fn help(self) -> &'static str {
        self.spec().help
    }

    /// One value of the list, as text, read (or why not).
    pub fn parse(self, text: &str) -> Result<AxisValue, String> {
        let text = text.trim();
        match self.values() {
            Values::Sizes => text
                .parse::<u64>()
                .ok()
                .filter(|v| (1..=WHOLE_MAX).contains(v))
                .map(AxisValue::Whole)
                .ok_or_else(|| format!("{text:?} is not a whole number from 1 to 2^63 − 1")),
            Values::Seeds => text
                .parse::<u64>()
                .ok()
                .filter(|v| *v <= WHOLE_MAX)
                .map(AxisValue::Whole)
                .ok_or_else(|| format!("{text:?} is not a whole number from 0 to 2^63 − 1")),
            Values::Reals => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(AxisValue::Real)
                .ok_or_else(|| format!("{text:?} is not a finite number")),
        }
    }

    /// A comma-separated list of values, each read by [`Self::parse`]; a value given twice is
    /// refused (its run would be trained once and counted twice).
    pub fn parse_list(self, text: &str) -> Result<Vec<AxisValue>, String> {
        let mut values: Vec<AxisValue> = Vec::new();
        for item in text.split(',') {
            let v = self.parse(item)?;
            if values.contains(&v) {
                return Err(format!(
                    "{} is given twice: each value is one set of runs, give it once",
                    item.trim()
                ));
            }
            values.push(v);
        }
        Ok(values)
    }
}

impl std::fmt::Display for Axis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// The values of the axes a command varies (every value of each is run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    values: BTreeMap<Axis, Vec<AxisValue>>,
}

impl Grid {
    /// Sets `axis`'s values.
    pub fn set(&mut self, axis: Axis, values: Vec<AxisValue>) {
        self.values.insert(axis, values);
    }

    /// Whether `axis` was given.
    pub fn has(&self, axis: Axis) -> bool {
        self.values.contains_key(&axis)
    }

    /// The axes given.
    pub fn axes(&self) -> impl Iterator<Item = Axis> + '_ {
        self.values.keys().copied()
    }

    /// `axis`'s values as reals (β, γ); `None` when not given.
    pub fn reals(&self, axis: Axis) -> Option<Vec<f64>> {
        self.values
            .get(&axis)
            .map(|v| v.iter().map(|x| x.real()).collect())
    }

    /// `axis`'s values as sizes or seeds; `None` when not given (or not whole).
    pub fn whole(&self, axis: Axis) -> Option<Vec<u64>> {
        self.values
            .get(&axis)
            .and_then(|v| v.iter().map(|x| x.whole()).collect())
    }

    /// `axis`'s values as widths or batch sizes; `None` when not given.
    pub fn sizes(&self, axis: Axis) -> Option<Vec<usize>> {
        self.whole(axis)
            .map(|v| v.into_iter().map(|x| x as usize).collect())
    }

    /// The preset's table of the axes given (`widths = [250, 500]`), to merge over a preset.
    pub fn table(&self) -> toml::Table {
        self.values
            .iter()
            .map(|(axis, values)| {
                let list = values.iter().map(|v| v.toml()).collect();
                (axis.key().to_string(), toml::Value::Array(list))
            })
            .collect()
    }

    /// Refuses an axis given that `uses` does not vary (it would be ignored).
    pub fn only(&self, command: &str, uses: &[Axis]) -> Result<(), StudyError> {
        match self.values.keys().find(|a| !uses.contains(a)) {
            Some(a) => Err(not_varied(command, *a, uses)),
            None => Ok(()),
        }
    }
}

/// The error for an axis `command` does not vary.
pub fn not_varied(command: &str, axis: Axis, uses: &[Axis]) -> StudyError {
    StudyError::Invalid(format!(
        "{command} does not vary `{axis}`: it varies {}",
        uses.iter()
            .map(|u| format!("`{u}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// What a grid command sets in every run itself, so that a setting of the same name, as a flag
/// or in a `--config` file, would be overwritten: refused, with why. The one list for every
/// study and figure:
/// - the setting each axis varies (`width` for `widths`), naming the list; with `seeds`, also
///   `init_seed` and `data_seed`, which each run's seed sets;
/// - `sets`: what the command fixes for its own reasons (`(key, why)`);
/// - `runs_dir` when its runs live under its results folder (`runs_inside`);
/// - `init_from` when its runs differ in width (an axis of widths, or limit runs of their own
///   width, `references`): the files hold one width;
/// - `out`: each run's folder is named by its setting (a grid's `--out` is its results folder).
pub fn refused_settings(
    command: &str,
    axes: &[Axis],
    sets: &[(&'static str, &'static str)],
    runs_inside: bool,
    references: bool,
) -> Vec<(&'static str, String)> {
    let mut refused = Vec::new();
    for a in axes {
        let why = format!(
            "{command} gives each run its own {}: give the list `{}` (comma-separated)",
            a.setting().replace('_', " "),
            a.key()
        );
        refused.push((a.setting(), why.clone()));
        if *a == Axis::Seeds {
            for key in ["init_seed", "data_seed"] {
                refused.push((
                    key,
                    format!("{command} gives each run its own seed, which sets it: give the list `seeds` (comma-separated)"),
                ));
            }
        }
    }
    refused.extend(
        sets.iter()
            .map(|(k, why)| (*k, format!("{command} sets it itself: {why}"))),
    );
    if runs_inside {
        refused.push((
            "runs_dir",
            format!("{command} keeps its runs in the runs/ folder of its results (`out`)"),
        ));
    }
    if axes.contains(&Axis::Widths) || references {
        refused.push((
            "init_from",
            format!(
                "{command} trains runs of several widths (its panels' and its limit runs'), and the files of `init_from` hold one"
            ),
        ));
    }
    refused.push((
        "out",
        format!("{command} names each run's folder by its setting; its own results go to --out"),
    ));
    refused
}

/// The first key of `table` that is one of `refused` ([`refused_settings`]), with why.
pub fn refused_key<'a>(
    table: &toml::Table,
    refused: &'a [(&'static str, String)],
) -> Option<&'a (&'static str, String)> {
    refused.iter().find(|(k, _)| table.contains_key(*k))
}

/// Refuses a key of `table` (a `--config` file's settings, `source` naming it) that is one of
/// `refused` ([`refused_settings`]), naming the key and why.
pub fn check_table(
    source: &str,
    table: &toml::Table,
    refused: &[(&'static str, String)],
) -> Result<(), StudyError> {
    match refused_key(table, refused) {
        Some((key, why)) => Err(StudyError::Invalid(format!(
            "{source} sets the key \"{key}\": {why}; remove it from the file"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_by_kind_and_lists_become_preset_keys() {
        assert_eq!(Axis::Widths.parse("250"), Ok(AxisValue::Whole(250)));
        assert!(Axis::Widths.parse("0").unwrap_err().contains("from 1"));
        assert_eq!(Axis::Seeds.parse("0"), Ok(AxisValue::Whole(0)));
        // Seeds are kept exactly (2^53 + 1 is not a float64), up to TOML's i64.
        assert_eq!(
            Axis::Seeds.parse("9007199254740993"),
            Ok(AxisValue::Whole(9007199254740993))
        );
        assert!(Axis::Seeds.parse("9223372036854775808").is_err());
        assert!(Axis::Betas.parse("inf").is_err());
        assert_eq!(Axis::Betas.parse(" 0.75"), Ok(AxisValue::Real(0.75)));
        // A value twice is refused, as written or as the same number.
        assert!(
            Axis::Widths
                .parse_list("8,16,8")
                .unwrap_err()
                .contains("8 is given twice")
        );
        assert!(Axis::Gammas.parse_list("1,1.0").is_err());
        assert!(Axis::Widths.parse_list("8,,16").is_err());
        let mut g = Grid::default();
        g.set(Axis::Widths, Axis::Widths.parse_list("250,500").unwrap());
        g.set(Axis::Betas, Axis::Betas.parse_list("0.5,1").unwrap());
        g.set(Axis::Seeds, vec![AxisValue::Whole(9007199254740993)]);
        assert_eq!(g.sizes(Axis::Widths), Some(vec![250, 500]));
        assert_eq!(g.whole(Axis::Seeds), Some(vec![9007199254740993]));
        let t = g.table();
        assert_eq!(t["widths"].as_array().unwrap()[1].as_integer(), Some(500));
        assert_eq!(t["betas"].as_array().unwrap()[0].as_float(), Some(0.5));
        assert_eq!(
            t["seeds"].as_array().unwrap()[0].as_integer(),
            Some(9007199254740993)
        );
        assert!(
            g.only("tails", &[Axis::Widths])
                .unwrap_err()
                .to_string()
                .contains("`betas`")
        );
    }

    /// Each row of the declaration belongs to its variant, with its own key and setting.
    #[test]
    fn each_axis_is_one_row() {
        for (i, a) in Axis::ALL.iter().enumerate() {
            assert_eq!(SPECS[i].axis, *a);
        }
        let keys: std::collections::BTreeSet<_> = Axis::ALL.iter().map(|a| a.key()).collect();
        let settings: std::collections::BTreeSet<_> =
            Axis::ALL.iter().map(|a| a.setting()).collect();
        assert_eq!(keys.len(), Axis::ALL.len());
        assert_eq!(settings.len(), Axis::ALL.len());
        assert_eq!(Axis::DataSeeds.flag(), "--data-seeds");
    }

    /// What a grid sets itself is refused with why, as a flag and in a `--config` file.
    #[test]
    fn a_grid_refuses_what_it_sets() {
        let refused = refused_settings(
            "chaos",
            &[Axis::Widths, Axis::Seeds],
            &[("dynamics", "it compares both")],
            true,
            false,
        );
        let why = |k: &str| {
            refused
                .iter()
                .find(|(r, _)| *r == k)
                .map(|(_, w)| w.clone())
        };
        assert!(why("width").unwrap().contains("`widths`"));
        assert!(why("data_seed").unwrap().contains("`seeds`"));
        assert!(why("dynamics").unwrap().contains("both"));
        assert!(why("runs_dir").is_some() && why("init_from").is_some() && why("out").is_some());
        assert!(why("beta").is_none());
        // Limit runs of their own width refuse --init-from without a widths axis.
        let f3 = refused_settings("figure3", &[Axis::Gammas], &[], false, true);
        assert!(f3.iter().any(|(k, _)| *k == "init_from"));
        let mut t = toml::Table::new();
        t.insert("horizon".into(), toml::Value::Float(2.0));
        assert!(check_table("c.toml", &t, &refused).is_ok());
        t.insert("width".into(), toml::Value::Integer(8));
        let e = check_table("c.toml", &t, &refused).unwrap_err().to_string();
        assert!(
            e.contains("c.toml sets the key \"width\"") && e.contains("`widths`"),
            "{e}"
        );
    }
}
