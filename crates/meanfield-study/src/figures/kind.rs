//! Which figure: the paper's experiments as one enum, with each one's name, preset, and the
//! grid keys it reads and the settings it varies per run. The only place figure names live.

use crate::axes::Axis;
use std::fmt;

/// A figure command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Figure {
    /// Histograms of hidden coordinate (1,1) for β × N over the limit densities.
    Figure1,
    /// Identical initial particles: the spread of one coordinate across independent runs.
    Figure2,
    /// β = 1 for decreasing γ against the β < 1 limit.
    Figure3,
    /// Batch sizes M for β < 1 and β = 1 against the β < 1 limit.
    #[value(name = "figure-s5")]
    FigureS5,
    /// CIFAR-10 accuracy of the averaged weights for N × β.
    Table1,
}

impl Figure {
    pub const ALL: [Figure; 5] = [
        Figure::Figure1,
        Figure::Figure2,
        Figure::Figure3,
        Figure::FigureS5,
        Figure::Table1,
    ];

    /// The command name, also the preset's file stem and the figure's file stem.
    pub fn name(self) -> &'static str {
        match self {
            Figure::Figure1 => "figure1",
            Figure::Figure2 => "figure2",
            Figure::Figure3 => "figure3",
            Figure::FigureS5 => "figure-s5",
            Figure::Table1 => "table1",
        }
    }

    /// The preset's text (`configs/<name>.toml`, compiled in).
    pub fn preset(self) -> &'static str {
        match self {
            Figure::Figure1 => include_str!("../../../../configs/figure1.toml"),
            Figure::Figure2 => include_str!("../../../../configs/figure2.toml"),
            Figure::Figure3 => include_str!("../../../../configs/figure3.toml"),
            Figure::FigureS5 => include_str!("../../../../configs/figure-s5.toml"),
            Figure::Table1 => include_str!("../../../../configs/table1.toml"),
        }
    }

    /// The grid axes the figure varies: every value of each is run (the settings it does not
    /// vary, such as Figure 3's width, are its runs' shared settings).
    pub fn axes(self) -> &'static [Axis] {
        match self {
            Figure::Figure1 => &[Axis::Betas, Axis::Widths],
            Figure::Figure2 => &[Axis::Betas, Axis::Widths, Axis::Seeds],
            Figure::Figure3 => &[Axis::Gammas],
            Figure::FigureS5 => &[Axis::Betas, Axis::Batches],
            Figure::Table1 => &[Axis::Widths, Axis::Betas],
        }
    }

    /// The limit-run widths the figure has (`reference_width`, `reference_width_one`).
    pub fn references(self) -> &'static [&'static str] {
        match self {
            Figure::Figure1 => &["reference_width", "reference_width_one"],
            Figure::Figure3 | Figure::FigureS5 => &["reference_width"],
            Figure::Figure2 | Figure::Table1 => &[],
        }
    }

    /// Settings the figure sets itself in every run besides its axes, with why.
    pub fn sets(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Figure::Figure3 => &[("beta", "Figure 3 is β = 1, against the β < 1 limit")],
            Figure::Figure2 => &[(
                "init_seed",
                "every weight starts at one constant (the preset's const init), so the runs differ only by their seeds' batches: give --seeds",
            )],
            _ => &[],
        }
    }

    /// The settings the figure refuses, as flags or in a `--config` file's `train`, with why
    /// ([`crate::axes::refused_settings`]: its axes' settings, [`Self::sets`], `init_from`
    /// where its runs differ in width, `out`).
    pub fn refused(self) -> Vec<(&'static str, String)> {
        crate::axes::refused_settings(
            self.name(),
            self.axes(),
            self.sets(),
            false,
            !self.references().is_empty(),
        )
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Figure {
    type Err = crate::StudyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Figure::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                crate::StudyError::Invalid(format!(
                    "no figure {s:?}; known: {}",
                    Figure::ALL.map(Figure::name).join(", ")
                ))
            })
    }
}
