//! The command line this process was started with, read once: shown in reports, and turned into
//! the commands a plan's jobs and its assembly run.

use crate::flags;
use anyhow::Result;
use meanfield_study::StudyError;
use meanfield_study::grid::Measured;
use meanfield_study::plan::GridMode;

/// The grid mode of `--plan DIR` / `--assemble-only` / `--force`; the assemble command is this
/// command line with `--plan DIR` replaced by `--assemble-only`. A plan's folder is checked
/// here, before the study touches anything: a folder of the user's is refused.
pub(crate) fn grid_mode(args: &flags::GridArgs, invocation: &Invocation) -> Result<GridMode> {
    if let Some(dir) = &args.plan {
        meanfield_study::folders::check_plan(dir)?;
        if let Some(out) = &args.out {
            separate(&[("--out", out), ("--plan", dir)])?;
        }
    }
    Ok(match &args.plan {
        Some(dir) => GridMode::Plan {
            dir: dir.clone(),
            assemble: invocation.assemble(),
            job: format!(
                "{} run --config {} --quiet",
                shell_word(&invocation.program()),
                meanfield_study::plan::CONFIG_SLOT
            ),
        },
        None if args.assemble_only => GridMode::AssembleOnly,
        None => GridMode::Train { force: args.force },
    })
}

/// Refuses two of a grid's folders (its results, its job list, its runs) that are the same
/// folder or one inside the other: each is claimed for one kind of content, so the second would
/// be refused after the first was made. Compared as written, made absolute.
pub(crate) fn separate(folders: &[(&str, &std::path::Path)]) -> Result<()> {
    let absolute = |p: &std::path::Path| {
        std::path::absolute(p)
            .map(|p| p.components().collect::<std::path::PathBuf>())
            .unwrap_or_else(|_| p.to_path_buf())
    };
    // A folder of the system is refused as such where it is checked (it holds everything).
    let folders: Vec<_> = folders
        .iter()
        .filter(|(_, p)| meanfield_io::owned::system_location(p).is_none())
        .collect();
    for (i, (a, pa)) in folders.iter().enumerate() {
        for (b, pb) in &folders[i + 1..] {
            let (x, y) = (absolute(pa), absolute(pb));
            if x.starts_with(&y) || y.starts_with(&x) {
                anyhow::bail!(
                    "{a} {} and {b} {} are the same folder or one holds the other: each holds one kind of file (results, job list, runs); give separate folders",
                    pa.display(),
                    pb.display()
                );
            }
        }
    }
    Ok(())
}

/// The command line this process was started with, read once.
pub(crate) struct Invocation {
    /// The program as started, then its arguments.
    pub(crate) words: Vec<String>,
}

impl Invocation {
    pub(crate) fn read() -> Self {
        Invocation {
            words: std::env::args().collect(),
        }
    }

    /// The command that reproduces a result from scratch, for a report's "Reproduce" line:
    /// `experiments ARGS`, quoted for a shell where needed, without `--force` and
    /// `--assemble-only`, which say how this call reused runs, not what it computed.
    pub(crate) fn reproduce(&self) -> String {
        let args = self
            .words
            .iter()
            .skip(1)
            .filter(|w| *w != "--force" && *w != "--assemble-only")
            .map(|w| shell_word(w));
        std::iter::once("experiments".to_string())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// This program's full path (as started, if the system cannot say).
    pub(crate) fn program(&self) -> String {
        std::env::current_exe().map_or_else(
            |_| self.words.first().cloned().unwrap_or_default(),
            |p| p.display().to_string(),
        )
    }

    /// The same command with `--plan DIR` replaced by `--assemble-only`, the program named by
    /// its full path: what a plan's README tells to run once the jobs are done.
    pub(crate) fn assemble(&self) -> String {
        let mut words = Vec::new();
        let mut args = self.words.iter().enumerate();
        while let Some((i, a)) = args.next() {
            if a == "--plan" {
                args.next();
                words.push("--assemble-only".to_string());
            } else if a.starts_with("--plan=") {
                words.push("--assemble-only".to_string());
            } else if i == 0 {
                words.push(shell_word(&self.program()));
            } else {
                words.push(shell_word(a));
            }
        }
        words.join(" ")
    }
}

/// `word` as a shell reads it back: as is when it has only safe characters, else in single
/// quotes.
pub(crate) fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A grid command's result, or `None` after `--plan` wrote its jobs (said on stderr).
pub(crate) fn planned<T>(result: Result<Measured<T>, StudyError>) -> Result<Option<T>> {
    match result? {
        Measured::Done(v) => Ok(Some(v)),
        Measured::Planned(plan) => {
            println!("{plan}");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words with spaces or quotes come back quoted so a shell reads them as one word each.
    #[test]
    fn command_lines_are_quoted_for_a_shell() {
        assert_eq!(
            shell_word("plan/configs/0001.toml"),
            "plan/configs/0001.toml"
        );
        assert_eq!(shell_word("my plan"), "'my plan'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        let invocation = Invocation {
            words: [
                "./experiments",
                "figure3",
                "--plan",
                "my plan",
                "--jobs",
                "2",
            ]
            .map(String::from)
            .to_vec(),
        };
        assert_eq!(
            invocation.reproduce(),
            "experiments figure3 --plan 'my plan' --jobs 2"
        );
        assert!(
            invocation
                .assemble()
                .ends_with(" figure3 --assemble-only --jobs 2"),
            "{}",
            invocation.assemble()
        );
        let forced = Invocation {
            words: [
                "x",
                "chaos",
                "--force",
                "--widths",
                "8,16",
                "--assemble-only",
            ]
            .map(String::from)
            .to_vec(),
        };
        assert_eq!(forced.reproduce(), "experiments chaos --widths 8,16");
        let equals = Invocation {
            words: ["x", "chaos", "--plan=p"].map(String::from).to_vec(),
        };
        assert!(equals.assemble().ends_with(" chaos --assemble-only"));
    }
}
