//! `report.md` of a figure: the protocol, the scale that produced it, the figure, the key
//! numbers, the runs that failed, and how long it took.

use super::context::FigureSummary;
use super::preset::{FigureSpec, Scale};
use crate::StudyError;
use std::path::{Path, PathBuf};

/// What goes into a figure's report.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub title: &'a str,
    pub scale: Scale,
    pub spec: &'a FigureSpec,
    /// File names (in the same folder) of the figure's images.
    pub images: Vec<String>,
    /// Markdown: the key numbers, with a sentence on what they show.
    pub key_numbers: String,
    /// CSV files (names in the same folder) with the numbers behind the figure.
    pub data_files: Vec<&'a str>,
    pub failed: &'a [String],
    pub seconds: f64,
    /// The command line that reproduces it.
    pub command: String,
}

impl Report<'_> {
    /// Writes the report into `out` and returns the command's summary (the report's path, the
    /// key lines, and the report's own failed runs and time). The one rule for failed runs of
    /// every figure: the report is always written and lists them; when no run of the `total`
    /// succeeded (`shown` is 0) the command then fails with [`StudyError::RunsFailed`].
    pub fn finish(
        &self,
        out: &Path,
        key_lines: Vec<String>,
        shown: usize,
        total: usize,
    ) -> Result<FigureSummary, StudyError> {
        let report = self.write(out)?;
        if shown == 0 {
            return Err(StudyError::RunsFailed {
                failed: self.failed.len(),
                total,
                details: self.failed.join("\n"),
            });
        }
        Ok(FigureSummary {
            report,
            key_lines,
            failed: self.failed.to_vec(),
            seconds: self.seconds,
        })
    }

    pub fn write(&self, out: &Path) -> Result<PathBuf, StudyError> {
        let scale = match self.scale {
            Scale::Paper => "**paper** — the paper's protocol as stated below.".to_string(),
            Scale::Quick => {
                "**quick** — NOT the paper's protocol: the `[quick]` keys of the preset \
                 (smaller widths, fewer steps and/or a subset of the data) show the same \
                 effect on a 2-core CPU in minutes. Numbers are not comparable to the paper's."
                    .to_string()
            }
        };
        let mut md = format!(
            "# {}\n\nScale: {scale}\n\nProtocol of the preset (any overrides are in the settings at the end): {}\n\n{:.0} s for this call (runs finished by an earlier call are reused, not trained again, and cost nothing here).\n\n",
            self.title, self.spec.protocol, self.seconds
        );
        for image in &self.images {
            md.push_str(&format!("![{}]({image})\n\n", self.title));
        }
        md.push_str("## Key numbers\n\n");
        md.push_str(&self.key_numbers);
        md.push_str("\n\nThe numbers behind the figure: ");
        md.push_str(
            &self
                .data_files
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        md.push_str(".\n");
        let settings = format!(
            "## Settings (after scale and overrides)\n\n```toml\n{}```\n",
            self.spec.to_toml()
        );
        crate::report::write(out, &md, &self.command, self.failed, &settings)
    }
}
