//! The grid axes: each setting a grid command varies over a list of values, declared once: its
//! list flag and preset key (`widths`), the setting it varies in each run (`width`), how its
//! values read, and its help. Studies and figures name the axes they vary ([`crate::chaos::
//! ChaosStudy::AXES`], [`crate::figures::Figure::axes`]); the command line builds each axis's
//! flag from here, refuses the single setting it varies (`--width` beside `--widths`) naming
//! the list, and hands the values over as a [`Grid`].

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
    /// Real numbers (β, γ).
    Reals,
}

impl Axis {
    pub const ALL: [Axis; 6] = [
        Axis::Widths,
        Axis::Betas,
        Axis::Gammas,
        Axis::Batches,
        Axis::Seeds,
        Axis::DataSeeds,
    ];

    /// The list's flag and preset key: `widths` (`--widths`).
    pub fn key(self) -> &'static str {
        match self {
            Axis::Widths => "widths",
            Axis::Betas => "betas",
            Axis::Gammas => "gammas",
            Axis::Batches => "batches",
            Axis::Seeds => "seeds",
            Axis::DataSeeds => "data_seeds",
        }
    }

    /// The run setting it varies: `width`.
    pub fn setting(self) -> &'static str {
        match self {
            Axis::Widths => "width",
            Axis::Betas => "beta",
            Axis::Gammas => "gamma",
            Axis::Batches => "batch",
            Axis::Seeds => "seed",
            Axis::DataSeeds => "data_seed",
        }
    }

    pub fn values(self) -> Values {
        match self {
            Axis::Widths | Axis::Batches => Values::Sizes,
            Axis::Seeds | Axis::DataSeeds => Values::Seeds,
            Axis::Betas | Axis::Gammas => Values::Reals,
        }
    }

    /// The flag's help.
    pub fn help(self) -> &'static str {
        match self {
            Axis::Widths => "Widths N, comma-separated: one run (or more) at each",
            Axis::Betas => "Exponents β, comma-separated",
            Axis::Gammas => "Base steps γ, comma-separated",
            Axis::Batches => "Batch sizes M, comma-separated",
            Axis::Seeds => "Seeds, comma-separated (each run's initial particles and batches)",
            Axis::DataSeeds => {
                "Data seeds, comma-separated (each run's batches and noise; the initial particles are shared)"
            }
        }
    }

    /// One value of the list, as text, read (or why not).
    pub fn parse(self, text: &str) -> Result<f64, String> {
        let text = text.trim();
        match self.values() {
            Values::Sizes => text
                .parse::<u64>()
                .ok()
                .filter(|v| (1..=1 << 53).contains(v))
                .map(|v| v as f64)
                .ok_or_else(|| format!("{text:?} is not a whole number ≥ 1 (and at most 2^53)")),
            // Held as f64 with the other axes: exact up to 2^53, so larger seeds are refused
            // rather than rounded to another seed.
            Values::Seeds => text
                .parse::<u64>()
                .ok()
                .filter(|v| *v <= 1 << 53)
                .map(|v| v as f64)
                .ok_or_else(|| format!("{text:?} is not a whole number from 0 to 2^53")),
            Values::Reals => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{text:?} is not a finite number")),
        }
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
    values: BTreeMap<Axis, Vec<f64>>,
}

impl Grid {
    /// Sets `axis`'s values.
    pub fn set(&mut self, axis: Axis, values: Vec<f64>) {
        self.values.insert(axis, values);
    }

    /// Whether `axis` was given.
    pub fn has(&self, axis: Axis) -> bool {
        self.values.contains_key(&axis)
    }

    /// The axes given, with their values.
    pub fn iter(&self) -> impl Iterator<Item = (Axis, &[f64])> {
        self.values.iter().map(|(a, v)| (*a, v.as_slice()))
    }

    /// `axis`'s values as reals (β, γ); `None` when not given.
    pub fn reals(&self, axis: Axis) -> Option<Vec<f64>> {
        self.values.get(&axis).cloned()
    }

    /// `axis`'s values as sizes or seeds; `None` when not given.
    pub fn whole(&self, axis: Axis) -> Option<Vec<u64>> {
        self.values
            .get(&axis)
            .map(|v| v.iter().map(|x| *x as u64).collect())
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
                let list = values
                    .iter()
                    .map(|v| match axis.values() {
                        Values::Reals => toml::Value::Float(*v),
                        _ => toml::Value::Integer(*v as i64),
                    })
                    .collect();
                (axis.key().to_string(), toml::Value::Array(list))
            })
            .collect()
    }

    /// Refuses an axis given that `uses` does not vary (it would be ignored).
    pub fn only(&self, command: &str, uses: &[Axis]) -> Result<(), StudyError> {
        match self.values.keys().find(|a| !uses.contains(a)) {
            Some(a) => Err(StudyError::Invalid(format!(
                "{command} does not vary `{a}`: it varies {}",
                uses.iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_by_kind_and_lists_become_preset_keys() {
        assert_eq!(Axis::Widths.parse("250"), Ok(250.0));
        assert!(Axis::Widths.parse("0").unwrap_err().contains("≥ 1"));
        // Values are held as f64: 2^53 is exact, 2^53 + 1 would round to another seed.
        assert_eq!(
            Axis::Seeds.parse("9007199254740992"),
            Ok(9007199254740992.0)
        );
        assert!(Axis::Seeds.parse("9007199254740993").is_err());
        assert_eq!(Axis::Seeds.parse("0"), Ok(0.0));
        assert!(Axis::Betas.parse("inf").is_err());
        assert_eq!(Axis::Betas.parse(" 0.75"), Ok(0.75));
        let mut g = Grid::default();
        g.set(Axis::Widths, vec![250.0, 500.0]);
        g.set(Axis::Betas, vec![0.5, 1.0]);
        assert_eq!(g.sizes(Axis::Widths), Some(vec![250, 500]));
        let t = g.table();
        assert_eq!(t["widths"].as_array().unwrap()[1].as_integer(), Some(500));
        assert_eq!(t["betas"].as_array().unwrap()[0].as_float(), Some(0.5));
        assert!(
            g.only("tails", &[Axis::Widths])
                .unwrap_err()
                .to_string()
                .contains("`betas`")
        );
        // Every axis has its own key and setting.
        let keys: std::collections::BTreeSet<_> = Axis::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), Axis::ALL.len());
    }
}
