//! `experiments`: the command-line program. Thin: parses flags, resolves a config, fetches
//! missing data, calls the libraries, prints their results. Process-wide decisions live here
//! and nowhere else: the allocator settings and the Ctrl-C handler.

mod allocator;
mod cli;
mod fetch_progress;
mod flags;
mod interrupt;
mod processes;

use anyhow::Result;
use cli::Command;
use fetch_progress::FetchProgress;
use meanfield_study::StudyError;
use meanfield_study::figures::{Figure, FigureContext, Overrides};
use meanfield_study::grid::Measured;
use meanfield_study::plan::GridMode;
use meanfield_train::data::DatasetKind;
use meanfield_train::data::download::{FetchLog, human_bytes};
use meanfield_train::data::fetch::Archive;
use meanfield_train::shard::Shard;
use meanfield_train::summary::Status;
use meanfield_train::{Outcome, RunOptions, StopHandle, TrainConfig, TrainError};
use std::path::{Path, PathBuf};

fn main() -> std::process::ExitCode {
    // Ctrl-C, SIGTERM, SIGHUP: running trainings write a checkpoint after their current step
    // and stop; a second signal exits at once.
    let stop = interrupt::install();
    // Large per-step buffers reuse freed pages instead of fresh mmaps (2x faster steps at
    // N ≥ 10^4 on glibc; see allocator.rs).
    allocator::reuse_freed_memory();
    // One process, or one of several MPI processes training one run (feature `mpi`).
    let processes = match processes::Processes::start() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The command line, read once: parsed, and quoted back in reports and job lists.
    let invocation = Invocation::read();
    match run(
        cli::parse(&invocation.words).command,
        &stop,
        &processes,
        &invocation,
    ) {
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
            // Settings named by the libraries, spelled as this program's flags.
            let message = flags::spell(&message);
            match processes.size() {
                1 => eprintln!("error: {message}"),
                size => eprintln!("error (process {} of {size}): {message}", processes.rank()),
            }
            // Stopped by a signal (checkpointed, resumable): 128 + its number, as shells say.
            match interrupt::exit_code() {
                Some(code) => std::process::ExitCode::from(code),
                None => {
                    // The other processes may be waiting for this one in an exchange.
                    processes.abort_others(1);
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}

fn run(
    command: Command,
    stop: &StopHandle,
    processes: &processes::Processes,
    invocation: &Invocation,
) -> Result<()> {
    if let Some((preset, args)) = command.training() {
        return train(Some(preset), args, stop, processes);
    }
    if let Command::Run(args) = &command {
        return train(None, args, stop, processes);
    }
    if processes.size() > 1 {
        anyhow::bail!(
            "only a training command (mnist, cifar, fashion-mnist, synthetic, arrays, run) runs over several MPI processes, as one run sharded by particles; run this command as one process (a grid's runs go to a cluster as jobs: --plan, docs/cluster.md)"
        );
    }
    if let Some((figure, args)) = command.figure() {
        return run_figure(figure, args, stop, invocation);
    }
    match &command {
        Command::Fetch {
            dataset,
            data_dir,
            url,
            md5,
            python,
            quiet,
        } => {
            let log = &mut FetchProgress::new(*quiet);
            let dir = if *dataset == DatasetKind::Cifar10 {
                let archive = cifar_archive(*python, url.clone(), md5.clone());
                meanfield_train::data::fetch::fetch_cifar10(data_dir, &archive, log)?
            } else {
                if url.is_some() || md5.is_some() || *python {
                    anyhow::bail!("--url, --md5 and --python apply to `fetch cifar10` only");
                }
                dataset.fetch(data_dir, log)?
            };
            if !quiet {
                eprintln!("{dataset} ready in {}", dir.display());
            }
            Ok(())
        }
        Command::Bench(args) => bench(args),
        Command::Chaos(args) => chaos(args, stop, invocation),
        Command::CoordCheck(args) => coord_check(args),
        Command::Tails(args) => tails(args, stop, invocation),
        Command::SgdVsDiffusion(args) => sgd_vs_diffusion(args, stop, invocation),
        Command::Coupling(args) => coupling(args, stop, invocation),
        Command::Distance(args) => distance(args),
        Command::Runs { dir } => list_runs(dir),
        _ => unreachable!("training and figure commands are handled above"),
    }
}

/// The CIFAR-10 archive to fetch: the published one (binary, or Python with `python`), with
/// the URL and MD5 from the flags, else from $MEANFIELD_CIFAR10_URL / $MEANFIELD_CIFAR10_MD5
/// (the process environment is read here, in the binary, not in the library).
fn cifar_archive(python: bool, url: Option<String>, md5: Option<String>) -> Archive {
    let mut archive = if python {
        Archive::published_python()
    } else {
        Archive::published()
    };
    if let Some(url) = url.or_else(|| std::env::var("MEANFIELD_CIFAR10_URL").ok()) {
        archive.url = url;
        // A mirror's size is what its server says.
        archive.bytes = None;
    }
    if let Some(md5) = md5.or_else(|| std::env::var("MEANFIELD_CIFAR10_MD5").ok()) {
        archive.md5 = md5;
    }
    archive
}

/// Fetches a missing dataset into `data_dir` (unless `--no-fetch`): MNIST and Fashion-MNIST
/// from their mirrors or offline sources, CIFAR-10's published archive (or the mirror of
/// $MEANFIELD_CIFAR10_URL). The synthetic task and your own arrays are never fetched; their
/// loaders say what is missing.
fn ensure_data(dataset: DatasetKind, data_dir: &Path, no_fetch: bool, quiet: bool) -> Result<()> {
    let fetchable = matches!(
        dataset,
        DatasetKind::Mnist | DatasetKind::FashionMnist | DatasetKind::Cifar10
    );
    if no_fetch || !fetchable || dataset.check_present(data_dir).is_ok() {
        return Ok(());
    }
    let log = &mut FetchProgress::new(quiet);
    let dir = dataset.dir(data_dir);
    if dataset == DatasetKind::Cifar10 {
        let archive = cifar_archive(false, None, None);
        log.line(&format!(
            "cifar10 is missing from {}: fetching the archive {} ({}) into {}, MD5 checked \
             (--no-fetch to stop this; `experiments fetch cifar10 --python` for the Python version)",
            data_dir.display(),
            archive.url,
            archive
                .bytes
                .map_or("size as the server says".into(), human_bytes),
            dir.display(),
        ));
        meanfield_train::data::fetch::fetch_cifar10(data_dir, &archive, log)?;
    } else {
        log.line(&format!(
            "{dataset} is missing from {}: fetching it (--no-fetch to stop this)",
            dir.display()
        ));
        dataset.fetch(data_dir, log)?;
    }
    Ok(())
}

fn train(
    preset: Option<&str>,
    args: &cli::TrainArgs,
    stop: &StopHandle,
    processes: &processes::Processes,
) -> Result<()> {
    let config = match preset {
        Some(preset) => args.resolve(preset)?,
        None => args.resolve_without_preset()?,
    };
    // Under MPI every process trains one block of the run's particles; the first (the lead)
    // fetches missing data, writes the run's files and speaks for the run.
    let shard = match processes.collective() {
        Some(c) => Some(Shard::new(c, config.net_width())?),
        None => None,
    };
    let lead = shard.as_ref().is_none_or(Shard::is_lead);
    let quiet = args.quiet || !lead;
    if !quiet {
        for warning in config.warnings() {
            eprintln!("{}", flags::spell(&warning));
        }
    }
    let fetched = if lead {
        ensure_data(config.dataset, &config.data_dir, args.no_fetch, quiet)
    } else {
        Ok(())
    };
    // The others wait for the lead's fetch, and stop if it failed.
    if let Some(s) = &shard
        && s.lead_says(u32::from(fetched.is_ok())) == 0
        && !lead
    {
        return Err(TrainError::ShardFailed { ranks: vec![0] }.into());
    }
    fetched?;
    let options = RunOptions {
        quiet,
        force: args.force,
        resume: args.resume,
        stop: stop.clone(),
        wait: args.wait,
        shard,
    };
    let outcome = meanfield_train::train(&config, options)?;
    if !lead {
        return Ok(());
    }
    if let Outcome::Reused { dir, .. } = &outcome {
        eprintln!(
            "{} already holds a finished run of this setting: reused (pass --force to train again)",
            dir.display()
        );
    }
    // The run's summary.json, as written.
    let status = Status::Finished(Box::new(outcome.summary().clone()));
    println!("{}", serde_json::to_string_pretty(&status)?);
    Ok(())
}

fn bench(args: &cli::BenchArgs) -> Result<()> {
    let sweep = meanfield_train::bench::Sweep {
        backends: args.backends.clone(),
        engines: args.engines.clone(),
        dynamics: args.dynamics.clone(),
        widths: args.widths.clone(),
        input_dims: args.input_dims.clone(),
        batch: args.batch,
        readout: args.readout,
        seconds: args.seconds,
        peak_size: args.peak_size,
    };
    // Rows go to stdout as CSV (rounded for reading) as soon as each case is measured.
    let mut out = csv::Writer::from_writer(std::io::stdout());
    let mut failed = None;
    let rows = sweep.run(&mut |row| {
        if let Err(e) = out.serialize(row.rounded()).and_then(|()| Ok(out.flush()?)) {
            failed.get_or_insert(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if let Some(path) = &args.csv {
        meanfield_train::bench::write_csv(path, &rows)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The study's setting: the preset and flags, without --out (the study folder) and with no
/// --width/--seed (the study sets them); missing data fetched.
fn study_base(train: &cli::TrainArgs, preset: &str) -> Result<TrainConfig> {
    if train.width.is_some() || train.seed.is_some() {
        anyhow::bail!(
            "this command sets the width and seed of each run: use --widths and --seeds (not --width/--seed)"
        );
    }
    resolve_study(train, preset)
}

/// What a default output folder adds for the particle diffusion, so its results never land in
/// SGD's folder: `-diffusion`, or nothing for SGD.
fn dynamics_suffix(base: &TrainConfig) -> &'static str {
    if base.dynamics.is_sgd() {
        ""
    } else {
        "-diffusion"
    }
}

/// A study's setting from its preset and flags, without --out (the study folder); missing data
/// fetched. Each command refuses first the flags it sets per run.
fn resolve_study(train: &cli::TrainArgs, preset: &str) -> Result<TrainConfig> {
    let mut args = train.clone();
    args.out = None;
    let base = args.resolve(preset)?;
    ensure_data(base.dataset, &base.data_dir, train.no_fetch, train.quiet)?;
    Ok(base)
}

fn chaos(args: &cli::ChaosArgs, stop: &StopHandle, invocation: &Invocation) -> Result<()> {
    let base = study_base(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("studies/chaos-{}-beta{}", base.dataset, base.beta))
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
        mode: grid_mode(&args.grid, invocation),
        out: out.clone(),
    };
    let Some(result) = planned(study.run(stop, &|line| eprintln!("{}", flags::spell(line))))?
    else {
        return Ok(());
    };
    let fits = &result.fits;
    for (name, fit) in [
        ("to reference, sliced W2", fits.to_reference_sliced),
        ("to reference, coordinate W2", fits.to_reference_coordinate),
        ("between seeds, sliced W2", fits.between_seeds_sliced),
        (
            "between seeds, coordinate W2",
            fits.between_seeds_coordinate,
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

fn sgd_vs_diffusion(
    args: &cli::SgdVsDiffusionArgs,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    if args.train.gamma_given() || args.train.data_seed.is_some() {
        anyhow::bail!(
            "sgd-vs-diffusion sets γ, β and the data seed per run: use --gammas, --betas and --seeds"
        );
    }
    let base = resolve_study(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "studies/sgd-vs-diffusion-{}-N{}",
            base.dataset, base.width
        ))
    });
    let study = meanfield_study::sgd_vs_diffusion::SgdVsDiffusion {
        base,
        betas: args.betas.clone(),
        gammas: args.gammas.clone(),
        seeds: args.seeds,
        coordinate: args.coordinate,
        projections: args.projections,
        correlation_particles: args.correlation_particles,
        correlation_examples: args.correlation_examples,
        jobs: args.jobs,
        mode: grid_mode(&args.grid, invocation),
        out: out.clone(),
    };
    let Some(result) = planned(study.measure(stop, &|line| eprintln!("{}", flags::spell(line))))?
    else {
        return Ok(());
    };
    study.render(&result)?;
    for r in &result.rows {
        println!(
            "β = {}, γ = {}: sliced W2 SGD–diffusion {:.4} (SGD run to run {}, diffusion run to run {}); SGD noise correlation ρ = {:.3}",
            r.beta,
            r.gamma,
            r.sliced_gap,
            r.sliced_sgd_runs.map_or("–".into(), |v| format!("{v:.4}")),
            r.sliced_diffusion_runs
                .map_or("–".into(), |v| format!("{v:.4}")),
            r.correlation_final
        );
    }
    if !result.failed_runs.is_empty() {
        eprintln!("{} runs failed (see report.md)", result.failed_runs.len());
    }
    println!("{:.0} s; results in {}", result.seconds, out.display());
    Ok(())
}

fn tails(args: &cli::TailsArgs, stop: &StopHandle, invocation: &Invocation) -> Result<()> {
    if args.train.gamma_given() || args.train.batch_given() {
        anyhow::bail!("tails sets γ and M per run: use --gammas and --batches");
    }
    let base = study_base(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("studies/tails-{}-beta{}", base.dataset, base.beta))
    });
    let study = meanfield_study::tails::TailStudy {
        base,
        widths: args.widths.clone(),
        gammas: args.gammas.clone(),
        batches: args.batches.clone(),
        coordinate: args.coordinate,
        jobs: args.jobs,
        mode: grid_mode(&args.grid, invocation),
        out: out.clone(),
    };
    let Some(result) = planned(study.measure(stop, &|line| eprintln!("{}", flags::spell(line))))?
    else {
        return Ok(());
    };
    study.render(&result)?;
    for line in meanfield_study::tails::crossings(&result.rows) {
        println!("{line}");
    }
    if !result.failed_runs.is_empty() {
        eprintln!("{} runs failed (see report.md)", result.failed_runs.len());
    }
    println!("{:.0} s; results in {}", result.seconds, out.display());
    Ok(())
}

fn coord_check(args: &cli::CoordCheckArgs) -> Result<()> {
    use meanfield_study::coord_check::{CoordCheck, render};
    let base = study_base(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "studies/coord-check-{}-beta{}",
            base.dataset, base.beta
        ))
    });
    let check = CoordCheck {
        base,
        widths: args.widths.clone(),
        steps: args.k,
    };
    let rows = check.measure(&|line| eprintln!("{}", flags::spell(line)))?;
    render(&rows, &check.title(), &out)?;
    println!("results in {}", out.display());
    Ok(())
}

fn coupling(args: &cli::CouplingArgs, stop: &StopHandle, invocation: &Invocation) -> Result<()> {
    if args.train.width.is_some() || args.train.data_seed.is_some() {
        anyhow::bail!(
            "coupling sets the width and data seed of each run: use --widths, --reference-width and --seeds (the initial particles come from --seed or --init-seed)"
        );
    }
    let base = resolve_study(&args.train, &args.preset)?;
    let largest = args.widths.iter().copied().max().unwrap_or(0);
    let out = args.train.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "studies/coupling-{}-beta{}{}{}",
            base.dataset,
            base.beta,
            if args.shared_batches { "-shared" } else { "" },
            dynamics_suffix(&base)
        ))
    });
    let study = meanfield_study::coupling::CouplingStudy {
        snapshots: base.snapshots.unwrap_or(10),
        base,
        widths: args.widths.clone(),
        reference_width: args.reference_width.unwrap_or(8 * largest),
        seeds: args.seeds,
        shared_batches: args.shared_batches,
        batches: args.batches.clone(),
        batch_width: args.batch_width,
        jobs: args.jobs,
        mode: grid_mode(&args.grid, invocation),
        out: out.clone(),
    };
    let Some(result) = planned(study.run(stop, &|line| eprintln!("{}", flags::spell(line))))?
    else {
        return Ok(());
    };
    let fits = &result.fits;
    let show = |axis: &str, e: &meanfield_study::coupling::ExponentFit| {
        let theory: Vec<String> = e.predicted.iter().map(|(_, s)| format!("{s:.3}")).collect();
        match &e.fit {
            Some(f) => println!(
                "D against {axis}: slope {:.3}, 95% interval [{:.3}, {:.3}] ({} points); theorem: {}",
                f.slope,
                f.ci_low,
                f.ci_high,
                f.points,
                theory.join(", ")
            ),
            None => println!("D against {axis}: not enough points to fit"),
        }
    };
    show("N", &fits.width);
    if let Some(b) = &fits.batch {
        show("M", b);
    }
    if let (Some(share), Some(small)) = (fits.reference_share, fits.smallest_width_d) {
        println!(
            "reference share: D(N_ref/2, N_ref) = {share:.4e}; D at the smallest width = {small:.4e}"
        );
    }
    if let Some(f) = &fits.two_term {
        println!(
            "D = a·N^(−{:.3})/M + b/N: a = {:.4e} [{:.4e}, {:.4e}], b = {:.4e} [{:.4e}, {:.4e}] (bootstrap 95%, after the reference's share)",
            f.noise_exponent, f.a, f.a_ci.0, f.a_ci.1, f.b, f.b_ci.0, f.b_ci.1
        );
    }
    if !result.failed_runs.is_empty() {
        eprintln!("{} runs failed (see report.md)", result.failed_runs.len());
    }
    println!("{:.0} s; results in {}", result.seconds, out.display());
    Ok(())
}

fn run_figure(
    figure: Figure,
    args: &cli::FigureArgs,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    let scale = args.scale;
    let extra = match &args.train.config {
        Some(path) => Some((
            path.display().to_string(),
            meanfield_train::config::read_table(path)?,
        )),
        None => None,
    };
    let overrides = Overrides {
        train: args.train.settings()?,
        ..args.axes.clone()
    };
    let overridden = extra.is_some() || !overrides.grid().is_empty();
    let spec = figure.spec(scale, extra, overrides)?;
    let base = spec.base(figure)?;
    let present = base.dataset.check_present(&base.data_dir).is_ok();
    match spec.fallback_dataset {
        Some(fallback) if !present => ensure_data(
            fallback,
            &base.data_dir,
            args.train.no_fetch,
            args.train.quiet,
        )?,
        _ => ensure_data(
            base.dataset,
            &base.data_dir,
            args.train.no_fetch,
            args.train.quiet,
        )?,
    }
    let ctx = FigureContext {
        scale,
        out: args.train.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "figures/{figure}-{scale}{}",
                dynamics_suffix(&base)
            ))
        }),
        runs_dir: args.runs_dir.clone(),
        jobs: args.jobs,
        command: invocation.display(),
        stop: stop.clone(),
        mode: grid_mode(&args.grid, invocation),
    };
    eprintln!(
        "{figure} at {scale} scale: {}{}",
        spec.protocol,
        if overridden {
            " — with the overrides given (report.md lists the settings used)"
        } else {
            ""
        }
    );
    let Some(summary) =
        planned(figure.run(&spec, &ctx, &|line| eprintln!("{}", flags::spell(line))))?
    else {
        return Ok(());
    };
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

/// The grid mode of `--plan DIR` / `--assemble-only`; the assemble command is this command
/// line with `--plan DIR` replaced by `--assemble-only`.
fn grid_mode(args: &cli::PlanArgs, invocation: &Invocation) -> GridMode {
    match &args.plan {
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
        None => GridMode::Train,
    }
}

/// The command line this process was started with, read once.
struct Invocation {
    /// The program as started, then its arguments.
    words: Vec<String>,
}

impl Invocation {
    fn read() -> Self {
        Invocation {
            words: std::env::args().collect(),
        }
    }

    /// `experiments ARGS`, quoted for a shell where needed (reports quote it).
    fn display(&self) -> String {
        let args = self.words.iter().skip(1).map(|w| shell_word(w));
        std::iter::once("experiments".to_string())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// This program's full path (as started, if the system cannot say).
    fn program(&self) -> String {
        std::env::current_exe().map_or_else(
            |_| self.words.first().cloned().unwrap_or_default(),
            |p| p.display().to_string(),
        )
    }

    /// The same command with `--plan DIR` replaced by `--assemble-only`, the program named by
    /// its full path: what a plan's README tells to run once the jobs are done.
    fn assemble(&self) -> String {
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
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A grid command's result, or `None` after `--plan` wrote its jobs (said on stderr).
fn planned<T>(result: Result<Measured<T>, StudyError>) -> Result<Option<T>> {
    match result? {
        Measured::Done(v) => Ok(Some(v)),
        Measured::Planned(plan) => {
            eprintln!("{plan}");
            Ok(None)
        }
    }
}

/// One line per run directory under `dir`, problems indented under it; exit 1 when any.
fn list_runs(dir: &Path) -> Result<()> {
    let listings = meanfield_train::run_dir::list(dir)?;
    let mut problems = 0;
    for l in &listings {
        let name = l
            .dir
            .file_name()
            .map_or("?".into(), |n| n.to_string_lossy());
        println!(
            "{name}\t{}\t{}{}\t{}",
            l.setting,
            l.status,
            l.steps.map_or(String::new(), |s| format!(", {s} steps")),
            match l.version {
                Some(1) => "identity v1 (made before identity.json; reused in place)".to_string(),
                Some(v) => format!("identity v{v}"),
                None => "identity unknown".to_string(),
            }
        );
        for p in &l.problems {
            println!("  problem: {p}");
        }
        problems += l.problems.len();
    }
    eprintln!(
        "{} runs in {}, {problems} problems",
        listings.len(),
        dir.display()
    );
    if problems > 0 {
        anyhow::bail!("{problems} problems found (listed above)");
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
    let report = serde_json::json!({
        "rows": [na, nb],
        "dim": da,
        "w2_coordinate": w2,
        "sliced_w2_mean": sw.mean,
        "sliced_w2_std": sw.std,
        "projections": args.projections,
        "projection_seeds": sw.seeds,
    });
    println!("{report}");
    Ok(())
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
            invocation.display(),
            "experiments figure3 --plan 'my plan' --jobs 2"
        );
        assert!(
            invocation
                .assemble()
                .ends_with(" figure3 --assemble-only --jobs 2"),
            "{}",
            invocation.assemble()
        );
        let equals = Invocation {
            words: ["x", "chaos", "--plan=p"].map(String::from).to_vec(),
        };
        assert!(equals.assemble().ends_with(" chaos --assemble-only"));
    }
}
