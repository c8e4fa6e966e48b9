//! The study and figure commands: each resolves its setting (the training flags over the
//! study's preset), runs the library's study or figure with the stop handle, and prints its key
//! lines and where the report is.

use crate::invocation::{Invocation, grid_mode, planned};
use crate::{cli, ensure_data, flags};
use anyhow::Result;
use meanfield_study::figures::{Figure, FigureContext, Overrides};
use meanfield_train::{StopHandle, TrainConfig};
use std::path::{Path, PathBuf};

/// The study's setting: the preset and flags, without --out (the study folder) and with no
/// --width/--seed (the study sets them); missing data fetched.
pub(crate) fn study_base(train: &cli::TrainArgs, preset: &str) -> Result<TrainConfig> {
    if train.width.is_some() || train.seed.is_some() {
        anyhow::bail!(
            "this command sets the width and seed of each run: use --widths and --seeds (not --width/--seed)"
        );
    }
    resolve_study(train, preset)
}

/// What a default output folder adds for the particle diffusion, so its results never land in
/// SGD's folder: `-diffusion`, or nothing for SGD.
pub(crate) fn dynamics_suffix(base: &TrainConfig) -> &'static str {
    if base.dynamics.is_sgd() {
        ""
    } else {
        "-diffusion"
    }
}

/// A study's setting from its preset and flags, without --out (the study folder); missing data
/// fetched. Each command refuses first the flags it sets per run.
pub(crate) fn resolve_study(train: &cli::TrainArgs, preset: &str) -> Result<TrainConfig> {
    let mut args = train.clone();
    args.out = None;
    let base = args.resolve(preset)?;
    ensure_data(base.dataset, &base.data_dir, train.no_fetch, train.quiet)?;
    Ok(base)
}

pub(crate) fn chaos(
    args: &cli::ChaosArgs,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
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
        mode: grid_mode(&args.grid, invocation)?,
        out: out.clone(),
    };
    let Some(result) = planned(study.run(stop, &say))? else {
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
    finish(result.failed_runs.len(), result.seconds, &out);
    Ok(())
}

pub(crate) fn sgd_vs_diffusion(
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
        mode: grid_mode(&args.grid, invocation)?,
        out: out.clone(),
    };
    let Some(result) = planned(study.measure(stop, &say))? else {
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
    finish(result.failed_runs.len(), result.seconds, &out);
    Ok(())
}

pub(crate) fn tails(
    args: &cli::TailsArgs,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
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
        mode: grid_mode(&args.grid, invocation)?,
        out: out.clone(),
    };
    let Some(result) = planned(study.measure(stop, &say))? else {
        return Ok(());
    };
    study.render(&result)?;
    for line in meanfield_study::tails::crossings(&result.rows) {
        println!("{line}");
    }
    finish(result.failed_runs.len(), result.seconds, &out);
    Ok(())
}

pub(crate) fn coord_check(args: &cli::CoordCheckArgs) -> Result<()> {
    use meanfield_study::coord_check::{CoordCheck, render};
    let base = study_base(&args.train, &args.preset)?;
    let out = args.train.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "studies/coord-check-{}-beta{}",
            base.dataset, base.beta
        ))
    });
    meanfield_study::folders::check_results(&out)?;
    let check = CoordCheck {
        base,
        widths: args.widths.clone(),
        steps: args.k,
    };
    let rows = check.measure(&say)?;
    render(&rows, &check.title(), &out)?;
    println!("results in {}", out.display());
    Ok(())
}

pub(crate) fn coupling(
    args: &cli::CouplingArgs,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
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
        mode: grid_mode(&args.grid, invocation)?,
        out: out.clone(),
    };
    let Some(result) = planned(study.run(stop, &say))? else {
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
    finish(result.failed_runs.len(), result.seconds, &out);
    Ok(())
}

pub(crate) fn run_figure(
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
        mode: grid_mode(&args.grid, invocation)?,
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
    let Some(summary) = planned(figure.run(&spec, &ctx, &say))? else {
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

/// A study's progress line, its settings spelled as this program's flags.
fn say(line: &str) {
    eprintln!("{}", flags::spell(line));
}

/// A study's last lines: how many runs failed (listed in its report) and where its results are.
fn finish(failed_runs: usize, seconds: f64, out: &Path) {
    if failed_runs > 0 {
        eprintln!("{failed_runs} runs failed (see report.md)");
    }
    println!("{seconds:.0} s; results in {}", out.display());
}
