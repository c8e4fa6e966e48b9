//! The chaos study and the coordinate check on a tiny synthetic grid: every file is written,
//! a second call reuses the finished runs, and the numbers are sane.

use meanfield_study::chaos::ChaosStudy;
use meanfield_study::coord_check::{CoordCheck, CoordRow, render};
use meanfield_train::TrainConfig;
use std::sync::Mutex;

fn synthetic() -> TrainConfig {
    let mut c = TrainConfig::from_preset("synthetic").unwrap();
    c.synthetic.train = 1000;
    c.synthetic.test = 200;
    c.readout = meanfield_model::Readout::Fixed;
    c.readout_init = meanfield_model::Init::Uniform(1.0);
    c.beta = 0.75;
    c.horizon = 2.0;
    c
}

/// Asserts that each of `files` is a file in `dir`.
fn assert_files(dir: &std::path::Path, files: &[&str]) {
    for f in files {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
}

/// The coupling study's replicate families: one per data seed of `seeds`, in order, each the
/// least-squares slope over its own `widths` width runs. Returns the interval across them.
fn assert_family_slopes<'a>(
    result: &'a meanfield_study::coupling::CouplingResult,
    seeds: &[u64],
    widths: usize,
) -> &'a meanfield_chaos::ReplicateInterval {
    use meanfield_study::coupling::Part;
    let families = result.fits.families.as_ref().expect("two or more families");
    assert_eq!(result.fits.family_seeds, seeds);
    assert_eq!(families.values.len(), seeds.len());
    for (seed, slope) in seeds.iter().zip(&families.values) {
        let own: Vec<(f64, f64)> = result
            .sups
            .iter()
            .filter(|r| r.part == Part::Width && r.seed == *seed)
            .map(|r| (r.width as f64, r.d))
            .collect();
        assert_eq!(own.len(), widths);
        assert_eq!(meanfield_chaos::fit_rate(&own).unwrap().slope, *slope);
    }
    families
}

/// Synthetic runs at N = 20, 30, 40 under `dir/runs`.
fn three_widths(dir: &std::path::Path) -> Vec<TrainConfig> {
    [20, 30, 40]
        .iter()
        .map(|&width| TrainConfig {
            width,
            runs_dir: dir.join("runs"),
            ..synthetic()
        })
        .collect()
}

#[test]
fn chaos_study_writes_everything_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let study = ChaosStudy {
        base: synthetic(),
        widths: vec![20, 40, 80, 160],
        seeds: vec![0, 1],
        reference: None,
        projections: 50,
        projection_seeds: vec![0, 1],
        coordinate: 0,
        jobs: 2,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: dir.path().join("study"),
    };
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let stop = meanfield_train::StopHandle::new();
    let result = study
        .run(&stop, &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_files(
        &dir.path().join("study"),
        &[
            "distances.csv",
            "fits.json",
            "chaos.svg",
            "chaos.png",
            "report.md",
        ],
    );
    let png = std::fs::read(dir.path().join("study/chaos.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // 8 runs; 7 to the reference (N = 160, seed 0 is the reference), 4 seed pairs.
    assert_eq!(
        result
            .rows
            .iter()
            .filter(|r| r.kind == "to-reference")
            .count(),
        7
    );
    assert_eq!(
        result
            .rows
            .iter()
            .filter(|r| r.kind == "between-seeds")
            .count(),
        4
    );
    assert!(
        result
            .rows
            .iter()
            .all(|r| r.sliced_w2_mean > 0.0 && r.w2_coordinate > 0.0)
    );
    // Independent initialisations: the distance between seeds falls as N grows.
    let fit = result.fits.between_seeds_sliced.expect("four widths fit");
    assert!(fit.slope < 0.0, "slope {}", fit.slope);
    assert_eq!(
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("trained"))
            .count(),
        8
    );
    lines.lock().unwrap().clear();
    study
        .run(&stop, &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_eq!(
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("reused"))
            .count(),
        8
    );
}

#[test]
fn coordinate_check_is_flat_in_width_for_the_theory_setting() {
    let dir = tempfile::tempdir().unwrap();
    // β = 1: every width advances the same continuous time per step (γ_αβ(N) = γ), so the
    // sizes after k steps are comparable across N.
    let check = CoordCheck {
        base: TrainConfig {
            beta: 1.0,
            ..synthetic()
        },
        widths: vec![50, 200, 800],
        steps: 5,
    };
    let rows = check.measure(&|_| {}).unwrap();
    render(
        &rows,
        &check.title(),
        "experiments coord-check",
        &dir.path().join("cc"),
    )
    .unwrap();
    for f in [
        "coord_check.csv",
        "coord_check.svg",
        "coord_check.png",
        "report.md",
    ] {
        assert!(dir.path().join("cc").join(f).is_file(), "{f} missing");
    }
    let report = std::fs::read_to_string(dir.path().join("cc/report.md")).unwrap();
    assert!(
        report.contains("Reproduce: `experiments coord-check`"),
        "{report}"
    );
    assert_eq!(report.matches("\n| 800 | ").count(), 1, "{report}");
    let last: Vec<_> = rows.iter().filter(|r| r.step == 5).collect();
    assert_eq!(last.len(), 3);
    // Flat: across a 16x range of widths each size changes by less than a factor 2 (sampling
    // noise of the N particles is O(N^-1/2)); a wrong scaling would change by ~4x or more.
    type Size = fn(&CoordRow) -> f64;
    let sizes: [Size; 3] = [|r| r.pre_activation, |r| r.logits, |r| r.update];
    for f in sizes {
        let (a, b) = (f(last[0]), f(last[2]));
        assert!(a > 0.0 && b > 0.0 && (a / b).max(b / a) < 2.0, "{a} vs {b}");
    }
}

/// The coordinate check steps through the trainer's own step: after k steps its numbers equal,
/// bit for bit, the same numbers recomputed from the weights `train --steps k` saved (and from
/// the initial weights a `--steps 0` run saved). The setting has a nonzero seed (the batch order
/// is the run's seed XOR a stream constant) and Langevin noise (seeded per step), the two
/// places the old copy of the loop drifted from the trainer.
#[test]
fn coordinate_check_steps_are_the_trainers_steps() {
    use burn::tensor::{Tensor, TensorData};
    use meanfield_model::net::to_vec;
    use meanfield_train::{RunOptions, train, weights};
    let dir = tempfile::tempdir().unwrap();
    let k = 7;
    let base = TrainConfig {
        seed: 5,
        temperature: 1e-3,
        readout: meanfield_model::Readout::Trainable,
        ..synthetic()
    };
    let check = CoordCheck {
        base: base.clone(),
        widths: vec![30],
        steps: k,
    };
    let rows = check.measure(&|_| {}).unwrap();
    let last = rows.iter().find(|r| r.step == k).unwrap();

    let saved = |steps: u64, name: &str| {
        let config = TrainConfig {
            width: 30,
            steps: Some(steps),
            out: Some(dir.path().join(name)),
            ..base.clone()
        };
        let o = train(&config, RunOptions::quiet()).unwrap();
        let (p, c) = (base.synthetic.dim, base.synthetic.classes);
        (
            weights::load(&o.dir().join(weights::HIDDEN), [30, p]).unwrap(),
            weights::load(&o.dir().join(weights::READOUT), [30, c]).unwrap(),
        )
    };
    let (h0, _) = saved(0, "start");
    let (h, r) = saved(k, "after");
    // The same formulas as the check, from the trainer's weights.
    let p = base.synthetic.dim;
    let moved: f64 = h
        .chunks_exact(p)
        .zip(h0.chunks_exact(p))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum::<f64>()
        })
        .sum();
    assert_eq!(last.update, (moved / 30.0).sqrt());
    assert!(last.update > 0.0);
    let device = base.backend.device().unwrap();
    let task = meanfield_train::task::Task::load(&base).unwrap();
    let probe: Vec<usize> = (0..base.batch).collect();
    let (px, _) = task.train.gather(&probe);
    let net = TrainConfig {
        width: 30,
        ..base.clone()
    }
    .net(p, base.synthetic.classes)
    .init_with(&device, h, r)
    .unwrap();
    let trace = net.forward_trace(Tensor::<2>::from_data(
        TensorData::new(px, [probe.len(), p]),
        &device,
    ));
    let mean_abs = |v: Vec<f32>| v.iter().map(|x| x.abs() as f64).sum::<f64>() / v.len() as f64;
    assert_eq!(last.pre_activation, mean_abs(to_vec(trace.pre)));
    assert_eq!(last.logits, mean_abs(to_vec(trace.logits)));
}

/// A grid stopped between runs: the run in progress finishes (it was the last step), no new
/// run starts (each reports an interruption and writes nothing), and the next call reuses the
/// finished run and trains the others.
#[test]
fn grid_stopped_between_runs_resumes() {
    use meanfield_study::grid::run_grid;
    use meanfield_train::{Outcome, StopHandle, TrainError, run_dir};
    let dir = tempfile::tempdir().unwrap();
    let configs = three_widths(dir.path());
    let stop = StopHandle::new();
    let log = |l: &str| {
        if l.contains("trained") {
            stop.request();
        }
    };
    let first = run_grid(&configs, 1, &stop, &log);
    assert!(matches!(first[0], Ok(Outcome::Trained { .. })));
    for (r, c) in first[1..].iter().zip(&configs[1..]) {
        assert!(
            matches!(r, Err(TrainError::Interrupted { step: 0, .. })),
            "{:?}",
            r.as_ref().map(|_| ())
        );
        assert!(
            !run_dir::run_dir(c).exists(),
            "a stopped grid started a run"
        );
    }
    let again = run_grid(&configs, 1, &StopHandle::new(), &|_| {});
    assert!(matches!(again[0], Ok(Outcome::Reused { .. })));
    assert!(
        again[1..]
            .iter()
            .all(|r| matches!(r, Ok(Outcome::Trained { .. })))
    );
}

/// Two runs with Langevin noise trained at once in one process (`--jobs 2`) end with the same
/// weights as when trained one after the other: Burn's random generator is process-wide, and a
/// noisy step holds it from its seed to the end of its update. (Without that lock this failed:
/// concurrent runs interleaved their seeds and draws.)
#[test]
fn noisy_runs_in_parallel_equal_runs_in_sequence() {
    use meanfield_study::grid::run_grid;
    use meanfield_train::StopHandle;
    let dir = tempfile::tempdir().unwrap();
    let configs = |sub: &str| -> Vec<TrainConfig> {
        [0u64, 1]
            .iter()
            .map(|&seed| TrainConfig {
                width: 200,
                seed,
                temperature: 1e-2,
                steps: Some(60),
                runs_dir: dir.path().join(sub),
                ..synthetic()
            })
            .collect()
    };
    let (parallel, sequential) = (configs("parallel"), configs("sequential"));
    for r in run_grid(&parallel, 2, &StopHandle::new(), &|_| {}) {
        r.unwrap();
    }
    for r in run_grid(&sequential, 1, &StopHandle::new(), &|_| {}) {
        r.unwrap();
    }
    for (a, b) in parallel.iter().zip(&sequential) {
        let read = |c: &TrainConfig| {
            std::fs::read(meanfield_train::run_dir::run_dir(c).join("hidden.npy")).unwrap()
        };
        assert!(read(a) == read(b), "seed {}: parallel ≠ sequential", a.seed);
    }
}

/// The coupling study on a tiny synthetic grid: every file, every run reused on a second call,
/// and the exact cases: D = 0 for a run against itself retrained (same width and seeds), D = 0
/// at t = 0 between widths (coupled starts), D > 0 afterwards.
#[test]
fn coupling_study_writes_everything_reuses_runs_and_exact_cases_hold() {
    use meanfield_chaos::coupling_distance;
    use meanfield_study::coupling::{CouplingStudy, Part};
    use meanfield_train::{RunOptions, StopHandle, snapshot, train};
    let dir = tempfile::tempdir().unwrap();
    let study = CouplingStudy {
        base: synthetic(),
        widths: vec![20, 40, 80],
        reference_width: 320,
        data_seeds: None,
        shared_noise: false,
        batch_sweep: vec![10, 100],
        batch_sweep_width: Some(40),
        snapshots: 4,
        jobs: 2,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: dir.path().join("coupling"),
    };
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let result = study
        .run(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_files(
        &dir.path().join("coupling"),
        &[
            "coupling.csv",
            "sup.csv",
            "fits.json",
            "coupling_width.png",
            "coupling_time.png",
            "coupling_batch.png",
            "report.md",
        ],
    );
    // 3 widths × 2 seeds, 2 batches × 2 seeds, 1 reference share; 5 times each.
    let count = |p: Part| result.sups.iter().filter(|s| s.part == p).count();
    assert_eq!((count(Part::Width), count(Part::Batch)), (6, 4));
    assert_eq!(count(Part::ReferenceShare), 1);
    assert_eq!(result.times.len(), 11 * 5);
    // At t = 0 every run starts from the reference's own first particles.
    assert!(
        result
            .times
            .iter()
            .filter(|t| t.time == 0.0)
            .all(|t| t.d == 0.0)
    );
    assert!(result.sups.iter().all(|s| s.d > 0.0));
    assert!(result.fits.width.fit.is_some() && result.fits.batch.is_some());
    // Two replicate families (data seeds 0 and 1), each its own runs' slope over the widths.
    let families = assert_family_slopes(&result, &[0, 1], 3);
    assert!((families.mean - (families.values[0] + families.values[1]) / 2.0).abs() < 1e-12);
    let trained = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("] trained "))
        .count();
    assert_eq!(trained, result.runs);
    lines.lock().unwrap().clear();
    study
        .run(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_all_reused(&lines.lock().unwrap());

    // The same width and seeds trained again elsewhere: D = 0 exactly.
    let config = |out: &str| TrainConfig {
        out: Some(dir.path().join(out)),
        ..study.run_config(40, 100, 0, 40)
    };
    for out in ["again-1", "again-2"] {
        train(&config(out), RunOptions::quiet()).unwrap();
    }
    let (a, b) = (
        snapshot::load(&dir.path().join("again-1")).unwrap(),
        snapshot::load(&dir.path().join("again-2")).unwrap(),
    );
    let d = coupling_distance(&a.hidden, &b.hidden, a.input_dim).unwrap();
    assert_eq!(d.sup, 0.0);
    assert!(d.per_time.iter().all(|v| *v == 0.0));
}

/// The coupling study on the particle diffusion (6) at β = 1, tiny synthetic grid: every file,
/// every run reused on a second call, coupled starts, the theorem's −1 as the prediction with
/// shared noise; and the data seed is the diffusion's noise (another seed, other weights).
#[test]
fn coupling_study_on_the_diffusion() {
    use meanfield_study::coupling::CouplingStudy;
    use meanfield_train::{Dynamics, ExampleSet, StopHandle, run_dir};
    let dir = tempfile::tempdir().unwrap();
    let mut base = synthetic();
    base.synthetic.train = 200;
    base.beta = 1.0;
    base.gamma = 0.5;
    base.dynamics = Dynamics::Diffusion;
    base.drift_set = ExampleSet::Full;
    base.noise_set = ExampleSet::Full;
    base.validate().unwrap();
    let study = CouplingStudy {
        base,
        widths: vec![20, 40],
        reference_width: 160,
        data_seeds: None,
        shared_noise: true,
        batch_sweep: vec![],
        batch_sweep_width: None,
        snapshots: 4,
        jobs: 1,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: dir.path().join("coupling"),
    };
    assert_eq!(study.predicted_width_exponents()[0].1, -1.0);
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let result = study
        .run(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_files(
        &dir.path().join("coupling"),
        &[
            "coupling.csv",
            "sup.csv",
            "fits.json",
            "coupling_width.png",
            "report.md",
        ],
    );
    let report = std::fs::read_to_string(dir.path().join("coupling/report.md")).unwrap();
    assert!(report.contains("diffusion (6)"), "{report}");
    assert!(
        result
            .times
            .iter()
            .filter(|t| t.time == 0.0)
            .all(|t| t.d == 0.0)
    );
    assert!(result.sups.iter().all(|s| s.d > 0.0));
    lines.lock().unwrap().clear();
    study
        .run(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_all_reused(&lines.lock().unwrap());
    let other_seed = TrainConfig {
        out: Some(dir.path().join("other-seed")),
        ..study.run_config(20, study.base.batch, 1, 20)
    };
    meanfield_train::train(&other_seed, meanfield_train::RunOptions::quiet()).unwrap();
    let hidden = |d: &std::path::Path| std::fs::read(d.join("hidden.npy")).unwrap();
    let shared = meanfield_study::coupling::REFERENCE_DATA_SEED;
    let seed0 = run_dir::run_dir(&study.run_config(20, study.base.batch, shared, 20));
    assert!(hidden(&seed0) != hidden(&dir.path().join("other-seed")));
}

/// Shared noise with several data seeds (Theorem 2's replicate families): one reference per
/// seed, on that seed's batches, each width measured against its own family's reference (D
/// recomputed from the runs' snapshots), far closer to it than to another family's; one slope
/// per family and their interval; the reference's share on the first family's noise; and a
/// second call reuses every run.
#[test]
fn shared_noise_families_each_have_their_own_reference() {
    use meanfield_chaos::coupling_distance;
    use meanfield_study::coupling::{CouplingStudy, Part};
    use meanfield_train::{StopHandle, run_dir, snapshot};
    let dir = tempfile::tempdir().unwrap();
    let mut base = synthetic();
    base.beta = 1.0;
    base.gamma = 0.5;
    base.synthetic.train = 300;
    let study = CouplingStudy {
        base,
        widths: vec![20, 40, 80],
        reference_width: 320,
        data_seeds: Some(vec![3, 4]),
        shared_noise: true,
        batch_sweep: vec![],
        batch_sweep_width: None,
        snapshots: 4,
        jobs: 2,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: dir.path().join("coupling"),
    };
    let plan = study.plan().unwrap();
    let references: Vec<u64> = plan
        .iter()
        .filter(|(p, _)| *p == Part::Reference)
        .map(|(_, c)| c.data_seed())
        .collect();
    assert_eq!(references, [3, 4]);
    // The first reference keeps N_ref/2 rows for the share; the other only the widths'.
    let rows: Vec<Option<usize>> = plan
        .iter()
        .filter(|(p, _)| *p == Part::Reference)
        .map(|(_, c)| c.snapshot_rows)
        .collect();
    assert_eq!(rows, [Some(160), Some(80)]);
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let result = study
        .run(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert!(result.failed_runs.is_empty(), "{:?}", result.failed_runs);
    // 3 widths × 2 families, the share once on the first family's noise; 2 references.
    let count = |p: Part| result.sups.iter().filter(|s| s.part == p).count();
    assert_eq!((count(Part::Width), count(Part::ReferenceShare)), (6, 1));
    assert_eq!(result.runs, 6 + 1 + 2);
    let share = result
        .sups
        .iter()
        .find(|s| s.part == Part::ReferenceShare)
        .unwrap();
    assert_eq!((share.width, share.seed), (160, 3));
    let load = |width: usize, seed: u64, rows: usize| {
        snapshot::load(&run_dir::run_dir(&study.run_config(
            width,
            study.base.batch,
            seed,
            rows,
        )))
        .unwrap()
    };
    let first = load(320, 3, 160);
    let dim = first.input_dim;
    let reference = [(3u64, first.hidden), (4, load(320, 4, 80).hidden)];
    for row in result.sups.iter().filter(|s| s.part == Part::Width) {
        let run = load(row.width, row.seed, row.width).hidden;
        let own = &reference.iter().find(|(s, _)| *s == row.seed).unwrap().1;
        let other = &reference.iter().find(|(s, _)| *s != row.seed).unwrap().1;
        let d = coupling_distance(&run, own, dim).unwrap();
        // The row is D against its own family's reference, exactly.
        assert_eq!(d.sup, row.d, "N = {}, seed {}", row.width, row.seed);
        // On the same noise the run stays close to its reference; another family's
        // reference took other batches (ratios of 58 to 252 observed here).
        let across = coupling_distance(&run, other, dim).unwrap();
        assert!(
            across.sup > 4.0 * d.sup,
            "N = {}, seed {}: D {} against its own reference, {} against the other",
            row.width,
            row.seed,
            d.sup,
            across.sup
        );
    }
    assert_family_slopes(&result, &[3, 4], 3);
    let report = std::fs::read_to_string(dir.path().join("coupling/report.md")).unwrap();
    assert!(report.contains("a reference per data seed"), "{report}");
    assert!(report.contains("Across replicate families (each data seed's runs over the widths against a reference on the same noise"), "{report}");
    lines.lock().unwrap().clear();
    study
        .run(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_all_reused(&lines.lock().unwrap());
    assert_eq!(result.fits.family_seeds, [3, 4]);

    // Family 4's reference cannot be used: one of its snapshot files replaced by a folder of
    // someone's, so it is found damaged, and training it again cannot write that file (the
    // folder is not the program's to remove). Its widths trained but are listed as not
    // measured, and family 3 is measured as before.
    // A reference's snapshot file replaced by a folder of someone's; then the study again.
    let block = |seed: u64, rows: usize| {
        let file = run_dir::run_dir(&study.run_config(320, study.base.batch, seed, rows))
            .join("snapshots/hidden_2.npy");
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        std::fs::write(file.join("notes.txt"), "mine").unwrap();
        file
    };
    let again = || {
        study
            .run(&StopHandle::new(), &|_: &str| {})
            .unwrap()
            .done()
            .expect("measured, not planned")
    };
    let damaged = block(4, 80);
    let partial = again();
    assert!(
        partial.sups.iter().all(|s| s.seed == 3),
        "{:?}",
        partial.sups
    );
    assert_eq!(partial.sups.len(), 3 + 1);
    for width in [20, 40, 80] {
        let line = format!("N = {width},");
        assert!(
            partial.failed_runs.iter().any(|f| f.contains(&line)
                && f.contains("not measured")
                && f.contains("data seed 4")),
            "{:?}",
            partial.failed_runs
        );
    }
    assert!(partial.fits.families.is_none());
    assert_eq!(
        std::fs::read_to_string(damaged.join("notes.txt")).unwrap(),
        "mine"
    );
    let report = std::fs::read_to_string(dir.path().join("coupling/report.md")).unwrap();
    assert!(
        report.contains("1 of 2 families could be fitted"),
        "{report}"
    );

    // The first family's reference unusable instead: the share (on its noise) is unknown, and
    // the two-term fit says it is uncorrected rather than subtracting nothing silently.
    std::fs::remove_dir_all(&damaged).unwrap();
    block(3, 160);
    let partial = again();
    assert!(
        partial.sups.iter().all(|s| s.seed == 4),
        "{:?}",
        partial.sups
    );
    assert!(partial.fits.reference_share.is_none());
    let report = std::fs::read_to_string(dir.path().join("coupling/report.md")).unwrap();
    assert!(
        report.contains("with no correction for the reference's own share"),
        "{report}"
    );

    // One data seed with shared noise: the reference takes it too (it took the default
    // reference seed, on other batches than the widths', before).
    let one = CouplingStudy {
        data_seeds: Some(vec![3]),
        ..study.clone()
    };
    let seeds: Vec<(Part, u64)> = one
        .plan()
        .unwrap()
        .iter()
        .map(|(p, c)| (*p, c.data_seed()))
        .collect();
    assert!(seeds.iter().all(|(_, s)| *s == 3), "{seeds:?}");
}

/// The plans of the study's defaults, pinned (their runs, and so their folders, must not move):
/// independent noise, one reference on REFERENCE_DATA_SEED keeping N_ref/2 rows, the widths on
/// 0 and 1, the share on REFERENCE_DATA_SEED + 1; shared noise, every run on REFERENCE_DATA_SEED.
/// And the data seeds a plan refuses: none, or one twice.
#[test]
fn coupling_default_plans_and_refused_seeds() {
    use meanfield_study::coupling::{CouplingStudy, Part, REFERENCE_DATA_SEED};
    let study = CouplingStudy {
        base: synthetic(),
        widths: vec![20, 40],
        reference_width: 320,
        data_seeds: None,
        shared_noise: false,
        batch_sweep: vec![10],
        batch_sweep_width: None,
        snapshots: 4,
        jobs: 1,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: "unused".into(),
    };
    let r = REFERENCE_DATA_SEED;
    let summary = |s: &CouplingStudy| -> Vec<(Part, usize, usize, u64, Option<usize>)> {
        s.plan()
            .unwrap()
            .iter()
            .map(|(p, c)| (*p, c.width, c.batch, c.data_seed(), c.snapshot_rows))
            .collect()
    };
    use Part::*;
    assert_eq!(
        summary(&study),
        [
            (Reference, 320, 100, r, Some(160)),
            (Width, 20, 100, 0, Some(20)),
            (Width, 40, 100, 0, Some(40)),
            (Batch, 40, 10, 0, Some(40)),
            (Width, 20, 100, 1, Some(20)),
            (Width, 40, 100, 1, Some(40)),
            (Batch, 40, 10, 1, Some(40)),
            (ReferenceShare, 160, 100, r + 1, Some(160)),
        ]
    );
    let shared = CouplingStudy {
        shared_noise: true,
        ..study.clone()
    };
    assert_eq!(
        summary(&shared),
        [
            (Reference, 320, 100, r, Some(160)),
            (Width, 20, 100, r, Some(20)),
            (Width, 40, 100, r, Some(40)),
            (Batch, 40, 10, r, Some(40)),
            (ReferenceShare, 160, 100, r, Some(160)),
        ]
    );
    // With independent noise the reference's and its share's data seeds are not the widths' to
    // take; with shared noise the reference's seed is the default.
    for seed in [r, r + 1] {
        let err = CouplingStudy {
            data_seeds: Some(vec![0, seed]),
            ..study.clone()
        }
        .plan()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("gives {seed}, the data seed of the reference")),
            "{err}"
        );
    }
    assert!(
        CouplingStudy {
            data_seeds: Some(vec![r]),
            ..shared.clone()
        }
        .plan()
        .is_ok()
    );
    // The batch sweep's width below the reference's.
    for width in [320, 640] {
        let err = CouplingStudy {
            batch_sweep_width: Some(width),
            ..study.clone()
        }
        .plan()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("must be below the reference width 320"),
            "{err}"
        );
    }
    for (seeds, refusal) in [
        (vec![], "is empty"),
        (vec![5, 6, 5], "gives 5 twice (at position 3)"),
    ] {
        for shared_noise in [false, true] {
            let err = CouplingStudy {
                data_seeds: Some(seeds.clone()),
                shared_noise,
                ..study.clone()
            }
            .plan()
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("`data_seeds`") && err.contains(refusal),
                "{err}"
            );
        }
    }
}

/// SGD against its diffusion on a tiny synthetic grid: every file, one row per (β, γ), the
/// run-to-run baselines and the spreads present, SGD's noise correlation a correlation, and
/// every run reused on a second call.
#[test]
fn sgd_vs_diffusion_writes_everything_and_reuses_runs() {
    use meanfield_study::sgd_vs_diffusion::SgdVsDiffusion;
    use meanfield_train::{Dynamics, ExampleSet, StopHandle};
    let dir = tempfile::tempdir().unwrap();
    let mut base = synthetic();
    base.synthetic.train = 200;
    base.width = 30;
    base.dynamics = Dynamics::Diffusion;
    base.drift_set = ExampleSet::Full;
    base.noise_set = ExampleSet::Full;
    let study = SgdVsDiffusion {
        base,
        betas: vec![1.0],
        gammas: vec![1.0, 0.3],
        data_seeds: vec![0, 1],
        coordinate: 0,
        projections: 20,
        correlation_particles: 10,
        correlation_examples: 100,
        jobs: 1,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: dir.path().join("svd"),
    };
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let result = study
        .measure(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    study.render(&result).unwrap();
    for f in ["sgd_vs_diffusion.csv", "sgd_vs_diffusion.png", "report.md"] {
        assert!(dir.path().join("svd").join(f).is_file(), "{f} missing");
    }
    assert_eq!(result.rows.len(), 2);
    for r in &result.rows {
        assert!(r.sliced_gap > 0.0 && r.w2_gap >= 0.0, "{r:?}");
        assert!(
            r.sliced_sgd_runs.is_some() && r.mean_spread_diffusion.is_some(),
            "{r:?}"
        );
        assert!(r.correlation_final.abs() <= 1.0 + 1e-9, "{r:?}");
        assert!(r.within_sd_diffusion > 0.0, "{r:?}");
    }
    let initial = result.correlation_initial.unwrap();
    assert!(initial.mean_abs <= 1.0 + 1e-9 && initial.particles == 10);
    lines.lock().unwrap().clear();
    study
        .measure(&StopHandle::new(), &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_all_reused(&lines.lock().unwrap());
}

/// `--plan` is a success with its plan, not an error: the grid's runs become jobs, nothing is
/// trained, and the plan says how many and where.
#[test]
fn planning_a_grid_is_a_success_with_its_plan() {
    use meanfield_study::grid::Measured;
    use meanfield_study::plan::GridMode;
    use meanfield_study::tails::TailStudy;
    use meanfield_train::StopHandle;
    let dir = tempfile::tempdir().unwrap();
    let study = TailStudy {
        base: synthetic(),
        widths: vec![20, 40],
        gammas: vec![1.0],
        batches: vec![100],
        coordinate: 0,
        jobs: 1,
        mode: GridMode::Plan {
            dir: dir.path().join("plan"),
            assemble: "experiments tails --assemble-only".into(),
            job: "experiments run --config {config} --quiet".into(),
        },
        out: dir.path().join("tails"),
        command: "experiments tails".into(),
    };
    match study.measure(&StopHandle::new(), &|_| {}).unwrap() {
        Measured::Planned(plan) => {
            assert_eq!(plan.jobs, 2);
            let jobs = std::fs::read_to_string(plan.dir.join("jobs.txt")).unwrap();
            // One line per run: the job command with the run's config file in its slot.
            let first = format!(
                "experiments run --config '{}' --quiet",
                plan.dir.join("configs/0001.toml").display()
            );
            assert_eq!(jobs.lines().count(), 2, "{jobs}");
            assert!(jobs.lines().next().unwrap().ends_with(&first), "{jobs}");
            let said = plan.to_string();
            assert!(
                said.contains("nothing trained") && said.contains("--assemble-only"),
                "{said}"
            );
        }
        Measured::Done(_) => panic!("a planned grid measured something"),
    }
    let trained = std::fs::read_dir(dir.path().join("tails/runs")).map_or(0, |d| d.count());
    assert_eq!(trained, 0, "nothing trained");
}

/// A grid meets a run another process holds: it trains the others first, comes back, waits for
/// the lock, and then trains (or reuses) that run.
#[test]
fn grid_comes_back_to_a_locked_run() {
    use meanfield_study::grid::run_grid;
    use meanfield_train::{Outcome, StopHandle, lock, run_dir};
    let dir = tempfile::tempdir().unwrap();
    let configs = three_widths(dir.path());
    let held = lock::acquire(&run_dir::run_dir(&configs[0]), false, &|_| {}).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        drop(held);
    });
    let lines = Mutex::new(Vec::new());
    let results = run_grid(&configs, 1, &StopHandle::new(), &|l: &str| {
        lines.lock().unwrap().push(l.to_string())
    });
    releaser.join().unwrap();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Outcome::Trained { .. })))
    );
    let lines = lines.into_inner().unwrap();
    assert!(lines[0].contains("coming back to it later"), "{lines:?}");
    assert!(lines.last().unwrap().contains("[1/3] trained"), "{lines:?}");
}

/// The tail phase study on a tiny synthetic grid (2 widths × 2 γ × 1 M at β = 1): every file is
/// written, each run gets a tail index with an interval around it, the report has its sections,
/// and a second call reuses every run.
#[test]
fn tail_study_writes_everything_and_reuses_runs() {
    use meanfield_study::tails::TailStudy;
    let dir = tempfile::tempdir().unwrap();
    let study = TailStudy {
        base: TrainConfig {
            beta: 1.0,
            ..synthetic()
        },
        widths: vec![100, 200],
        gammas: vec![1.0, 0.1],
        batches: vec![20],
        coordinate: 0,
        jobs: 2,
        mode: Default::default(),
        command: "experiments (test)".into(),
        out: dir.path().join("tails"),
    };
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let stop = meanfield_train::StopHandle::new();
    let result = study
        .measure(&stop, &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    study.render(&result).unwrap();
    assert_files(
        &dir.path().join("tails"),
        &[
            "tails.csv",
            "hill_plot.csv",
            "tails.svg",
            "tails.png",
            "report.md",
        ],
    );
    assert_eq!(result.rows.len(), 4);
    for r in &result.rows {
        assert!(r.index.is_finite() && r.index > 0.0, "{r:?}");
        assert!(r.ci_low < r.index && r.index < r.ci_high);
        // k = ⌊√N⌋: 10 at N = 100, 14 at N = 200.
        assert_eq!(r.k, if r.width == 100 { 10 } else { 14 });
        assert_eq!(r.gamma_over_m, r.gamma / 20.0);
    }
    assert!(!result.hill.is_empty());
    let report = std::fs::read_to_string(dir.path().join("tails/report.md")).unwrap();
    assert!(
        report.contains("## Where the index crosses 2") && report.contains("## Stability in N"),
        "{report}"
    );
    let count = |word: &str| {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(word))
            .count()
    };
    assert_eq!(count("trained"), 4);
    lines.lock().unwrap().clear();
    let again = study
        .measure(&stop, &log)
        .unwrap()
        .done()
        .expect("measured, not planned");
    assert_eq!(count("reused"), 4);
    assert_eq!(again.rows.len(), 4);
}

/// Every run of a second call says "reused" (the grid's first line gives its size).
fn assert_all_reused(lines: &[String]) {
    let progress: Vec<_> = lines.iter().filter(|l| l.starts_with('[')).collect();
    assert!(!progress.is_empty(), "no run reported: {lines:?}");
    assert!(
        progress.iter().all(|l| l.contains("] reused ")),
        "{lines:?}"
    );
}
