//! `experiments`: the command-line program. Thin: parses flags, resolves a config, fetches
//! missing data, calls the libraries, prints their results. Process-wide decisions live here
//! and nowhere else: the allocator settings and the Ctrl-C handler.

mod allocator;
mod fetch_progress;
mod flags;
mod interrupt;
mod invocation;
mod processes;
mod studies;

use anyhow::Result;
use fetch_progress::FetchProgress;
use flags::{Command, Parsed};
use invocation::Invocation;
use meanfield_train::data::DatasetKind;
use meanfield_train::data::fetch::Archive;
use meanfield_train::shard::Shard;
use meanfield_train::summary::Status;
use meanfield_train::{Outcome, RunOptions, StopHandle, TrainError};
use std::path::Path;
use studies::{chaos, coord_check, coupling, run_figure, sgd_vs_diffusion, tails};

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
    let outcome = flags::parse(&invocation.words)
        .and_then(|parsed| run(parsed, &stop, &processes, &invocation));
    match outcome {
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
    parsed: Parsed,
    stop: &StopHandle,
    processes: &processes::Processes,
    invocation: &Invocation,
) -> Result<()> {
    let Parsed {
        command,
        settings,
        grid,
        scope,
    } = parsed;
    let given = Given {
        settings,
        scope: scope.unwrap_or(flags::settings::Scope {
            command: "",
            dataset: None,
            refused: Vec::new(),
            own: &[],
        }),
    };
    if let Some((preset, args)) = command.training() {
        return train(Some(preset), args, &given, stop, processes);
    }
    if let Command::Run(args) = &command {
        return train(None, args, &given, stop, processes);
    }
    if processes.size() > 1 {
        anyhow::bail!(
            "only a training command (mnist, cifar, fashion-mnist, synthetic, arrays, run) runs over several MPI processes, as one run sharded by particles; run this command as one process (a grid's runs go to a cluster as jobs: --plan, docs/cluster.md)"
        );
    }
    if let Some((figure, args)) = command.figure() {
        return run_figure(figure, args, &given, grid, stop, invocation);
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
        Command::Chaos(args) => chaos(args, &given, grid, stop, invocation),
        Command::CoordCheck(args) => coord_check(args, &given, grid, invocation),
        Command::Tails(args) => tails(args, &given, grid, stop, invocation),
        Command::SgdVsDiffusion(args) => sgd_vs_diffusion(args, &given, grid, stop, invocation),
        Command::Coupling(args) => coupling(args, &given, grid, stop, invocation),
        Command::Distance(args) => distance(args),
        Command::Runs { dir } => list_runs(dir),
        _ => unreachable!("training and figure commands are handled above"),
    }
}

/// The settings given as flags, and what the command takes (to check a dataset's own flags
/// against the dataset once resolved).
pub(crate) struct Given {
    pub(crate) settings: toml::Table,
    pub(crate) scope: flags::settings::Scope,
}

impl Given {
    /// defaults < `preset` < `config` (a file of config.toml's keys, checked on its own) < the
    /// flags given, into a checked setting; a dataset's own flag for another dataset is refused.
    pub(crate) fn resolve(
        &self,
        preset: Option<&str>,
        config: Option<&Path>,
    ) -> Result<meanfield_train::TrainConfig> {
        use meanfield_train::TrainConfig;
        use meanfield_train::config::read_settings_file;
        let mut layers = Vec::new();
        if let Some(preset) = preset {
            layers.push((
                format!("configs/{preset}.toml"),
                TrainConfig::preset(preset)?,
            ));
        }
        if let Some(path) = config {
            let source = format!("--config {}", path.display());
            let table = read_settings_file(path).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
            // What the command sets itself is refused in the file as it is as a flag.
            meanfield_study::axes::check_table(&source, &table, &self.scope.refused)?;
            // A file that names its run directory (a job of --plan) trains that run; a flag
            // that changes the setting would train another one into it.
            meanfield_train::config::check_out_kept(&source, &table, &self.settings)?;
            layers.push((path.display().to_string(), table));
        }
        layers.push(("command-line flags".into(), self.settings.clone()));
        let config = TrainConfig::resolve(layers)?;
        self.scope.check_dataset(&self.settings, config.dataset)?;
        Ok(config)
    }

    /// The flags given, without `out` (a grid's `--out` is its own folder).
    pub(crate) fn shared(&self) -> toml::Table {
        let mut t = self.settings.clone();
        t.remove("out");
        t
    }
}

/// The CIFAR-10 archive to fetch: the published one (binary, or Python with `python`), with
/// the URL and MD5 from the flags, else from $MEANFIELD_CIFAR10_URL / $MEANFIELD_CIFAR10_MD5
/// (the process environment is read here, in the binary, not in the library).
fn cifar_archive(python: bool, url: Option<String>, md5: Option<String>) -> Archive {
    Archive::chosen(
        python,
        url.or_else(|| std::env::var(Archive::URL_VARIABLE).ok()),
        md5.or_else(|| std::env::var(Archive::MD5_VARIABLE).ok()),
    )
}

/// Fetches a missing dataset into `data_dir` (unless `--no-fetch`), CIFAR-10 from the archive
/// of the environment's mirror if set ([`meanfield_train::data::fetch::ensure`]).
fn ensure_data(dataset: DatasetKind, data_dir: &Path, no_fetch: bool, quiet: bool) -> Result<()> {
    let log = &mut FetchProgress::new(quiet);
    let archive = cifar_archive(false, None, None);
    Ok(meanfield_train::data::fetch::ensure(
        dataset, data_dir, no_fetch, &archive, log,
    )?)
}

fn train(
    preset: Option<&str>,
    args: &flags::Train,
    given: &Given,
    stop: &StopHandle,
    processes: &processes::Processes,
) -> Result<()> {
    if preset.is_none() && args.config.is_none() {
        anyhow::bail!(
            "`experiments run` trains the setting of --config FILE (a run's config.toml, or configs/<i>.toml of a --plan): give --config"
        );
    }
    let config = given.resolve(preset, args.config.as_deref())?;
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

fn bench(args: &flags::BenchArgs) -> Result<()> {
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

/// One line per run directory under `dir`, problems indented under it; exit 1 when any.
fn list_runs(dir: &Path) -> Result<()> {
    let listings = meanfield_train::listing::list(dir)?;
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
            match (l.version, l.layout) {
                (Some(1), _) => "identity v1 (made before identity.json and digests: reused in place, weights checked by length only)".to_string(),
                (Some(v), layout) if layout < 3 => {
                    format!("identity v{v} (made before digests: weights checked by length only)")
                }
                (Some(v), _) => format!("identity v{v}"),
                (None, _) => "identity unknown".to_string(),
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

fn distance(args: &flags::DistanceArgs) -> Result<()> {
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
