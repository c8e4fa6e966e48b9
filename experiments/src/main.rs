//! `experiments`: the command-line program. Thin: parses flags, resolves a config, calls the
//! libraries.

mod cli;

use anyhow::Result;
use clap::Parser;

fn main() -> std::process::ExitCode {
    match run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> Result<()> {
    match cli.command {
        cli::Command::Fetch { dataset, data_dir } => {
            let dir = dataset.fetch(&data_dir, &mut |line| eprintln!("{line}"))?;
            eprintln!("{dataset} ready in {}", dir.display());
            Ok(())
        }
        cli::Command::Train { preset, args } => {
            let config = args.resolve(preset)?;
            let outcome = meanfield_train::trainer::train(
                &config,
                meanfield_train::trainer::RunOptions {
                    quiet: args.quiet,
                    force: args.force,
                },
            )?;
            if let meanfield_train::Outcome::Reused { dir, .. } = &outcome {
                eprintln!(
                    "{} already holds a finished run of this setting: reused (pass --force to train again)",
                    dir.display()
                );
            }
            println!("{}", serde_json::to_string_pretty(outcome.summary())?);
            Ok(())
        }
    }
}
