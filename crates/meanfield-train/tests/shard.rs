//! One run split over S processes, played here by S threads of one process
//! ([`LocalGroup`]; the binary's MPI processes take the same path, tests/mpi.rs): with one
//! shard it is the unsharded run byte for byte; with 2 and 3 (uneven blocks) it trains the same
//! particles up to the rounding of the summed logits; it is reproducible run to run; and a
//! checkpoint written by 2 shards continues with 3.

use meanfield_train::shard::{LocalGroup, Shard};
use meanfield_train::{
    Dynamics, ExampleSet, Outcome, RunOptions, StopHandle, TrainConfig, TrainError, run_dir, train,
};
use std::path::{Path, PathBuf};

#[allow(dead_code, reason = "helpers for the other test files too")]
mod support;
use support::{RESULTS, WEIGHTS, assert_same_files, read};

/// A small synthetic run at β = 0.75 with a trained readout, the Polyak average, snapshots,
/// evaluations and logging at every step (what a sharded run must reproduce).
fn setting(out: &Path) -> TrainConfig {
    let mut c = TrainConfig::from_preset("synthetic").unwrap();
    c.synthetic.train = 500;
    c.synthetic.test = 100;
    c.width = 61;
    c.beta = 0.75;
    // γ_{0,0.75}(61) = 61^(−1/4) = 0.358: n_T = ⌊14 / 0.358⌋ = 39 steps, snapshots at steps 0,
    // 19 and 39, of the first 45 particles (rows of both blocks when sharded).
    c.horizon = 14.0;
    c.average_from = Some(10);
    c.snapshots = Some(2);
    c.snapshot_rows = Some(45);
    c.checkpoint_every = 0;
    c.eval_every = 15;
    c.log_every = 1;
    c.out = Some(out.to_path_buf());
    c
}

/// Trains `config` as `shards` threads, each one shard; returns each shard's outcome.
fn train_sharded(
    config: &TrainConfig,
    shards: usize,
    stop: &StopHandle,
) -> Vec<Result<Outcome, TrainError>> {
    let threads: Vec<_> = LocalGroup::members(shards)
        .into_iter()
        .map(|c| {
            let (config, stop) = (config.clone(), stop.clone());
            std::thread::spawn(move || {
                let shard = Shard::new(c, config.net_width())?;
                train(
                    &config,
                    RunOptions {
                        stop,
                        shard: Some(shard),
                        ..RunOptions::quiet()
                    },
                )
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn unsharded(out: &Path, edit: impl Fn(&mut TrainConfig)) -> PathBuf {
    let mut c = setting(out);
    edit(&mut c);
    let outcome = train(&c, RunOptions::quiet()).unwrap();
    outcome.dir().to_path_buf()
}

fn sharded(out: &Path, shards: usize, edit: impl Fn(&mut TrainConfig)) -> PathBuf {
    let mut c = setting(out);
    edit(&mut c);
    for outcome in train_sharded(&c, shards, &StopHandle::new()) {
        assert!(
            matches!(outcome, Ok(Outcome::Trained { .. })),
            "{outcome:?}"
        );
    }
    run_dir::run_dir(&c)
}

fn npy(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap()
}

/// The largest |a − b| over the weight files and the snapshots of two runs.
fn max_difference(a: &Path, b: &Path) -> f32 {
    let mut files: Vec<PathBuf> = WEIGHTS.iter().map(PathBuf::from).collect();
    for j in 0..=2 {
        files.push(Path::new("snapshots").join(format!("hidden_{j}.npy")));
        files.push(Path::new("snapshots").join(format!("readout_{j}.npy")));
    }
    let mut worst = 0f32;
    for f in files {
        let (x, y) = (npy(&a.join(&f)), npy(&b.join(&f)));
        assert_eq!(x.len(), y.len(), "{}", f.display());
        for (u, v) in x.iter().zip(&y) {
            worst = worst.max((u - v).abs());
        }
    }
    worst
}

/// One shard runs every operation of the unsharded run (the logits' "sum" over one block
/// returns its own bits): every file that is the run's result is the same byte for byte.
#[test]
fn one_shard_is_the_unsharded_run_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = unsharded(&tmp.path().join("whole"), |_| {});
    let one = sharded(&tmp.path().join("one"), 1, |_| {});
    let files = [&RESULTS[..], &["snapshots/hidden_1.npy"]].concat();
    assert_same_files(&whole, &one, &files, "unsharded, and one shard");
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&read(&whole, meanfield_train::layout::SUMMARY)).unwrap(),
        serde_json::from_slice(&read(&one, meanfield_train::layout::SUMMARY)).unwrap(),
    );
    assert_eq!(a["last"], b["last"]);
    assert_eq!(a["averaged"], b["averaged"]);
    // config.toml names the output folder; everything else in it is the same.
    let strip = |d: &Path| {
        String::from_utf8(read(d, meanfield_train::layout::CONFIG))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("out"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&whole), strip(&one));
}

/// Two and three shards (61 particles: blocks of 31 + 30, and 21 + 20 + 20) train the
/// unsharded run's particles: the only difference is the order in which the partial logits are
/// added, float32 rounding of about 1e-7 relative per step. Over 39 steps the weights, the
/// Polyak average and the snapshots stay within 1e-5 of the unsharded run's (measured: below
/// 1e-6); the scores agree to 1e-5. And the same sharded run twice gives the same bytes.
#[test]
fn two_and_three_shards_match_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = unsharded(&tmp.path().join("whole"), |_| {});
    for shards in [2, 3] {
        let dir = sharded(&tmp.path().join(format!("s{shards}")), shards, |_| {});
        let worst = max_difference(&whole, &dir);
        eprintln!("S = {shards}: max |Δw| = {worst:e}");
        assert!(worst < 1e-5, "S = {shards}: max |Δw| = {worst}");
        let (a, b): (serde_json::Value, serde_json::Value) = (
            serde_json::from_slice(&read(&whole, meanfield_train::layout::SUMMARY)).unwrap(),
            serde_json::from_slice(&read(&dir, meanfield_train::layout::SUMMARY)).unwrap(),
        );
        for key in ["train_loss", "test_loss", "test_accuracy"] {
            let (x, y) = (
                a["last"][key].as_f64().unwrap(),
                b["last"][key].as_f64().unwrap(),
            );
            assert!((x - y).abs() < 1e-5, "S = {shards}: {key} {x} vs {y}");
        }
        let again = sharded(&tmp.path().join(format!("s{shards}-again")), shards, |_| {});
        assert_same_files(&dir, &again, &RESULTS, "the same sharded run twice");
    }
}

/// The particle diffusion over 3 shards: each shard draws its own particles' multipliers
/// (stream k for particle k), so the run is the unsharded one up to the logits' rounding.
#[test]
fn the_diffusion_shards_too() {
    let tmp = tempfile::tempdir().unwrap();
    let diffusion = |c: &mut TrainConfig| {
        c.dynamics = Dynamics::Diffusion;
        c.drift_set = ExampleSet::Batch;
        c.noise_set = ExampleSet::Drawn(50);
    };
    let whole = unsharded(&tmp.path().join("whole"), diffusion);
    let three = sharded(&tmp.path().join("three"), 3, diffusion);
    let worst = max_difference(&whole, &three);
    eprintln!("diffusion, S = 3: max |Δw| = {worst:e}");
    assert!(worst < 1e-5, "max |Δw| = {worst}");
}

/// Stopped after its first step, a run of 2 shards leaves a checkpoint of whole matrices; 3
/// shards continue it to the end, and the result is the unsharded run's (up to rounding).
#[test]
fn a_checkpoint_of_two_shards_continues_with_three() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = unsharded(&tmp.path().join("whole"), |_| {});
    let c = setting(&tmp.path().join("moved"));
    let stop = StopHandle::new();
    stop.request();
    for outcome in train_sharded(&c, 2, &stop) {
        assert!(
            matches!(outcome, Err(TrainError::Interrupted { step: 1, .. })),
            "{outcome:?}"
        );
    }
    let dir = run_dir::run_dir(&c);
    assert!(dir.join("checkpoint/hidden.npy").is_file());
    for outcome in train_sharded(&c, 3, &StopHandle::new()) {
        assert!(
            matches!(outcome, Ok(Outcome::Trained { .. })),
            "{outcome:?}"
        );
    }
    let worst = max_difference(&whole, &dir);
    assert!(worst < 1e-5, "max |Δw| = {worst}");
    // Done: a third call reuses the finished run on every shard.
    for outcome in train_sharded(&c, 2, &StopHandle::new()) {
        assert!(matches!(outcome, Ok(Outcome::Reused { .. })), "{outcome:?}");
    }
}

/// What a sharded run cannot do is refused on every shard before anything is written.
#[test]
fn langevin_noise_over_several_shards_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = setting(&tmp.path().join("hot"));
    c.temperature = 1e-3;
    for outcome in train_sharded(&c, 2, &StopHandle::new()) {
        let err = outcome.unwrap_err().to_string();
        assert!(
            err.contains("temperature") && err.contains("one piece"),
            "{err}"
        );
    }
}
