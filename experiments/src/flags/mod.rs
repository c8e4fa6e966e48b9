//! The command line (ripgrep's `flags/` layout): the commands and their own flags
//! ([`defs`]), the training settings' flags built from their declarations ([`settings`]), the
//! grid axes' flags ([`axes`]), and library messages' settings spelled as flags ([`spell`]).
//!
//! Each command takes exactly what it honours: [`takes`] says, per command, which settings it
//! offers, which it refuses because it sets them itself (with why: `--width` beside `--widths`
//! names the list), and which axes it varies with their default lists. Nothing else lists
//! settings, axes, or which command uses them.

pub mod axes;
pub mod defs;
pub mod settings;
pub mod spell;

pub use defs::*;
pub use spell::spell;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches};
use meanfield_study::axes::{Axis, Grid};
use meanfield_study::chaos::ChaosStudy;
use meanfield_study::coord_check::CoordCheck;
use meanfield_study::coupling::{CouplingStudy, REFERENCE_DATA_SEED};
use meanfield_study::figures::Figure;
use meanfield_study::sgd_vs_diffusion::SgdVsDiffusion;
use meanfield_study::tails::TailStudy;
use meanfield_train::TrainConfig;
use meanfield_train::data::DatasetKind;
use settings::Scope;

/// An axis a command varies: the axis, its default list, and the default in words when it has
/// no list of its own (the preset's, or a rule).
pub type AxisArg = (Axis, Option<&'static str>, Option<String>);

/// What a command takes besides its own flags.
pub struct Takes {
    pub scope: Scope,
    pub axes: Vec<AxisArg>,
    /// Where the help's defaults come from: a preset, a figure's preset (its paper scale), or
    /// the program's defaults.
    preset: Option<String>,
    figure: Option<Figure>,
    /// The command's own defaults for settings (`coord-check`'s steps).
    defaults: Vec<(&'static str, String)>,
}

/// The scope of a grid that varies `axes` and sets `sets` itself: the settings it refuses are
/// the library's one list ([`meanfield_study::axes::refused_settings`]), applied to its flags
/// here and to its `--config` file when the setting is resolved.
fn grid_scope(
    command: &'static str,
    axes: &[Axis],
    sets: &[(&'static str, &'static str)],
    runs_inside: bool,
    references: bool,
) -> Scope {
    Scope {
        command,
        dataset: None,
        refused: meanfield_study::axes::refused_settings(
            command,
            axes,
            sets,
            runs_inside,
            references,
        ),
        own: &["out"],
    }
}

/// The scope of a study whose refusals its library type gives (the Python package takes the
/// same list).
fn study_scope(command: &'static str, refused: Vec<(&'static str, String)>) -> Scope {
    Scope {
        command,
        dataset: None,
        refused,
        own: &["out"],
    }
}

fn axis_defaults(axes: &[Axis], defaults: &[(Axis, &'static str)]) -> Vec<AxisArg> {
    axes.iter()
        .map(|a| {
            let d = defaults.iter().find(|(x, _)| x == a).map(|(_, d)| *d);
            (*a, d, None)
        })
        .collect()
}

/// What the command `name` takes (`None`: it takes no setting, e.g. `fetch`).
pub fn takes(name: &str) -> Option<Takes> {
    let training = |dataset: Option<DatasetKind>, preset: Option<&str>| Takes {
        scope: Scope {
            command: "this command",
            dataset,
            refused: Vec::new(),
            own: &[],
        },
        axes: Vec::new(),
        preset: preset.map(String::from),
        figure: None,
        defaults: Vec::new(),
    };
    let figure = |f: Figure| Takes {
        scope: {
            grid_scope(
                f.name(),
                f.axes(),
                f.sets(),
                false,
                !f.references().is_empty(),
            )
        },
        axes: f
            .axes()
            .iter()
            .map(|a| (*a, None, Some("the preset's".to_string())))
            .collect(),
        preset: None,
        figure: Some(f),
        defaults: vec![("runs_dir", meanfield_study::figures::RUNS_DIR.to_string())],
    };
    Some(match name {
        "mnist" => training(Some(DatasetKind::Mnist), Some("mnist")),
        "fashion-mnist" => training(Some(DatasetKind::FashionMnist), Some("fashion-mnist")),
        "cifar" => training(Some(DatasetKind::Cifar10), Some("cifar")),
        "synthetic" => training(Some(DatasetKind::Synthetic), Some("synthetic")),
        "arrays" => training(Some(DatasetKind::Arrays), Some("arrays")),
        "run" => training(None, None),
        "chaos" => Takes {
            scope: study_scope("chaos", ChaosStudy::refused()),
            axes: axis_defaults(ChaosStudy::AXES, ChaosStudy::DEFAULTS),
            preset: Some(ChaosStudy::PRESET.into()),
            figure: None,
            defaults: Vec::new(),
        },
        "tails" => Takes {
            scope: study_scope("tails", TailStudy::refused()),
            axes: axis_defaults(TailStudy::AXES, TailStudy::DEFAULTS),
            preset: Some(TailStudy::PRESET.into()),
            figure: None,
            defaults: Vec::new(),
        },
        "sgd-vs-diffusion" => Takes {
            scope: grid_scope(
                "sgd-vs-diffusion",
                SgdVsDiffusion::AXES,
                SgdVsDiffusion::SETS,
                true,
                false,
            ),
            axes: axis_defaults(SgdVsDiffusion::AXES, SgdVsDiffusion::DEFAULTS),
            preset: Some("sgd-vs-diffusion".into()),
            figure: None,
            defaults: Vec::new(),
        },
        "coupling" => Takes {
            scope: study_scope("coupling", CouplingStudy::refused()),
            axes: CouplingStudy::AXES
                .iter()
                .map(|&a| match a {
                    Axis::DataSeeds => (a, None, Some(coupling_data_seeds())),
                    _ => axis_defaults(&[a], CouplingStudy::DEFAULTS).remove(0),
                })
                .collect(),
            preset: Some(CouplingStudy::PRESET.into()),
            figure: None,
            defaults: Vec::new(),
        },
        "coord-check" => Takes {
            scope: grid_scope(
                "coord-check",
                CoordCheck::AXES,
                CoordCheck::SETS,
                false,
                false,
            ),
            axes: axis_defaults(CoordCheck::AXES, CoordCheck::DEFAULTS),
            preset: Some("chaos-quick".into()),
            figure: None,
            defaults: vec![("steps", CoordCheck::DEFAULT_STEPS.to_string())],
        },
        "figure1" => figure(Figure::Figure1),
        "figure2" => figure(Figure::Figure2),
        "figure3" => figure(Figure::Figure3),
        "figure-s5" => figure(Figure::FigureS5),
        "table1" => figure(Figure::Table1),
        _ => return None,
    })
}

/// The coupling study's data seeds unless given, in words ([`CouplingStudy`]'s rule).
fn coupling_data_seeds() -> String {
    format!("0,1 (with --shared-noise, {REFERENCE_DATA_SEED}, the reference's)")
}

/// The whole command line: the commands, each with its setting and axis flags and their help
/// defaults.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        let Some(t) = takes(&name) else {
            continue;
        };
        cmd = cmd.mut_subcommand(&name, |sub| {
            let sub = sub.args(t.scope.args()).args(axes::args(&t.axes));
            let sub = hide_unused_references(sub, &name);
            let (source, table) = help_defaults(&t);
            settings::with_defaults(sub, &source, &table, &t.defaults)
        });
    }
    cmd
}

/// A figure's limit-width flags it does not have are hidden (and refused if given).
fn hide_unused_references(sub: clap::Command, name: &str) -> clap::Command {
    let Ok(figure) = name.parse::<Figure>() else {
        return sub;
    };
    let mut sub = sub;
    for key in ["reference_width", "reference_width_one"] {
        if !figure.references().contains(&key) {
            sub = sub.mut_arg(key, |a| a.hide(true));
        }
    }
    sub
}

/// The setting whose values the help shows as defaults, and what to call it.
fn help_defaults(t: &Takes) -> (String, toml::Table) {
    if let Some(f) = t.figure {
        // The figure's own runs at the paper's scale (`--scale quick` changes some).
        let table = meanfield_study::figures::FigureSpec::load(
            f,
            meanfield_study::figures::Scale::Paper,
            None,
        )
        .and_then(|spec| spec.base(f))
        .ok()
        .and_then(|config| toml::Table::try_from(&config).ok())
        .expect("a figure's preset resolves (tested)");
        return (format!("{f} at paper scale"), table);
    }
    let (source, layers) = match &t.preset {
        Some(p) => match TrainConfig::preset(p) {
            Ok(table) => (format!("preset {p}"), vec![(p.clone(), table)]),
            Err(_) => return (String::new(), toml::Table::new()),
        },
        None if t.scope.own.contains(&"out") => (
            "program default; the figure's preset may set it".to_string(),
            Vec::new(),
        ),
        None => ("default".to_string(), Vec::new()),
    };
    let Ok(config) = TrainConfig::resolve(layers) else {
        return (source, toml::Table::new());
    };
    let mut table = toml::Table::try_from(&config).unwrap_or_default();
    // Settings config.toml leaves out at their default (so older run names stay the same).
    for (key, value) in [
        ("dynamics", config.dynamics.to_string()),
        ("drift_set", config.drift_set.to_string()),
        ("noise_set", config.noise_set.to_string()),
    ] {
        table.entry(key).or_insert(toml::Value::String(value));
    }
    (source, table)
}

/// The command line as read: the command and its own flags, and what its setting and axis
/// flags gave.
pub struct Parsed {
    pub command: Command,
    /// The settings given as flags, as `config.toml` keys (layered over the preset and
    /// `--config`).
    pub settings: toml::Table,
    /// The axes' lists (given, or their defaults).
    pub grid: Grid,
    /// What the command takes (to check a dataset's own flags once the dataset is known).
    pub scope: Option<Scope>,
}

/// Reads the command line `words` (the program, then its arguments). Usage errors (an unknown
/// flag, a bad value) end the process with clap's message; a refused setting is an error.
pub fn parse(words: &[String]) -> Result<Parsed> {
    refuse_set_by_command(words)?;
    let matches = command().get_matches_from(words);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (name, sub) = matches.subcommand().expect("clap requires a subcommand");
    spell::for_command(name);
    let (settings, grid, scope) = match takes(name) {
        Some(t) => {
            let axes: Vec<Axis> = t.axes.iter().map(|(a, _, _)| *a).collect();
            (t.scope.table(sub)?, axes::grid(sub, &axes), Some(t.scope))
        }
        None => (toml::Table::new(), Grid::default(), None),
    };
    Ok(Parsed {
        command: cli.command,
        settings,
        grid,
        scope,
    })
}

/// A setting flag the command sets itself (`--width` where it has `--widths`) is refused with
/// why, before clap reads the line (the command does not have the flag, so clap would call it
/// unknown).
fn refuse_set_by_command(words: &[String]) -> Result<()> {
    let Some(name) = words.iter().skip(1).find(|w| !w.starts_with('-')) else {
        return Ok(());
    };
    let Some(t) = takes(name) else {
        return Ok(());
    };
    for word in words.iter().skip_while(|w| *w != name) {
        if word == "--" {
            break;
        }
        let Some(flag) = word.strip_prefix("--") else {
            continue;
        };
        let flag = flag.split('=').next().unwrap_or(flag);
        if let Some(why) = t.scope.refusal(flag) {
            anyhow::bail!("{why}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(cmd: &mut clap::Command, sub: &str) -> String {
        cmd.find_subcommand_mut(sub)
            .expect("a subcommand")
            .render_long_help()
            .to_string()
    }

    /// The help's defaults come from the setting each command starts from (its preset), each
    /// flag states its default once, and each command lists only what it takes: a setting it
    /// sets itself, or another dataset's, is not listed.
    #[test]
    fn help_shows_each_commands_defaults_and_only_what_it_takes() {
        let mut cmd = command();
        let cifar = help(&mut cmd, "cifar");
        assert!(cifar.contains("[preset cifar: 0.1]"), "{cifar}");
        assert!(
            cifar.contains("[possible values: trainable, fixed]"),
            "{cifar}"
        );
        assert!(!cifar.contains("--normalize"), "{cifar}");
        assert!(help(&mut cmd, "arrays").contains("--normalize"));
        assert!(help(&mut cmd, "mnist").contains("[preset mnist: 1]"));
        let coupling = help(&mut cmd, "coupling");
        assert!(
            coupling.contains("[preset chaos-quick: fixed]"),
            "{coupling}"
        );
        assert!(!coupling.contains("--width "), "{coupling}");
        assert!(!coupling.contains("--data-seed "), "{coupling}");
        assert!(coupling.contains("--data-seeds"), "{coupling}");
        let tails = help(&mut cmd, "tails");
        for refused in [
            "--width ",
            "--gamma ",
            "--batch ",
            "--runs-dir",
            "--resume",
            "--wait",
        ] {
            assert!(!tails.contains(refused), "tails lists {refused}");
        }
        let figure3 = help(&mut cmd, "figure3");
        assert!(
            figure3.contains("--width ") && !figure3.contains("--beta "),
            "{figure3}"
        );
        assert!(!figure3.contains("--reference-width-one"), "{figure3}");
        assert!(help(&mut cmd, "figure1").contains("--reference-width-one"));
        assert!(help(&mut cmd, "figure1").contains("[default: figures/runs]"));
        let coord = help(&mut cmd, "coord-check");
        assert!(
            !coord.contains("--horizon") && coord.contains("[default: 10]"),
            "{coord}"
        );
        assert!(help(&mut cmd, "bench").contains("[default: 100]"));
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        for name in names {
            let text = help(&mut cmd, &name);
            for paragraph in text.split("\n\n") {
                let defaults = paragraph.matches("[default").count()
                    + paragraph.matches("[preset ").count()
                    + paragraph.matches("[program default").count();
                assert!(defaults <= 1, "{name}: two defaults in {paragraph:?}");
            }
        }
    }

    /// Every setting refused by a grid names the list that replaces it, or why.
    #[test]
    fn refused_settings_say_why() {
        let tails = takes("tails").unwrap();
        let (_, why) = tails
            .scope
            .refused
            .iter()
            .find(|(k, _)| *k == "width")
            .unwrap();
        assert!(why.contains("`widths`"), "{why}");
        let svd = takes("sgd-vs-diffusion").unwrap();
        assert!(
            svd.scope
                .refused
                .iter()
                .any(|(k, w)| *k == "dynamics" && w.contains("both dynamics"))
        );
    }
}
