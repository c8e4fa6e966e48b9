//! A figure's preset: the paper's protocol (`[paper]`) and a quick variant (`[quick]`, only the
//! keys that change) in `configs/<figure>.toml`, compiled into the program; command-line
//! overrides on top.
//!
//! Keys (each figure uses the ones it needs and rejects overrides of the others):
//! `protocol` (one line for the report), `train` (training settings shared by every run, the
//! keys of `config.toml`), the grid `betas`, `widths`, `seeds`, `gammas`, `batches`, the limit
//! references `reference_width` and `reference_beta` (β < 1) and `reference_width_one` (β = 1;
//! 10 × the widest panel by default, so that it is never a panel), the histogram windows `window_below_one`
//! and `window_one` (half-widths of the x axis), `bins`, and `fallback_dataset` (Table 1's quick
//! scale, when CIFAR-10 is not on the machine).

use super::kind::Figure;
use crate::StudyError;
use crate::axes::Grid;
use meanfield_data::DatasetKind;
use meanfield_train::TrainConfig;
use meanfield_train::config::{merge, parse_table};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which variant of a preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scale {
    /// The paper's exact protocol.
    #[default]
    Paper,
    /// Smaller N, fewer steps, an MNIST subset: the same effect on a 2-core CPU in minutes.
    Quick,
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scale::Paper => "paper",
            Scale::Quick => "quick",
        })
    }
}

impl FromStr for Scale {
    type Err = StudyError;
    fn from_str(s: &str) -> Result<Self, StudyError> {
        match s {
            "paper" => Ok(Scale::Paper),
            "quick" => Ok(Scale::Quick),
            other => Err(StudyError::Invalid(format!(
                "`scale` {other:?}: expected paper (the paper's protocol) or quick (minutes on a CPU)"
            ))),
        }
    }
}

/// The β = 1 limit run is this many times wider than the widest panel unless the spec says.
pub const ONE_REFERENCE_FACTOR: usize = 10;

fn default_bins() -> usize {
    40
}

/// One figure's protocol, after the scale and the overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// What is reproduced, one line.
    pub protocol: String,
    /// Training settings shared by every run (over the program's defaults).
    #[serde(default)]
    pub train: toml::Table,
    #[serde(default)]
    pub betas: Vec<f64>,
    #[serde(default)]
    pub widths: Vec<usize>,
    #[serde(default)]
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub gammas: Vec<f64>,
    #[serde(default)]
    pub batches: Vec<usize>,
    /// Width of the large run whose density stands for the limit.
    #[serde(default)]
    pub reference_width: Option<usize>,
    /// β of the reference for the β < 1 limit (the paper uses 0.25).
    #[serde(default)]
    pub reference_beta: Option<f64>,
    /// Width of the β = 1 limit run (Figure 1's β = 1 row) [default:
    /// [`ONE_REFERENCE_FACTOR`] × the widest panel]. At β = 1 a run takes T/γ steps at every
    /// width, so a reference far wider than the panels costs only its width.
    #[serde(default)]
    pub reference_width_one: Option<usize>,
    /// Half-width of the histogram window for β < 1 panels (the paper: 0.2).
    #[serde(default)]
    pub window_below_one: Option<f64>,
    /// Half-width of the histogram window for β = 1 panels (the paper: 1).
    #[serde(default)]
    pub window_one: Option<f64>,
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// Dataset to run on when the preset's is not on the machine (quick scale only).
    #[serde(default)]
    pub fallback_dataset: Option<DatasetKind>,
}

/// Command-line overrides of a preset: the grid axes given ([`Grid`]: each axis declared once,
/// [`crate::axes`]), the limit runs' widths, and training settings for every run (a TOML table
/// of `config.toml` keys). [`FigureSpec::apply`] merges the given ones over the spec by key.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub grid: Grid,
    /// Width of the run whose density stands for the limit (Figure 1: the β < 1 limit).
    pub reference_width: Option<usize>,
    /// Figure 1: width of the β = 1 limit run [default: 10 × the widest panel]; it may not
    /// equal a panel's.
    pub reference_width_one: Option<usize>,
    /// Training settings for every run, over the preset's `train`.
    pub train: toml::Table,
}

impl Overrides {
    /// The keys given, with their values, as the preset's table spells them.
    pub fn table(&self) -> toml::Table {
        let mut t = self.grid.table();
        if let Some(w) = self.reference_width {
            t.insert("reference_width".into(), toml::Value::Integer(w as i64));
        }
        if let Some(w) = self.reference_width_one {
            t.insert("reference_width_one".into(), toml::Value::Integer(w as i64));
        }
        t
    }
}

/// The limit width `key` of `figure`, or an error naming the ones it has.
fn has_reference(figure: Figure, key: &str) -> Result<(), StudyError> {
    if figure.references().contains(&key) {
        return Ok(());
    }
    Err(StudyError::Invalid(format!(
        "{figure} has no `{key}`: it has {}",
        if figure.references().is_empty() {
            "no limit run".to_string()
        } else {
            figure
                .references()
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    )))
}

/// Refuses what a `--config` file for `figure` (the preset's layout) sets that the figure does
/// not use or sets itself: a list of an axis it does not vary, a limit width it does not have,
/// and in any `train` table (top level, `[paper.train]`, `[quick.train]`) a setting of
/// [`Figure::refused`]. Everything else is merged over the preset.
fn check_extra(figure: Figure, source: &str, extra: &toml::Table) -> Result<(), StudyError> {
    let scales: Vec<(String, &toml::Table)> = std::iter::once((String::new(), extra))
        .chain(["paper", "quick"].into_iter().filter_map(|s| {
            extra
                .get(s)
                .and_then(|v| v.as_table())
                .map(|t| (format!("[{s}] "), t))
        }))
        .collect();
    for (scale, table) in scales {
        for axis in crate::axes::Axis::ALL {
            if table.contains_key(axis.key()) && !figure.axes().contains(&axis) {
                return Err(crate::axes::not_varied(
                    &format!("{source}: {scale}{figure}"),
                    axis,
                    figure.axes(),
                ));
            }
        }
        for key in ["reference_width", "reference_width_one"] {
            if table.contains_key(key) {
                has_reference(figure, key)
                    .map_err(|e| StudyError::Invalid(format!("{source}: {scale}{e}")))?;
            }
        }
        if let Some(train) = table.get("train").and_then(|v| v.as_table()) {
            crate::axes::check_table(
                &format!("{source} {scale}[train]"),
                train,
                &figure.refused(),
            )?;
        }
    }
    Ok(())
}

impl FigureSpec {
    /// The preset `figure` at `scale`, with `extra` (a `--config` file's table, same layout as
    /// the preset: keys at the top level apply to both scales) merged over it.
    pub fn load(
        figure: Figure,
        scale: Scale,
        extra: Option<(String, toml::Table)>,
    ) -> Result<Self, StudyError> {
        let text = figure.preset();
        let name = format!("configs/{figure}.toml");
        let mut table = parse_table(&name, text)?;
        if let Some((_, extra)) = &extra {
            merge(&mut table, extra.clone());
        }
        let take = |table: &mut toml::Table, key: &str| match table.remove(key) {
            Some(toml::Value::Table(t)) => Ok(t),
            None => Ok(toml::Table::new()),
            Some(_) => Err(StudyError::Invalid(format!(
                "{name}: [{key}] must be a table"
            ))),
        };
        if let Some((source, extra)) = &extra {
            check_extra(figure, source, extra)?;
        }
        let paper = take(&mut table, "paper")?;
        let quick = take(&mut table, "quick")?;
        let mut spec = paper;
        if scale == Scale::Quick {
            merge(&mut spec, quick);
        }
        // Top-level keys of a --config file apply at either scale.
        merge(&mut spec, table);
        let source = match &extra {
            Some((n, _)) => format!("{name} [{scale}] + {n}"),
            None => format!("{name} [{scale}]"),
        };
        let text = toml::to_string(&spec).expect("a table serialises");
        toml::from_str(&text)
            .map_err(|e: toml::de::Error| StudyError::Invalid(format!("{source}: {e}")))
    }

    /// Applies command-line overrides. An axis the figure does not vary, a limit width it does
    /// not have, and a training setting it sets itself in every run ([`Figure::refused`]) are
    /// errors naming why: none is ever silently ignored.
    pub fn apply(&mut self, figure: Figure, o: Overrides) -> Result<(), StudyError> {
        o.grid.only(figure.name(), figure.axes())?;
        for (key, given) in [
            ("reference_width", o.reference_width.is_some()),
            ("reference_width_one", o.reference_width_one.is_some()),
        ] {
            if given {
                has_reference(figure, key)?;
            }
        }
        crate::axes::check_table(&format!("{figure}'s settings"), &o.train, &figure.refused())?;
        // Each given key replaces the spec's: the spec as a table, the keys merged over it,
        // read back.
        let mut table = toml::Table::try_from(&*self).expect("a spec serialises");
        merge(&mut table, o.table());
        let text = toml::to_string(&table).expect("a table serialises");
        let train = std::mem::take(&mut self.train);
        *self = toml::from_str(&text)
            .map_err(|e: toml::de::Error| StudyError::Invalid(format!("{figure}: {e}")))?;
        self.train = train;
        merge(&mut self.train, o.train);
        Ok(())
    }

    /// Every run's shared setting: the program's defaults, then this spec's `train`.
    ///
    /// Under `dynamics = "diffusion"` a preset's `identical_particles` is dropped: that
    /// reduction (one particle standing for N) holds only for SGD, and the diffusion trains the
    /// full width (Figure 2 then needs a `--widths` it can afford).
    pub fn base(&self, figure: Figure) -> Result<TrainConfig, StudyError> {
        let mut train = self.train.clone();
        if train.get("dynamics").and_then(|v| v.as_str()) == Some("diffusion") {
            train.remove("identical_particles");
        }
        Ok(TrainConfig::resolve(vec![(
            format!("{figure} train settings"),
            train,
        )])?)
    }

    /// β of the run whose density stands for the β < 1 limit (the paper's 0.25 by default).
    pub fn reference_beta(&self) -> f64 {
        self.reference_beta.unwrap_or(0.25)
    }

    /// Half-width of the histogram window for a panel at `beta` (the paper's axes by default:
    /// ±0.2 for β < 1, ±1 for β = 1).
    pub fn window(&self, beta: f64) -> f64 {
        if beta >= 1.0 {
            self.window_one.unwrap_or(1.0)
        } else {
            self.window_below_one.unwrap_or(0.2)
        }
    }

    /// `list` is non-empty, else an error naming the key.
    pub fn need<'a, T>(
        &self,
        figure: Figure,
        key: &str,
        list: &'a [T],
    ) -> Result<&'a [T], StudyError> {
        if list.is_empty() {
            Err(StudyError::Invalid(format!(
                "{figure}: `{key}` is empty: give at least one value"
            )))
        } else {
            Ok(list)
        }
    }

    /// The preset's text as TOML (the report quotes it).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("spec serialises")
    }
}
