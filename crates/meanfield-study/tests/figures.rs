//! The figure presets against the protocol in `docs/paper.md`, and the figure commands on tiny
//! synthetic grids: every file written, finished runs reused on a second call.

use meanfield_study::StudyError;
use meanfield_study::axes::{Axis, Grid};
use meanfield_study::figures::{
    Figure, FigureContext, FigureSpec, FigureSummary, Overrides, Scale, figure_s5, figure1,
    figure2, figure3, table1,
};
use meanfield_train::TrainConfig;
use std::path::Path;
use std::sync::Mutex;

fn ctx(out: &Path, scale: Scale) -> FigureContext {
    FigureContext {
        scale,
        out: out.join("figure"),
        runs_dir: out.join("runs"),
        jobs: 2,
        command: "test".into(),
        stop: Default::default(),
        mode: Default::default(),
    }
}

/// The figure named `name` (the command name) resolved at `scale`.
fn resolve_spec(
    name: &str,
    scale: Scale,
    extra: Option<(String, toml::Table)>,
    overrides: Overrides,
) -> Result<FigureSpec, StudyError> {
    name.parse::<Figure>()?.spec(scale, extra, overrides)
}

/// A grid of the axes given, each value read as the command line reads it.
fn grid(axes: &[(Axis, &[f64])]) -> Grid {
    let mut g = Grid::default();
    for (axis, values) in axes {
        let text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        g.set(*axis, axis.parse_list(&text.join(",")).unwrap());
    }
    g
}

/// Training settings for every run: this width.
fn width(n: i64) -> toml::Table {
    toml::Table::from_iter([("width".to_string(), toml::Value::Integer(n))])
}

fn run_figure(
    name: &str,
    spec: &FigureSpec,
    ctx: &FigureContext,
    log: &(dyn Fn(&str) + Sync),
) -> Result<FigureSummary, StudyError> {
    let measured = name.parse::<Figure>()?.run(spec, ctx, log)?;
    Ok(measured.done().expect("measured, not planned"))
}

fn paper(name: &str) -> FigureSpec {
    resolve_spec(name, Scale::Paper, None, Overrides::default()).unwrap()
}

fn steps(c: &TrainConfig) -> u64 {
    c.schedule().init().unwrap().horizon_steps()
}

/// docs/paper.md, "Experiments": Figure 1's step counts (β = 1 → 100; β = 0.75 → 472 at N = 500,
/// 1495 at N = 50000; β = 0.5 → 2236 at N = 500, 22360 at N = 50000), its 3 × 3 grid and its
/// N = 50000 limit runs at β = 0.25 and β = 1; MNIST with α = 0, M = 100, T = 100, γ = 1.
#[test]
fn figure1_preset_is_the_papers_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let fig = figure1::figure(&paper("figure1"), &ctx(dir.path(), Scale::Paper)).unwrap();
    let grid: Vec<(f64, usize, u64)> = fig
        .panels
        .iter()
        .map(|p| (p.config.beta, p.config.width, steps(&p.config)))
        .collect();
    assert_eq!(grid.len(), 9);
    for (beta, width, n) in [
        (0.5, 500, 2236),
        (0.5, 50000, 22360),
        (0.75, 500, 472),
        (0.75, 50000, 1495),
        (1.0, 500, 100),
        (1.0, 5000, 100),
        (1.0, 50000, 100),
    ] {
        assert!(
            grid.contains(&(beta, width, n)),
            "({beta}, {width}) → {n}: {grid:?}"
        );
    }
    let limits: Vec<(f64, usize)> = fig
        .limits
        .iter()
        .map(|l| (l.config.beta, l.config.width))
        .collect();
    // The β < 1 limit is the paper's N = 50000 run at β = 0.25; the β = 1 limit is wider than
    // every panel (10 × the widest: at β = 1 it costs 100 steps like the panels), so it is
    // never one of them.
    assert_eq!(limits, vec![(0.25, 50000), (1.0, 500000)]);
    let widest = fig.panels.iter().map(|p| p.config.width).max().unwrap();
    assert!(fig.limits[1].config.width > widest);
    // Each limit run's floor is measured against the same setting at half its width.
    let halves: Vec<(f64, usize)> = fig
        .limits
        .iter()
        .map(|l| (l.half.beta, l.half.width))
        .collect();
    assert_eq!(halves, vec![(0.25, 25000), (1.0, 250000)]);
    let c = &fig.panels[0].config;
    assert_eq!(
        (c.dataset, c.alpha, c.batch, c.horizon, c.gamma),
        (meanfield_data::DatasetKind::Mnist, 0.0, 100, 100.0, 1.0)
    );
    assert_eq!(c.readout, meanfield_model::Readout::Trainable);
    assert_eq!(c.init, meanfield_model::Init::Pytorch);
    // The paper's axes.
    let windows: Vec<f64> = fig.panels.iter().map(|p| p.window).collect();
    assert_eq!(windows, vec![0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 1.0, 1.0, 1.0]);
}

/// A limit run that is also a panel (its W2 would be 0 by construction) is refused, with the
/// flag that fixes it; a wider one is accepted.
#[test]
fn a_limit_run_is_never_a_panel() {
    let dir = tempfile::tempdir().unwrap();
    let with = |one: usize| {
        let spec = resolve_spec(
            "figure1",
            Scale::Paper,
            None,
            Overrides {
                reference_width_one: Some(one),
                ..Default::default()
            },
        )
        .unwrap();
        figure1::figure(&spec, &ctx(dir.path(), Scale::Paper))
    };
    // A panel's width, or any narrower than the widest panel: not a limit.
    for narrow in [5000, 50_000] {
        let err = with(narrow).unwrap_err().to_string();
        assert!(
            err.contains("wider than every panel") && err.contains("`reference_width_one`"),
            "{err}"
        );
    }
    let fig = with(100_000).unwrap();
    assert_eq!(fig.limits[1].config.width, 100_000);
}

/// Figure 2: weights at 0.01, N = 10^6, β in {0.75, 1}, 7 seeds, one particle standing for all.
#[test]
fn figure2_preset_is_the_papers_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let configs = figure2::configs(&paper("figure2"), &ctx(dir.path(), Scale::Paper)).unwrap();
    assert_eq!(configs.len(), 14);
    for c in &configs {
        assert_eq!(c.width, 1_000_000);
        assert!(c.identical_particles);
        assert_eq!(c.init, meanfield_model::Init::Const(0.01));
        assert_eq!(c.readout_init, meanfield_model::Init::Const(0.01));
        // n_T = T / (γ N^(β−1)): 100 · 10^6^0.25 = 3162 for β = 0.75, 100 for β = 1.
        assert_eq!(steps(c), if c.beta == 1.0 { 100 } else { 3162 });
    }
    let seeds: Vec<u64> = configs
        .iter()
        .filter(|c| c.beta == 1.0)
        .map(|c| c.seed)
        .collect();
    assert_eq!(seeds, (0..7).collect::<Vec<_>>());
}

/// Figure 3: β = 1, N = 10000, γ in {1, 0.1, 0.01} → n_T = 100, 1000, 10000; the β < 1 limit
/// is Figure 1's N = 50000, β = 0.25 run (the same config, so the same run directory).
#[test]
fn figure3_preset_is_the_papers_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), Scale::Paper);
    let fig = figure3::figure(&paper("figure3"), &c).unwrap();
    let grid: Vec<(f64, usize, f64, u64)> = fig
        .panels
        .iter()
        .map(|p| {
            (
                p.config.beta,
                p.config.width,
                p.config.gamma,
                steps(&p.config),
            )
        })
        .collect();
    assert_eq!(
        grid,
        vec![
            (1.0, 10000, 1.0, 100),
            (1.0, 10000, 0.1, 1000),
            (1.0, 10000, 0.01, 10000)
        ]
    );
    let fig1 = figure1::figure(&paper("figure1"), &c).unwrap();
    assert_eq!(fig.limits[0].config, fig1.limits[0].config);
}

/// Figure S5: N = 10000, M in {1, 10, 100, 1000}, β in {0.75, 1}; the limit is Figure 1's.
#[test]
fn figure_s5_preset_is_the_papers_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), Scale::Paper);
    let fig = figure_s5::figure(&paper("figure-s5"), &c).unwrap();
    let grid: Vec<(f64, usize)> = fig
        .panels
        .iter()
        .map(|p| (p.config.beta, p.config.batch))
        .collect();
    let mut expected = Vec::new();
    for beta in [0.75, 1.0] {
        for m in [1, 10, 100, 1000] {
            expected.push((beta, m));
        }
    }
    assert_eq!(grid, expected);
    assert!(fig.panels.iter().all(|p| p.config.width == 10000));
    let fig1 = figure1::figure(&paper("figure1"), &c).unwrap();
    assert_eq!(fig.limits[0].config, fig1.limits[0].config);
}

/// Table 1: CIFAR-10, γ = 0.1, T = 10000, averaging from 1000; β = 1 runs 100000 steps and
/// β = 0.75 runs 840896 / 1000000 / 1495348 steps at N = 5000 / 10000 / 50000.
#[test]
fn table1_preset_is_the_papers_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let spec = paper("table1");
    let base = meanfield_study::figures::context::base_config(
        Figure::Table1,
        &spec,
        &ctx(dir.path(), Scale::Paper),
    )
    .unwrap();
    assert_eq!(base.dataset, meanfield_data::DatasetKind::Cifar10);
    assert_eq!(
        (base.gamma, base.horizon, base.average_from, base.batch),
        (0.1, 10000.0, Some(1000), 100)
    );
    let got: Vec<(usize, f64, u64)> = table1::grid(&spec, &base)
        .unwrap()
        .iter()
        .map(|c| (c.width, c.beta, steps(c)))
        .collect();
    assert_eq!(
        got,
        vec![
            (5000, 0.75, 840_896),
            (5000, 1.0, 100_000),
            (10000, 0.75, 1_000_000),
            (10000, 1.0, 100_000),
            (50000, 0.75, 1_495_348),
            (50000, 1.0, 100_000),
        ]
    );
    // The paper's numbers are printed beside ours.
    assert_eq!(table1::paper_cell(50000, 1.0), Some((99.0, 57.7)));
}

/// At the paper's scale a missing CIFAR-10 says so and how to get it; the quick scale runs a
/// labelled stand-in instead.
#[test]
fn table1_without_cifar() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Overrides::default();
    o.train.insert(
        "data_dir".into(),
        dir.path().join("nodata").display().to_string().into(),
    );
    let spec = resolve_spec("table1", Scale::Paper, None, o.clone()).unwrap();
    let e = table1::configs(&spec, &ctx(dir.path(), Scale::Paper))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cifar10") && e.contains("data_batch_1.bin"),
        "{e}"
    );
    let quick = resolve_spec("table1", Scale::Quick, None, o).unwrap();
    let (configs, note) = table1::configs(&quick, &ctx(dir.path(), Scale::Quick)).unwrap();
    assert!(
        configs
            .iter()
            .all(|c| c.dataset == meanfield_data::DatasetKind::Mnist)
    );
    assert!(note.unwrap().contains("stand-in"));
}

#[test]
fn overrides_are_checked() {
    let e = resolve_spec(
        "figure1",
        Scale::Quick,
        None,
        Overrides {
            grid: grid(&[(Axis::Gammas, &[0.1])]),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("figure1 does not vary `gammas`"), "{e}");
    let mut o = Overrides::default();
    o.train.insert("beta".into(), 0.5.into());
    let e = resolve_spec("figure1", Scale::Paper, None, o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`betas`"), "{e}");
    let mut bad = toml::Table::new();
    bad.insert("colour".into(), "red".into());
    let e = resolve_spec(
        "figure2",
        Scale::Paper,
        Some(("x.toml".into(), bad)),
        Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("colour"), "{e}");
    assert!("huge".parse::<Scale>().is_err());
}

/// A tiny synthetic setting for the figure commands (over any preset: top-level keys of a
/// --config table apply at both scales).
fn tiny() -> (String, toml::Table) {
    let t: toml::Table = r#"
        [train]
        dataset = "synthetic"
        horizon = 2.0
        synthetic = { train = 600, test = 200 }
        train_subset = 600  # the quick presets' MNIST subset (10000) is more than this set
        test_subset = 200
        average_from = 1    # Table 1 averages from step 100; at T = 2 a run may have 2 steps

    "#
    .parse()
    .unwrap();
    ("tiny.toml".into(), t)
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every figure command on a tiny grid writes its files; a second call trains nothing.
#[test]
fn figure_commands_write_everything_and_reuse_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Overrides, &[&str]); 5] = [
        (
            "table1",
            Overrides {
                grid: grid(&[(Axis::Widths, &[20.0])]),
                ..Default::default()
            },
            &["report.md", "table.csv"],
        ),
        (
            "figure1",
            Overrides {
                grid: grid(&[(Axis::Betas, &[0.5, 1.0]), (Axis::Widths, &[20.0, 40.0])]),
                reference_width: Some(40),
                ..Default::default()
            },
            &[
                "figure1.png",
                "figure1.svg",
                "histograms.csv",
                "limit_density.csv",
                "panels.csv",
                "report.md",
            ],
        ),
        (
            "figure2",
            Overrides {
                grid: grid(&[(Axis::Widths, &[1000.0]), (Axis::Seeds, &[0.0, 1.0, 2.0])]),
                ..Default::default()
            },
            &[
                "figure2.png",
                "figure2.svg",
                "report.md",
                "spread.csv",
                "values.csv",
            ],
        ),
        (
            "figure3",
            Overrides {
                grid: grid(&[(Axis::Gammas, &[1.0, 0.1])]),
                reference_width: Some(40),
                train: width(30),
                ..Default::default()
            },
            &[
                "figure3.png",
                "figure3.svg",
                "histograms.csv",
                "limit_density.csv",
                "panels.csv",
                "report.md",
            ],
        ),
        (
            "figure-s5",
            Overrides {
                grid: grid(&[(Axis::Batches, &[1.0, 50.0])]),
                reference_width: Some(40),
                train: width(30),
                ..Default::default()
            },
            &[
                "figure-s5.png",
                "figure-s5.svg",
                "histograms.csv",
                "limit_density.csv",
                "panels.csv",
                "report.md",
            ],
        ),
    ];
    for (name, overrides, expected) in cases {
        let c = FigureContext {
            out: dir.path().join(name),
            ..ctx(dir.path(), Scale::Quick)
        };
        let spec = resolve_spec(name, Scale::Quick, Some(tiny()), overrides).unwrap();
        let lines = Mutex::new(Vec::<String>::new());
        let log = |l: &str| lines.lock().unwrap().push(l.to_string());
        let s = run_figure(name, &spec, &c, &log).unwrap();
        assert!(s.failed.is_empty(), "{name}: {:?}", s.failed);
        // The results folder is marked as the program's, then holds exactly the figure's files.
        let mut found = files(&c.out);
        let marker = found.iter().position(|f| f == "meanfield.json");
        found.remove(marker.unwrap_or_else(|| panic!("{name}: no marker")));
        assert_eq!(found, *expected, "{name}");
        let report = std::fs::read_to_string(&s.report).unwrap();
        assert!(
            report.contains("Scale: **quick**") && report.contains("NOT the paper"),
            "{report}"
        );
        // The histogram figures list each panel's and each limit run's wall time.
        if expected.contains(&"panels.csv") {
            assert!(
                report.contains("| wall |")
                    && report.contains("Limit runs (wall time of each run")
                    && report.contains("its floor: W2 "),
                "{report}"
            );
        }
        // Every histogram panel has a W2 to its limit and the limit's own floor (numbers, not
        // blanks; the floor compares two runs of different widths, so it is not 0).
        if let Ok(text) = std::fs::read_to_string(c.out.join("panels.csv")) {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let col = r
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "w2_to_limit")
                .unwrap();
            let floor = r
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "limit_floor_w2")
                .unwrap();
            for row in r.records() {
                let row = row.unwrap();
                let w2: f64 = row[col].parse().unwrap();
                assert!(w2.is_finite() && w2 >= 0.0);
                let floor: f64 = row[floor].parse().unwrap();
                assert!(floor.is_finite() && floor > 0.0, "{name}: floor {floor}");
            }
        }
        let trained = |l: &Vec<String>| l.iter().filter(|l| l.contains("] trained ")).count();
        assert!(
            trained(&lines.lock().unwrap()) > 0,
            "{name} trained nothing the first time"
        );
        lines.lock().unwrap().clear();
        run_figure(name, &spec, &c, &log).unwrap();
        let l = lines.lock().unwrap();
        assert_eq!(trained(&l), 0, "{name} retrained: {l:?}");
        // The grid's first line says its size; every run's line after it says "reused".
        let progress: Vec<_> = l.iter().filter(|l| l.starts_with('[')).collect();
        assert!(!progress.is_empty(), "{name}: no run reported: {l:?}");
        assert!(progress.iter().all(|l| l.contains("] reused ")), "{l:?}");
    }
}
