//! `report.md`, written in one place for every study and figure: its title, the command that
//! reproduces it, the study's own markdown (its numbers and charts), then the runs that failed
//! (the one rule: always listed, right after the results they are missing from), then an
//! appendix (a figure's settings), written atomically. A grid with failed runs writes what it
//! could here, and its command then exits non-zero.

use crate::StudyError;
use std::path::{Path, PathBuf};

/// The report's file name in a study's or figure's folder.
pub const FILE: &str = "report.md";

/// Writes the report of a grid that measured nothing (`why`: the failure that mattered, such as
/// its reference run's), listing the `failed` runs, and returns the error its command exits
/// with (or the error writing the report).
pub fn nothing_measured(
    out: &Path,
    title: &str,
    command: &str,
    failed: &[String],
    total: usize,
    why: &str,
) -> StudyError {
    let body = format!("{title}\n\nNothing was measured: {why}.\n");
    match crate::folders::claim_results(out).and_then(|()| write(out, &body, command, failed, "")) {
        Ok(path) => StudyError::RunsFailed {
            failed: failed.len(),
            total,
            details: format!("{why} (report: {})", path.display()),
        },
        Err(e) => e,
    }
}

/// Writes `out/report.md`: `body`'s title line, then "Reproduce: `command`", then the rest of
/// `body`, the failed-runs section ([`failed_section`], nothing when none failed), then
/// `appendix`. Returns the report's path.
pub fn write(
    out: &Path,
    body: &str,
    command: &str,
    failed: &[String],
    appendix: &str,
) -> Result<PathBuf, StudyError> {
    let (title, rest) = body.split_once('\n').unwrap_or((body, ""));
    let mut md = format!(
        "{title}\n\nReproduce: `{command}`\n{}",
        if rest.starts_with('\n') { "" } else { "\n" }
    );
    md.push_str(rest);
    let failed = failed_section(failed);
    if !failed.is_empty() {
        if !md.ends_with('\n') {
            md.push('\n');
        }
        md.push_str(&failed);
    }
    if !appendix.is_empty() {
        if !md.ends_with("\n\n") {
            md.push('\n');
        }
        md.push_str(appendix);
    }
    let path = out.join(FILE);
    crate::write_file(&path, md.as_bytes())?;
    Ok(path)
}

/// The section listing the runs that failed: how many, and each run's setting and error
/// ([`crate::grid::Runs::failed`]); empty when none did.
pub fn failed_section(failed: &[String]) -> String {
    if failed.is_empty() {
        return String::new();
    }
    let mut md = format!("\n## Failed runs ({}; left out above)\n\n", failed.len());
    for f in failed {
        md.push_str(&format!("- {f}\n"));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_section_lists_each_run_or_nothing() {
        assert_eq!(failed_section(&[]), "");
        let md = failed_section(&["N = 20: diverged".into(), "N = 40: no space".into()]);
        assert!(md.contains("## Failed runs (2; left out above)"), "{md}");
        assert!(
            md.contains("- N = 20: diverged\n- N = 40: no space\n"),
            "{md}"
        );
    }

    /// The body, then the failed runs, then the appendix, in that order; nothing added when no
    /// run failed.
    #[test]
    fn the_report_is_body_failed_runs_appendix() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "# T\n\nnumbers\n",
            "experiments tails",
            &["N = 5: diverged".into()],
            "## Settings\n",
        )
        .unwrap();
        let md = std::fs::read_to_string(&path).unwrap();
        let (reproduce, numbers, failed, settings) = (
            md.find("Reproduce: `experiments tails`").unwrap(),
            md.find("numbers").unwrap(),
            md.find("## Failed runs (1").unwrap(),
            md.find("## Settings").unwrap(),
        );
        assert!(
            reproduce < numbers && numbers < failed && failed < settings,
            "{md}"
        );
        write(dir.path(), "# T\n\nnumbers\n", "experiments x", &[], "").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# T\n\nReproduce: `experiments x`\n\nnumbers\n"
        );
    }
}
