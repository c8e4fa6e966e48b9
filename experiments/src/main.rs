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
        cli::Command::Bench(args) => bench(&args),
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

fn bench(args: &cli::BenchArgs) -> Result<()> {
    use meanfield_train::bench::{BenchCase, auto_iterations, matmul_peak, measure, write_csv};
    let readout: meanfield_train::model::Readout = args.readout.parse()?;
    let mut rows = Vec::new();
    println!(
        "backend,engine,width,input_dim,batch,iterations,ms_per_step,steps_per_s,gflops,peak_gflops,fraction_of_peak,peak_rss_mib"
    );
    for backend in &args.backends {
        let backend: meanfield_train::Backend = backend.parse()?;
        let peak = matmul_peak(&backend.device()?, args.peak_size);
        eprintln!(
            "{backend}: {}x{} f32 matmul {peak:.1} GFLOP/s",
            args.peak_size, args.peak_size
        );
        for engine in &args.engines {
            let engine: meanfield_train::Engine = toml::Value::String(engine.clone())
                .try_into()
                .map_err(|_| {
                    anyhow::anyhow!("--engines: {engine:?} is not closed-form or autodiff")
                })?;
            for &input_dim in &args.input_dims {
                for &width in &args.widths {
                    let mut case = BenchCase {
                        backend,
                        engine,
                        readout,
                        width,
                        input_dim,
                        batch: args.batch,
                        classes: 10,
                        warmup: 1,
                        iterations: 3,
                    };
                    case.iterations = auto_iterations(&case, args.seconds)?;
                    let r = measure(&case, peak)?;
                    println!(
                        "{},{},{},{},{},{},{:.3},{:.2},{:.1},{:.1},{:.3},{:.0}",
                        r.backend,
                        r.engine,
                        r.width,
                        r.input_dim,
                        r.batch,
                        r.iterations,
                        r.seconds_per_step * 1e3,
                        r.steps_per_second,
                        r.gflops,
                        r.peak_gflops,
                        r.fraction_of_peak,
                        r.peak_rss_mib
                    );
                    rows.push(r);
                }
            }
        }
    }
    if let Some(path) = &args.csv {
        write_csv(path, &rows)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
