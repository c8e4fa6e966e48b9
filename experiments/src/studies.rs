//! The study and figure commands: each resolves its setting (the setting flags over the
//! study's preset and `--config`), runs the library's study or figure with the stop handle,
//! and prints its key lines and where the report is. A grid with failed runs writes what it
//! could, then exits non-zero.

use crate::flags::{self, GridArgs};
use crate::invocation::{Invocation, grid_mode, planned};
use crate::{Given, ensure_data};
use anyhow::Result;
use meanfield_study::axes::{Axis, Grid};
use meanfield_study::figures::{Figure, FigureContext, Overrides};
use meanfield_train::{StopHandle, TrainConfig};
use std::path::{Path, PathBuf};

use meanfield_study::folders::{default_folder as study_folder, dynamics_suffix};

/// A study's shared setting: the setting flags over its preset and `--config`, without `out`
/// (the study's folder); missing data fetched.
fn study_base(
    given: &Given,
    preset: &str,
    config: Option<&Path>,
    no_fetch: bool,
    quiet: bool,
) -> Result<TrainConfig> {
    let mut base = given.resolve(Some(preset), config)?;
    base.out = None;
    ensure_data(base.dataset, &base.data_dir, no_fetch, quiet)?;
    Ok(base)
}

/// The progress printer of a grid: each line with its settings spelled as flags, nothing under
/// `--quiet`.
fn progress(quiet: bool) -> impl Fn(&str) + Sync {
    move |line: &str| {
        if !quiet {
            eprintln!("{}", flags::spell(line));
        }
    }
}

pub(crate) fn chaos(
    args: &flags::ChaosArgs,
    given: &Given,
    grid: Grid,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    let g = &args.grid;
    let base = study_base(
        given,
        &args.preset,
        g.config.as_deref(),
        g.no_fetch,
        g.quiet,
    )?;
    let out = g
        .out
        .clone()
        .unwrap_or_else(|| meanfield_study::chaos::ChaosStudy::default_out(&base));
    let study = meanfield_study::chaos::ChaosStudy {
        base,
        widths: sizes(&grid, Axis::Widths),
        seeds: whole(&grid, Axis::Seeds),
        reference: args.reference.clone(),
        projections: args.projections,
        projection_seeds: args.projection_seeds.clone(),
        coordinate: args.coordinate,
        jobs: g.jobs,
        mode: grid_mode(g, invocation)?,
        out: out.clone(),
        command: invocation.reproduce(),
    };
    let Some(result) = planned(study.run(stop, &progress(g.quiet)))? else {
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
            None if name.starts_with("between") && study.seeds.len() < 2 => {
                println!("{name}: not measured (one seed; give two or more in --seeds)")
            }
            None => println!("{name}: not enough widths measured to fit (two or more)"),
        }
    }
    finish(result.failed_runs.len(), result.seconds, &out)
}

pub(crate) fn sgd_vs_diffusion(
    args: &flags::SgdVsDiffusionArgs,
    given: &Given,
    grid: Grid,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    let g = &args.grid;
    let base = study_base(
        given,
        &args.preset,
        g.config.as_deref(),
        g.no_fetch,
        g.quiet,
    )?;
    let out = g.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "studies/sgd-vs-diffusion-{}-N{}",
            base.dataset, base.width
        ))
    });
    let study = meanfield_study::sgd_vs_diffusion::SgdVsDiffusion {
        base,
        betas: reals(&grid, Axis::Betas),
        gammas: reals(&grid, Axis::Gammas),
        data_seeds: whole(&grid, Axis::DataSeeds),
        coordinate: args.coordinate,
        projections: args.projections,
        correlation_particles: args.correlation_particles,
        correlation_examples: args.correlation_examples,
        jobs: g.jobs,
        mode: grid_mode(g, invocation)?,
        out: out.clone(),
        command: invocation.reproduce(),
    };
    let Some(result) = planned(study.measure(stop, &progress(g.quiet)))? else {
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
    finish(result.failed_runs.len(), result.seconds, &out)
}

pub(crate) fn tails(
    args: &flags::TailsArgs,
    given: &Given,
    grid: Grid,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    let g = &args.grid;
    let base = study_base(
        given,
        &args.preset,
        g.config.as_deref(),
        g.no_fetch,
        g.quiet,
    )?;
    let out = g
        .out
        .clone()
        .unwrap_or_else(|| meanfield_study::tails::TailStudy::default_out(&base));
    let study = meanfield_study::tails::TailStudy {
        base,
        widths: sizes(&grid, Axis::Widths),
        gammas: reals(&grid, Axis::Gammas),
        batches: sizes(&grid, Axis::Batches),
        coordinate: args.coordinate,
        jobs: g.jobs,
        mode: grid_mode(g, invocation)?,
        out: out.clone(),
        command: invocation.reproduce(),
    };
    let Some(result) = planned(study.run(stop, &progress(g.quiet)))? else {
        return Ok(());
    };
    for line in meanfield_study::tails::crossings(&result.rows) {
        println!("{line}");
    }
    finish(result.failed_runs.len(), result.seconds, &out)
}

pub(crate) fn coord_check(
    args: &flags::CoordCheckArgs,
    given: &Given,
    grid: Grid,
    invocation: &Invocation,
) -> Result<()> {
    use meanfield_study::coord_check::{CoordCheck, render};
    let base = study_base(
        given,
        &args.preset,
        args.config.as_deref(),
        args.no_fetch,
        args.quiet,
    )?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| study_folder("coord-check", &base, ""));
    meanfield_study::folders::check_results(&out)?;
    let steps = base.steps.unwrap_or(CoordCheck::DEFAULT_STEPS);
    let check = CoordCheck {
        widths: sizes(&grid, Axis::Widths),
        steps,
        base: TrainConfig {
            steps: None,
            ..base
        },
    };
    let rows = check.measure(&progress(args.quiet))?;
    render(&rows, &check.title(), &invocation.reproduce(), &out)?;
    println!("results in {}", out.display());
    Ok(())
}

pub(crate) fn coupling(
    args: &flags::CouplingArgs,
    given: &Given,
    grid: Grid,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    let g = &args.grid;
    let base = study_base(
        given,
        &args.preset,
        g.config.as_deref(),
        g.no_fetch,
        g.quiet,
    )?;
    let widths = sizes(&grid, Axis::Widths);
    let reference_width = args.reference_width.unwrap_or_else(|| {
        meanfield_study::coupling::CouplingStudy::default_reference_width(&widths)
    });
    let data_seeds = grid.whole(Axis::DataSeeds);
    let out = g.out.clone().unwrap_or_else(|| {
        meanfield_study::coupling::CouplingStudy::default_out(&base, args.shared_noise)
    });
    let study = meanfield_study::coupling::CouplingStudy {
        snapshots: base
            .snapshots
            .unwrap_or(meanfield_study::coupling::CouplingStudy::SNAPSHOTS),
        base,
        widths,
        reference_width,
        data_seeds,
        shared_noise: args.shared_noise,
        batch_sweep: args.batch_sweep.clone(),
        batch_sweep_width: args.batch_sweep_width,
        jobs: g.jobs,
        mode: grid_mode(g, invocation)?,
        out: out.clone(),
        command: invocation.reproduce(),
    };
    let Some(result) = planned(study.run(stop, &progress(g.quiet)))? else {
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
    if let Some(f) = &fits.families {
        println!(
            "across {} replicate families: slope {:.3}, 95% interval [{:.3}, {:.3}]",
            f.values.len(),
            f.mean,
            f.ci_low,
            f.ci_high
        );
    }
    if let Some(f) = &fits.two_term {
        println!(
            "D = a·N^(−{:.3})/M + b/N: a = {:.4e} [{:.4e}, {:.4e}], b = {:.4e} [{:.4e}, {:.4e}] (bootstrap 95%, {})",
            f.noise_exponent,
            f.a,
            f.a_ci.0,
            f.a_ci.1,
            f.b,
            f.b_ci.0,
            f.b_ci.1,
            if fits.reference_share.is_some() {
                "after the reference's share"
            } else {
                "uncorrected: the reference's share was not measured"
            }
        );
    }
    finish(result.failed_runs.len(), result.seconds, &out)
}

pub(crate) fn run_figure(
    figure: Figure,
    args: &flags::FigureArgs,
    given: &Given,
    grid: Grid,
    stop: &StopHandle,
    invocation: &Invocation,
) -> Result<()> {
    let scale = args.scale;
    let g: &GridArgs = &args.grid;
    let extra = match &g.config {
        Some(path) => Some((
            path.display().to_string(),
            meanfield_train::config::read_table(path)?,
        )),
        None => None,
    };
    let mut train = given.shared();
    let runs_dir = match train.remove("runs_dir") {
        Some(toml::Value::String(dir)) => PathBuf::from(dir),
        _ => PathBuf::from(meanfield_study::figures::RUNS_DIR),
    };
    let overrides = Overrides {
        grid,
        reference_width: args.reference_width,
        reference_width_one: args.reference_width_one,
        train,
    };
    let overridden = extra.is_some() || !overrides.table().is_empty() || !given.shared().is_empty();
    let spec = figure.spec(scale, extra, overrides)?;
    let base = spec.base(figure)?;
    given.scope.check_dataset(&given.settings, base.dataset)?;
    let present = base.dataset.check_present(&base.data_dir).is_ok();
    match spec.fallback_dataset {
        Some(fallback) if !present => ensure_data(fallback, &base.data_dir, g.no_fetch, g.quiet)?,
        _ => ensure_data(base.dataset, &base.data_dir, g.no_fetch, g.quiet)?,
    }
    let ctx = FigureContext {
        scale,
        out: g.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "figures/{figure}-{scale}{}",
                dynamics_suffix(&base)
            ))
        }),
        runs_dir,
        jobs: g.jobs,
        command: invocation.reproduce(),
        stop: stop.clone(),
        mode: grid_mode(g, invocation)?,
    };
    let mut folders = vec![
        ("--out", ctx.out.as_path()),
        ("--runs-dir", ctx.runs_dir.as_path()),
    ];
    if let Some(plan) = &g.plan {
        folders.push(("--plan", plan.as_path()));
    }
    crate::invocation::separate(&folders)?;
    if !g.quiet {
        eprintln!(
            "{figure} at {scale} scale: {}{}",
            spec.protocol,
            if overridden {
                " — with the overrides given (report.md lists the settings used)"
            } else {
                ""
            }
        );
    }
    let Some(summary) = planned(figure.run(&spec, &ctx, &progress(g.quiet)))? else {
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

/// An axis's list (given or its default; every study axis has one).
fn sizes(grid: &Grid, axis: Axis) -> Vec<usize> {
    grid.sizes(axis).unwrap_or_default()
}

fn whole(grid: &Grid, axis: Axis) -> Vec<u64> {
    grid.whole(axis).unwrap_or_default()
}

fn reals(grid: &Grid, axis: Axis) -> Vec<f64> {
    grid.reals(axis).unwrap_or_default()
}

/// A study's last lines: where its results are; with failed runs (listed in its report) the
/// command fails, after everything it could do was written.
fn finish(failed_runs: usize, seconds: f64, out: &Path) -> Result<()> {
    println!("{seconds:.0} s; results in {}", out.display());
    if failed_runs > 0 {
        anyhow::bail!(
            "{failed_runs} runs failed (listed in {}); the results show the others. Run the same command again to retry them",
            out.join("report.md").display()
        );
    }
    Ok(())
}
