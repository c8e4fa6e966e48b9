//! The folders a study or figure writes: its results (`out`: `report.md`, CSVs, charts) and
//! its job list (`--plan DIR`). Each is checked before any run of the grid starts, so a folder
//! of the user's is refused at once rather than after hours of training, and claimed with the
//! program's marker when first written ([`meanfield_train::folders`]).

use crate::StudyError;
use meanfield_io::owned::Kind;
use std::path::Path;

/// The first lines of the `report.md`s earlier versions wrote (studies), and what every
/// figure's report holds: how a results folder made before markers is recognised.
const STUDY_TITLES: [&str; 4] = [
    "# Propagation of chaos: ",
    "# Synchronous coupling: ",
    "# SGD against its diffusion",
    "# Tails: ",
];

/// Whether `dir` holds results an earlier version of the program wrote: a `report.md` of one
/// of its studies or figures, the coordinate check's CSV, or only the `runs/` folder of a study
/// stopped before its report.
fn earlier_results(dir: &Path, names: &[String]) -> bool {
    if names == ["runs/"] {
        return true;
    }
    if let Ok(text) = std::fs::read_to_string(dir.join(crate::report::FILE)) {
        let first = text.lines().next().unwrap_or("");
        if STUDY_TITLES.iter().any(|t| first.starts_with(t))
            || (text.contains("\n\nScale: ") && text.contains("Reproduce: `experiments "))
        {
            return true;
        }
    }
    std::fs::read_to_string(dir.join("coord_check.csv"))
        .is_ok_and(|t| t.starts_with(crate::coord_check::CSV_HEADER))
}

/// Whether `dir` holds a job list an earlier version wrote (`jobs.txt` and its README).
fn earlier_plan(dir: &Path, _names: &[String]) -> bool {
    dir.join("jobs.txt").is_file()
        && std::fs::read_to_string(dir.join("README.md")).is_ok_and(|t| t.starts_with("# Job list"))
}

/// Checks that a study's or figure's results may go into `out` (reads only).
pub fn check_results(out: &Path) -> Result<(), StudyError> {
    Ok(meanfield_train::folders::check(
        out,
        Kind::Study,
        "out",
        &earlier_results,
    )?)
}

/// Before a grid's runs: under `--plan` (nothing is measured yet) `out` is only checked, so a
/// plan leaves no results folder behind; otherwise it is claimed ([`claim_results`]).
pub fn prepare_results(out: &Path, mode: &crate::plan::GridMode) -> Result<(), StudyError> {
    match mode {
        crate::plan::GridMode::Plan { .. } => check_results(out),
        _ => claim_results(out),
    }
}

/// Creates `out` when needed and marks it as this program's results folder.
pub fn claim_results(out: &Path) -> Result<(), StudyError> {
    check_results(out)?;
    Ok(meanfield_train::folders::claim(out, Kind::Study)?)
}

/// Checks that a job list may go into `dir` (`--plan DIR`; reads only).
pub fn check_plan(dir: &Path) -> Result<(), StudyError> {
    Ok(meanfield_train::folders::check(
        dir,
        Kind::Plan,
        "plan",
        &earlier_plan,
    )?)
}

/// Checks, creates and marks `dir` for a job list (`--plan DIR`).
pub fn claim_plan(dir: &Path) -> Result<(), StudyError> {
    check_plan(dir)?;
    Ok(meanfield_train::folders::claim(dir, Kind::Plan)?)
}

/// What a default output folder adds for the particle diffusion, so its results never land in
/// SGD's folder: `-diffusion`, or nothing for SGD.
pub fn dynamics_suffix(base: &meanfield_train::TrainConfig) -> &'static str {
    if base.dynamics.is_sgd() {
        ""
    } else {
        "-diffusion"
    }
}

/// A study's default folder: `studies/<kind>-<dataset>-beta<β>`, then `-alpha<α>` for a
/// decaying step, the study's own `variant` and the dynamics' suffix, so that studies of
/// different settings never share a folder. The command line and the Python package both
/// name their studies' folders with it.
pub fn default_folder(
    kind: &str,
    base: &meanfield_train::TrainConfig,
    variant: &str,
) -> std::path::PathBuf {
    let alpha = if base.alpha == 0.0 {
        String::new()
    } else {
        format!("-alpha{}", base.alpha)
    };
    std::path::PathBuf::from(format!(
        "studies/{kind}-{}-beta{}{alpha}{variant}{}",
        base.dataset,
        base.beta,
        dynamics_suffix(base)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_train::TrainConfig;
    use std::path::PathBuf;

    /// Studies of other α, variants or dynamics get other folders; α = 0 keeps the old name.
    #[test]
    fn study_folders_name_alpha_variant_and_dynamics() {
        let mut base = TrainConfig::from_preset("chaos-quick").unwrap();
        base.beta = 0.75;
        assert_eq!(
            default_folder("coupling", &base, ""),
            PathBuf::from("studies/coupling-mnist-beta0.75")
        );
        assert_eq!(
            crate::coupling::CouplingStudy::default_out(&base, true),
            PathBuf::from("studies/coupling-mnist-beta0.75-shared")
        );
        base.alpha = 0.25;
        base.dynamics = meanfield_train::Dynamics::Diffusion;
        assert_eq!(
            default_folder("coupling", &base, "-shared"),
            PathBuf::from("studies/coupling-mnist-beta0.75-alpha0.25-shared-diffusion")
        );
    }
}
