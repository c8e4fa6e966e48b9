//! The grid axes as flags (`--widths 250,500`), built from their one declaration
//! ([`meanfield_study::axes::Axis`]): the axes a command varies, their defaults, and the
//! [`Grid`] of the lists given. The single setting an axis varies (`--width`) is refused by the
//! command's [`super::settings::Scope`], naming the list.

use clap::{Arg, ArgAction, ArgMatches};
use meanfield_study::axes::{Axis, AxisValue, Grid};

fn id(axis: Axis) -> String {
    format!("axis.{}", axis.key())
}

/// The flag of each axis in `axes`, with its default list where the command has one (`None`:
/// the command's preset or rule decides, said in `note`).
pub fn args(axes: &[super::AxisArg]) -> Vec<Arg> {
    axes.iter()
        .map(|(axis, default, note)| {
            let (axis, default) = (*axis, *default);
            let mut help = axis.help().to_string();
            if let Some(note) = note {
                help.push_str(&format!(" [default: {note}]"));
            }
            let mut arg = Arg::new(id(axis))
                .long(axis.flag().trim_start_matches('-').to_string())
                .value_name("LIST")
                .action(ArgAction::Set)
                .allow_negative_numbers(true)
                .help(help)
                .value_parser(move |s: &str| parse(axis, s));
            if let Some(d) = default {
                arg = arg.default_value(d);
            }
            arg
        })
        .collect()
}

/// A comma-separated list of `axis`'s values ([`Axis::parse_list`]).
fn parse(axis: Axis, text: &str) -> Result<Vec<AxisValue>, String> {
    axis.parse_list(text)
}

/// The lists given (or defaulted) for `axes`.
pub fn grid(m: &ArgMatches, axes: &[Axis]) -> Grid {
    let mut grid = Grid::default();
    for &axis in axes {
        if let Ok(Some(values)) = m.try_get_one::<Vec<AxisValue>>(&id(axis)) {
            grid.set(axis, values.clone());
        }
    }
    grid
}
