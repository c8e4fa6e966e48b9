//! The training loop as a value: a stop handle gives a checkpoint and an exact resume, a run
//! driven step by step equals `train`, and `summary.json` records how a run ended.

use meanfield_train::summary::Status;
use meanfield_train::{
    Outcome, Run, RunOptions, StopHandle, TrainConfig, TrainError, checkpoint, run_dir, train,
    weights,
};
use std::path::Path;

#[allow(dead_code, reason = "helpers for the other test files too")]
mod support;
use support::{RESULTS, assert_same_files};

/// A small synthetic setting that exercises the sampler's epoch state (500 rows, M = 100:
/// five batches an epoch), the Polyak average and the Langevin noise.
fn setting(out: &Path) -> TrainConfig {
    let mut c = TrainConfig::from_preset("synthetic").unwrap();
    c.synthetic.train = 500;
    c.synthetic.test = 100;
    c.width = 64;
    c.steps = Some(40);
    c.average_from = Some(10);
    c.temperature = 1e-3;
    c.checkpoint_every = 0;
    c.eval_every = 15;
    c.out = Some(out.to_path_buf());
    c
}

/// Stop requested after 15 steps: the run takes one more step, writes a checkpoint at 16 and
/// returns `Interrupted`; `train` then resumes from it and ends with the same weights, average
/// and metrics, byte for byte, as a run never stopped.
#[test]
fn stop_handle_checkpoints_and_resume_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = setting(&tmp.path().join("straight"));
    train(&straight, RunOptions::quiet()).unwrap();

    let stopped = setting(&tmp.path().join("stopped"));
    let mut run = Run::fresh(&stopped, true).unwrap();
    for _ in 0..15 {
        run.step().unwrap();
    }
    let stop = StopHandle::new();
    stop.request();
    match run.fit(&stop) {
        Err(TrainError::Interrupted { step: 16, dir }) => {
            assert_eq!(dir, tmp.path().join("stopped"))
        }
        other => panic!(
            "expected an interruption at step 16, got {:?}",
            other.map(|_| ())
        ),
    }
    drop(run);
    let ckpt = checkpoint::latest(&tmp.path().join("stopped")).expect("a checkpoint");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 16);
    assert!(
        Status::read(&tmp.path().join("stopped")).is_none(),
        "not finished"
    );

    // Through `train` with the stop already requested: one step, a checkpoint, interrupted.
    let mut options = RunOptions::quiet();
    options.stop = stop.clone();
    match train(&stopped, options) {
        Err(TrainError::Interrupted { step: 17, .. }) => {}
        other => panic!(
            "expected an interruption at step 17, got {:?}",
            other.map(|_| ())
        ),
    }
    let resumed = train(&stopped, RunOptions::quiet()).unwrap();
    assert!(matches!(resumed, Outcome::Trained { .. }));
    assert_same_files(
        &tmp.path().join("straight"),
        &tmp.path().join("stopped"),
        &RESULTS,
        "stopped and resumed, and straight",
    );
    assert!(checkpoint::latest(&tmp.path().join("stopped")).is_none());
}

/// The loop driven by hand (measuring every 5 steps, as a library user would) gives the same
/// run as `train`.
#[test]
fn run_driven_step_by_step_equals_train() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = setting(&tmp.path().join("train"));
    train(&reference, RunOptions::quiet()).unwrap();
    let by_hand = setting(&tmp.path().join("by-hand"));
    let mut run = Run::fresh(&by_hand, true).unwrap();
    let mut norms = Vec::new();
    while !run.is_done() {
        run.step().unwrap();
        if run.done().is_multiple_of(5) {
            let (hidden, _) = run.model().weights_to_vec();
            norms.push(
                hidden
                    .iter()
                    .map(|v| (*v as f64).powi(2))
                    .sum::<f64>()
                    .sqrt(),
            );
        }
    }
    assert_eq!(run.done(), 40);
    let summary = run.finish().unwrap();
    assert_eq!(summary.steps, 40);
    assert_eq!(norms.len(), 8);
    assert!(norms.windows(2).any(|w| w[0] != w[1]), "the weights moved");
    assert_same_files(
        &tmp.path().join("train"),
        &tmp.path().join("by-hand"),
        &RESULTS,
        "train, and stepped by hand",
    );
}

/// `summary.json` is one typed value: "finished" with the summary, or "diverged" with the step
/// and the error. A diverged run is not reused: the next call trains it again.
#[test]
fn summary_json_statuses() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = setting(&tmp.path().join("ok"));
    let outcome = train(&ok, RunOptions::quiet()).unwrap();
    let text = std::fs::read_to_string(tmp.path().join("ok/summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["status"], "finished");
    assert_eq!(json["steps"], 40);
    match Status::read(&tmp.path().join("ok")) {
        // The same summary (JSON keeps f64 to within a unit in the last place).
        Some(Status::Finished(s)) => {
            let o = outcome.summary();
            assert_eq!(
                (s.steps, s.width, s.train_examples),
                (o.steps, o.width, o.train_examples)
            );
            assert!((s.last.test_loss - o.last.test_loss).abs() < 1e-12);
        }
        other => panic!("expected finished, got {other:?}"),
    }
    assert!(matches!(
        train(&ok, RunOptions::quiet()).unwrap(),
        Outcome::Reused { .. }
    ));

    // γ = 1e30 with large initial weights: the first logged batch loss is not finite.
    let mut bad = setting(&tmp.path().join("bad"));
    bad.gamma = 1e30;
    bad.init = meanfield_model::Init::Normal(10.0);
    let err = train(&bad, RunOptions::quiet()).unwrap_err();
    let TrainError::Diverged { step, .. } = err else {
        panic!("expected a divergence, got {err}");
    };
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("bad/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["status"], "diverged");
    assert_eq!(json["step"], step);
    assert!(json["error"].as_str().unwrap().contains("diverged at step"));
    assert!(matches!(
        Status::read(&tmp.path().join("bad")),
        Some(Status::Diverged(d)) if d.step == step && d.step_size > 1e29
    ));
    assert!(
        run_dir::finished(&tmp.path().join("bad"), None)
            .unwrap()
            .is_none()
    );
    // Not reused: a second call trains again (and diverges again).
    assert!(matches!(
        train(&bad, RunOptions::quiet()),
        Err(TrainError::Diverged { .. })
    ));
}

/// The snapshot steps are ⌊t_j / γ_{α,β}(N)⌋ with t_j = jT/K, computed here from the
/// definition (docs/paper.md, eq. 2) for several settings, including one where the quotient is
/// an integer in exact arithmetic (β = 1, γ = 0.1: t_j/γ = 10j).
#[test]
fn snapshot_steps_follow_the_time_grid() {
    use meanfield_train::snapshot::plan;
    for (width, alpha, beta, gamma, horizon, k) in [
        (1000, 0.0, 0.75, 1.0, 10.0, 10),
        (37, 0.25, 0.5, 0.3, 7.0, 4),
        (5000, 0.5, 0.9, 2.0, 3.0, 6),
        (200, 0.0, 1.0, 0.1, 10.0, 10),
    ] {
        let config = TrainConfig {
            width,
            alpha,
            beta,
            gamma,
            horizon,
            snapshots: Some(k),
            ..TrainConfig::default()
        };
        let time_step =
            gamma.powf(1.0 / (1.0 - alpha)) * (width as f64).powf((beta - 1.0) / (1.0 - alpha));
        let points = plan(&config, u64::MAX).unwrap();
        assert_eq!(points.len() as u64, k + 1);
        for p in &points {
            let t = p.j as f64 * horizon / k as f64;
            let expected = if beta == 1.0 && gamma == 0.1 {
                10 * p.j // exact: t_j / γ = 10 j
            } else {
                (t / time_step).floor() as u64
            };
            assert_eq!(
                (p.time, p.step),
                (t, expected),
                "N = {width}, β = {beta}, j = {}",
                p.j
            );
        }
        // A run shorter than the grid writes only the snapshots it reaches.
        assert!(plan(&config, 0).unwrap().iter().all(|p| p.step == 0));
    }
}

/// A run stopped and resumed writes the same snapshots, byte for byte, as one never stopped,
/// and its index lists the planned steps.
#[test]
fn resumed_run_writes_the_same_snapshots() {
    use meanfield_train::snapshot::{self, plan};
    let tmp = tempfile::tempdir().unwrap();
    let with_snapshots = |dir: &str| TrainConfig {
        snapshots: Some(8),
        horizon: 40.0,
        steps: None,
        snapshot_rows: Some(10),
        ..setting(&tmp.path().join(dir))
    };
    train(&with_snapshots("straight"), RunOptions::quiet()).unwrap();
    let stopped = with_snapshots("stopped");
    let mut run = Run::fresh(&stopped, true).unwrap();
    for _ in 0..12 {
        run.step().unwrap();
    }
    let stop = StopHandle::new();
    stop.request();
    assert!(matches!(
        run.fit(&stop),
        Err(TrainError::Interrupted { .. })
    ));
    drop(run);
    train(&stopped, RunOptions::quiet()).unwrap();
    let (a, b) = (
        snapshot::load(&tmp.path().join("straight")).unwrap(),
        snapshot::load(&tmp.path().join("stopped")).unwrap(),
    );
    let planned = plan(&stopped, 40).unwrap();
    assert_eq!(a.points, planned);
    assert_eq!(b.points, planned);
    assert_eq!(
        (a.points.len(), a.points[1].step, a.points[1].rows),
        (9, 5, 10)
    );
    assert_eq!(a.hidden, b.hidden);
    assert_eq!(a.readout, b.readout);
    assert_ne!(a.hidden[0], a.hidden[8], "the particles moved");
}

/// `--seed` sets both streams; `init_seed` and `data_seed` set one each: the initial particles
/// follow the initial-weight seed alone, the batch order the data seed alone.
#[test]
fn init_and_data_seeds_are_separate() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: u64, init: Option<u64>, data: Option<u64>, steps: u64| {
        let c = TrainConfig {
            seed,
            init_seed: init,
            data_seed: data,
            steps: Some(steps),
            temperature: 0.0,
            ..setting(&tmp.path().join(name))
        };
        train(&c, RunOptions::quiet()).unwrap();
        let h = std::fs::read(tmp.path().join(name).join(weights::HIDDEN)).unwrap();
        let m =
            std::fs::read_to_string(tmp.path().join(name).join(meanfield_train::layout::METRICS))
                .unwrap();
        (h, m)
    };
    let (h_a, _) = run("a", 5, None, None, 0);
    let (h_b, _) = run("b", 9, Some(5), None, 0);
    let (h_c, _) = run("c", 9, None, None, 0);
    assert_eq!(h_a, h_b, "init_seed 5 draws what seed 5 draws");
    assert_ne!(h_a, h_c);
    // Same initial particles, same data seed → same run; another data seed → another batch
    // order (so other weights after training).
    let (x, mx) = run("x", 5, None, None, 20);
    let (y, my) = run("y", 1, Some(5), Some(5), 20);
    let (z, _) = run("z", 5, None, Some(6), 20);
    assert_eq!((x.clone(), mx), (y, my));
    assert_ne!(x, z);
}

/// A run directory has one trainer at a time: a second lock on it is an error naming the
/// holder (this process), `train` refuses the locked run or, with `wait`, waits for the lock
/// and then trains; a `.lock` left by a dead process is taken over with a message.
#[test]
fn run_locks() {
    use meanfield_train::lock;
    use std::sync::Mutex;
    let tmp = tempfile::tempdir().unwrap();
    let config = setting(&tmp.path().join("locked"));
    let dir = run_dir::run_dir(&config);
    let held = lock::acquire(&dir, false, &|_| {}).unwrap();
    let err = lock::acquire(&dir, false, &|_| {}).unwrap_err().to_string();
    let me = format!("pid {} on {}", std::process::id(), lock::hostname());
    assert!(
        err.contains("is being trained by") && err.contains(&me),
        "{err}"
    );
    assert!(matches!(
        train(&config, RunOptions::quiet()),
        Err(TrainError::Locked { .. })
    ));

    let waiting = std::thread::spawn(move || {
        let mut options = RunOptions::quiet();
        options.wait = true;
        train(&config, options)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !waiting.is_finished(),
        "train with `wait` did not wait for the lock"
    );
    drop(held);
    assert!(matches!(
        waiting.join().unwrap(),
        Ok(Outcome::Trained { .. })
    ));
    // Released with the run: nobody holds it, and it names nobody.
    assert_eq!(
        std::fs::read(dir.join(meanfield_train::layout::LOCK)).unwrap(),
        b""
    );

    // A lock file naming a process that died (no flock held): taken over, with a message.
    let dead = tmp.path().join("dead");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(
        dead.join(meanfield_train::layout::LOCK),
        r#"{"pid": 4000000, "host": "h", "since": "2026-11-30T00:00:00Z"}"#,
    )
    .unwrap();
    let said = Mutex::new(String::new());
    let taken = lock::acquire(&dead, false, &|l| said.lock().unwrap().push_str(l)).unwrap();
    let said = said.into_inner().unwrap();
    assert!(
        said.contains("taking over") && said.contains("pid 4000000"),
        "{said}"
    );
    let holder: lock::Holder = serde_json::from_str(
        &std::fs::read_to_string(dead.join(meanfield_train::layout::LOCK)).unwrap(),
    )
    .unwrap();
    assert_eq!(holder.pid, std::process::id());
    drop(taken);
}

/// Burn's dataset interface: our datasets are Burn datasets, and any Burn dataset of
/// (features, label) examples trains through `train_on` to the same run, byte for byte, as the
/// same examples loaded our way.
#[test]
fn trains_on_a_burn_dataset() {
    use burn_dataset::{Dataset as _, InMemDataset};
    use meanfield_train::task::Task;
    let tmp = tempfile::tempdir().unwrap();
    let ours = setting(&tmp.path().join("ours"));
    train(&ours, RunOptions::quiet()).unwrap();

    let task = Task::load(&ours).unwrap();
    let example = task.train.get(3).unwrap();
    assert_eq!(
        (example.features.as_slice(), example.label),
        (task.train.row(3), task.train.labels[3] as usize)
    );
    assert_eq!(burn_dataset::Dataset::len(&task.train), 500);
    assert!(task.train.get(500).is_err());
    let items = |d: &meanfield_data::Dataset| -> InMemDataset<(Vec<f32>, usize)> {
        InMemDataset::new(
            (0..d.len())
                .map(|i| (d.row(i).to_vec(), d.labels[i] as usize))
                .collect(),
        )
    };
    let (train_items, test_items) = (items(&task.train), items(&task.test));
    let theirs = setting(&tmp.path().join("theirs"));
    let task = Task::from_burn(&theirs, &train_items, &test_items, task.train.classes).unwrap();
    meanfield_train::train_on(&theirs, task, RunOptions::quiet()).unwrap();
    assert_same_files(
        &tmp.path().join("ours"),
        &tmp.path().join("theirs"),
        &RESULTS,
        "our data, and the same data as a Burn dataset",
    );

    // In-memory data needs a named run directory.
    let unnamed = TrainConfig {
        out: None,
        ..theirs.clone()
    };
    let task = Task::from_burn(&unnamed, &train_items, &test_items, 10).unwrap();
    let err = meanfield_train::train_on(&unnamed, task, RunOptions::quiet())
        .unwrap_err()
        .to_string();
    assert!(err.contains("explicit run directory"), "{err}");
    // A label past the classes is refused, naming the example.
    let err = Task::from_burn(&theirs, &train_items, &test_items, 2)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("is not below the 2 classes"), "{err}");
}
