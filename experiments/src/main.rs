//! `experiments`: the command-line program. Thin: parses flags, resolves a config, calls the
//! libraries.

mod cli;

use anyhow::Result;
use clap::Parser;

fn main() -> std::process::ExitCode {
    // Ctrl-C: running trainings write a checkpoint after their current step and stop; a
    // second Ctrl-C exits at once.
    install_interrupt_handler();
    // Large per-step buffers reuse freed pages instead of fresh mmaps (2x faster steps at
    // N ≥ 10^4 on glibc; see meanfield_train::allocator).
    meanfield_train::allocator::reuse_freed_memory();
    match run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes, each once (library errors already quote their source).
            let mut message = e.to_string();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            eprintln!("error: {message}");
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
        cli::Command::Chaos(args) => chaos(&args),
        cli::Command::CoordCheck(args) => coord_check(&args),
        cli::Command::Distance(args) => distance(&args),
        cli::Command::Figure { name, args } => figure(name, &args),
        cli::Command::Train { preset, args } => {
            let config = args.resolve(preset)?;
            let outcome = meanfield_train::trainer::train(
                &config,
                meanfield_train::trainer::RunOptions {
                    quiet: args.quiet,
                    force: args.force,
                    resume: args.resume,
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
        let device = backend.device()?;
        for engine in &args.engines {
            let engine: meanfield_train::Engine = engine.parse()?;
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
                    // The peak is measured next to each case, not once per backend: on a shared
                    // machine the throughput drifts over a run, and the ratio should compare
                    // the step with the peak of the same minute.
                    let peak = matmul_peak(&device, args.peak_size);
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

/// The study's setting: the preset and flags, without --out (the study folder) and with no
/// --width/--seed (the study sets them).
fn study_base(train: &cli::TrainArgs, preset: &str) -> Result<meanfield_train::TrainConfig> {
    if train.width.is_some() || train.seed.is_some() {
        anyhow::bail!(
            "this command sets the width and seed of each run: use --widths and --seeds (not --width/--seed)"
        );
    }
    let mut args = train.clone();
    args.out = None;
    args.resolve(preset)
}

fn chaos(args: &cli::ChaosArgs) -> Result<()> {
    let base = study_base(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        std::path::PathBuf::from(format!("studies/chaos-{}-beta{}", base.dataset, base.beta))
    });
    let study = meanfield_study::chaos::ChaosStudy {
        base,
        widths: args.widths.clone(),
        seeds: args.seeds.clone(),
        reference: args.reference.clone(),
        projections: args.projections,
        projection_seeds: args.projection_seeds.clone(),
        coordinate: args.coordinate,
        jobs: args.jobs,
        out: out.clone(),
    };
    let result = study.run(&|line| eprintln!("{line}"))?;
    for (name, fit) in [
        ("to reference, sliced W2", result.fits.to_reference_sliced),
        (
            "to reference, coordinate W2",
            result.fits.to_reference_coordinate,
        ),
        ("between seeds, sliced W2", result.fits.between_seeds_sliced),
        (
            "between seeds, coordinate W2",
            result.fits.between_seeds_coordinate,
        ),
    ] {
        match fit {
            Some(f) => println!(
                "{name}: slope {:.3}, 95% interval [{:.3}, {:.3}] ({} widths)",
                f.slope, f.ci_low, f.ci_high, f.points
            ),
            None => println!("{name}: not enough widths to fit"),
        }
    }
    if !result.failed_runs.is_empty() {
        eprintln!("{} runs failed (see report.md)", result.failed_runs.len());
    }
    println!("{:.0} s; results in {}", result.seconds, out.display());
    Ok(())
}

fn coord_check(args: &cli::CoordCheckArgs) -> Result<()> {
    let base = study_base(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        std::path::PathBuf::from(format!(
            "studies/coord-check-{}-beta{}",
            base.dataset, base.beta
        ))
    });
    let check = meanfield_study::coord_check::CoordCheck {
        base,
        widths: args.widths.clone(),
        steps: args.k,
        out: out.clone(),
    };
    check.run(&|line| eprintln!("{line}"))?;
    println!("results in {}", out.display());
    Ok(())
}

fn figure(name: &str, args: &cli::FigureArgs) -> Result<()> {
    use meanfield_study::figure_preset::{Overrides, Scale};
    use meanfield_study::figures::{FigureContext, resolve_spec, run_figure};
    let scale: Scale = args.scale.parse()?;
    let extra = match &args.train.config {
        Some(path) => Some((
            path.display().to_string(),
            meanfield_train::config::read_table(path)?,
        )),
        None => None,
    };
    let overrides = Overrides {
        betas: args.betas.clone(),
        widths: args.widths.clone(),
        seeds: args.seeds.clone(),
        gammas: args.gammas.clone(),
        batches: args.batches.clone(),
        reference_width: args.reference_width,
        train: args.train.settings()?,
    };
    let overridden = extra.is_some() || overrides.given().iter().any(|(_, set)| *set);
    let spec = resolve_spec(name, scale, extra, overrides)?;
    let ctx = FigureContext {
        scale,
        out: args
            .train
            .out
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(format!("figures/{name}-{scale}"))),
        runs_dir: args.runs_dir.clone(),
        jobs: args.jobs,
        command: std::env::args()
            .enumerate()
            .map(|(i, a)| if i == 0 { "experiments".to_string() } else { a })
            .collect::<Vec<_>>()
            .join(" "),
    };
    eprintln!(
        "{name} at {scale} scale: {}{}",
        spec.protocol,
        if overridden {
            " — with the overrides given (report.md lists the settings used)"
        } else {
            ""
        }
    );
    let summary = run_figure(name, &spec, &ctx, &|line| eprintln!("{line}"))?;
    for line in &summary.key_lines {
        println!("{line}");
    }
    println!(
        "{:.0} s; report in {}",
        summary.seconds,
        summary.report.display()
    );
    if !summary.failed.is_empty() {
        anyhow::bail!(
            "{} runs failed (listed in {}); the figure shows the others. Run the same command again to retry them",
            summary.failed.len(),
            summary.report.display()
        );
    }
    Ok(())
}

fn distance(args: &cli::DistanceArgs) -> Result<()> {
    use meanfield_train::weights::load_matrix;
    let (a, [na, da]) = load_matrix(&args.a)?;
    let (b, [nb, db]) = load_matrix(&args.b)?;
    if args.coordinate >= da.min(db) {
        anyhow::bail!(
            "--coordinate {} is out of range: the files have {da} and {db} columns",
            args.coordinate
        );
    }
    let col = |v: &[f32], d: usize| -> Vec<f64> {
        v.chunks_exact(d)
            .map(|r| r[args.coordinate] as f64)
            .collect()
    };
    let w2 = meanfield_chaos::w2_1d(&col(&a, da), &col(&b, db))?;
    let sw = meanfield_chaos::sliced_w2_seeds(
        meanfield_chaos::Cloud::new(&a, da)?,
        meanfield_chaos::Cloud::new(&b, db)?,
        args.projections,
        &args.projection_seeds,
    )?;
    println!(
        "{{\"rows\": [{na}, {nb}], \"dim\": {da}, \"w2_coordinate\": {w2}, \"sliced_w2_mean\": {}, \"sliced_w2_std\": {}, \"projections\": {}, \"projection_seeds\": {}}}",
        sw.mean, sw.std, args.projections, sw.seeds
    );
    Ok(())
}

static INTERRUPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn on_sigint(_: libc::c_int) {
    // Only async-signal-safe work here: an atomic increment, an atomic flag, _exit.
    if INTERRUPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
        unsafe { libc::_exit(130) };
    }
    meanfield_train::trainer::request_interrupt();
}

fn install_interrupt_handler() {
    // SAFETY: the handler only touches atomics and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}
