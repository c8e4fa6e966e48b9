//! Fault injection (issue 36): every file the program writes into a run is altered in place at
//! a random offset (same length), truncated, deleted, or replaced by a valid file of another
//! shape, in a finished run and in a checkpointed one; then `experiments runs` must report the
//! damage, and rerunning the same command must end with the bytes of an uninterrupted run or a
//! clear refusal naming the file, never other bytes with exit 0. Then the user's folders (files
//! named like ours, nested folders), `--plan` and `--runs-dir`, overflowing inputs, settings
//! that cannot be meant, messages, runs of earlier layouts, and input fingerprints.
//!
//! Random choices come from one seed ([`SEED`], or `TRUST_SEED` in the environment), printed
//! with every failure, so a failure reproduces.

use std::path::{Path, PathBuf};
use std::process::Output;

// The helpers this file does not use (MNIST, the HTTP server, CIFAR-10 archives) are for the
// other files of tests/.
#[allow(dead_code)]
mod support;
use support::{RESULTS, assert_same_files, copy_dir, npy_bytes, run, subfolders};

/// The fault injector's seed (a failure message names it; `TRUST_SEED=<n>` reruns that case).
const SEED: u64 = 20261206;

fn seed() -> u64 {
    std::env::var("TRUST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED)
}

/// xorshift64*: a small seeded stream for offsets and lengths.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[String]) -> Output {
    let out = run(args);
    assert!(out.status.success(), "{args:?} failed:\n{}", text(&out));
    out
}

fn refused(args: &[String]) -> String {
    let out = run(args);
    assert!(
        !out.status.success(),
        "{args:?} should have been refused:\n{}",
        text(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A small run with every kind of file: snapshots (steps 0, 20, 40), the Polyak average,
/// checkpoints every 10 steps; 40 steps (β = 1, γ = 1: γ_αβ(N) = 1, n_T = T).
fn setting(out: &Path) -> Vec<String> {
    let mut a = words(&[
        "synthetic",
        "--width",
        "30",
        "--horizon",
        "40",
        "--snapshots",
        "2",
        "--average-from",
        "5",
        "--checkpoint-every",
        "10",
        "--quiet",
        "--out",
    ]);
    a.push(out.display().to_string());
    a
}

/// Every result file a finished run of [`setting`] holds, snapshots included.
const FINISHED: [&str; 14] = [
    "config.toml",
    "identity.json",
    "inputs.json",
    "metrics.csv",
    "summary.json",
    "manifest.json",
    "hidden.npy",
    "readout.npy",
    "hidden_avg.npy",
    "readout_avg.npy",
    "snapshots/index.csv",
    "snapshots/hidden_1.npy",
    "snapshots/readout_2.npy",
    "meanfield.json",
];

/// The files of a checkpointed run of [`setting`] that resuming reads: the checkpoint's own,
/// and the run directory's that it recorded.
const CHECKPOINTED: [&str; 9] = [
    "checkpoint/hidden.npy",
    "checkpoint/readout.npy",
    "checkpoint/hidden_avg.npy",
    "checkpoint/readout_avg.npy",
    "checkpoint/state.json",
    "checkpoint/manifest.json",
    "metrics.csv",
    "snapshots/hidden_0.npy",
    "snapshots/readout_1.npy",
];

#[derive(Debug, Clone, Copy)]
enum Damage {
    /// One byte changed at a random offset (the length unchanged).
    Flip,
    /// Cut to a random shorter length.
    Truncate,
    Delete,
    /// A valid file of the same kind with other contents (a matrix of another shape).
    Replace,
}

const DAMAGES: [Damage; 4] = [
    Damage::Flip,
    Damage::Truncate,
    Damage::Delete,
    Damage::Replace,
];

/// A valid float32 `.npy` matrix of shape [rows, cols], all ones.
fn npy(rows: usize, cols: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..rows * cols).flat_map(|_| 1f32.to_le_bytes()).collect();
    npy_bytes("<f4", &format!("({rows}, {cols})"), &data)
}

/// Damages the file at `path`; returns the first byte offset whose content changed (0 when the
/// file is deleted or replaced).
fn inject(path: &Path, damage: Damage, rng: &mut Rng) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match damage {
        Damage::Flip => {
            let mut b = bytes.clone();
            let at = rng.below(b.len() as u64) as usize;
            b[at] ^= 1 + rng.below(255) as u8;
            std::fs::write(path, b).unwrap();
            at as u64
        }
        Damage::Truncate => {
            let len = rng.below(bytes.len() as u64) as usize;
            std::fs::write(path, &bytes[..len]).unwrap();
            len as u64
        }
        Damage::Delete => {
            std::fs::remove_file(path).unwrap();
            0
        }
        Damage::Replace => {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let other: Vec<u8> = if name.ends_with(".npy") {
                npy(3, 7)
            } else if name.ends_with(".json") {
                br#"{"another": "file"}"#.to_vec()
            } else if name.ends_with(".csv") {
                b"step,time\n0,0\n".to_vec()
            } else {
                b"width = 1\n".to_vec()
            };
            std::fs::write(path, other).unwrap();
            0
        }
    }
}

/// `experiments runs PARENT`: its output, and whether it exited 0.
fn listing(parent: &Path) -> (String, bool) {
    let out = run(&words(&["runs", parent.to_str().unwrap()]));
    (text(&out), out.status.success())
}

/// How a rerun after damage must end.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// The run trained again (and said so), to the uninterrupted run's bytes.
    Retrained,
    /// Reused as it is (the damage touched nothing it holds).
    Reused,
    /// The uninterrupted run's bytes (resumed or trained), or a refusal naming the file.
    ExactOrRefused,
}

/// After damage to `file` of the run in `case`: the rerun of its command ends as `expect`
/// says, and after a success the folder lists clean (every file as written).
fn rerun(case: &Path, reference: &Path, file: &str, expect: Expect, what: &str) {
    let args: Vec<String> = setting(case)
        .into_iter()
        .filter(|a| a != "--quiet")
        .collect();
    let out = run(&args);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        match expect {
            Expect::Retrained => assert!(said.contains("training it again"), "{what}:\n{said}"),
            Expect::Reused => assert!(said.contains("reused"), "{what}:\n{said}"),
            Expect::ExactOrRefused => {}
        }
        assert_same_files(reference, case, &RESULTS, what);
        for snapshot in ["snapshots/hidden_1.npy", "snapshots/readout_2.npy"] {
            assert_eq!(
                std::fs::read(reference.join(snapshot)).unwrap(),
                std::fs::read(case.join(snapshot)).unwrap(),
                "{what}: {snapshot}"
            );
        }
        let (listed, clean) = listing(case.parent().unwrap());
        assert!(clean, "{what}: after the rerun `runs` says:\n{listed}");
    } else {
        assert_eq!(expect, Expect::ExactOrRefused, "{what}: refused:\n{said}");
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        assert!(
            said.contains(&*name) && !said.contains("panicked"),
            "{what}: refused without naming {file}:\n{said}"
        );
    }
}

/// Every file of a finished run, under every kind of damage: `runs` reports it, and the rerun
/// is the uninterrupted run's bytes (the run trained again, and said so) or a clear refusal.
#[test]
fn damaged_finished_runs_are_reported_and_never_used() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    ok(&setting(&reference));
    let mut rng = Rng(seed());
    for (i, file) in FINISHED.iter().enumerate() {
        for (k, damage) in DAMAGES.iter().enumerate() {
            let what = format!("seed {} · finished run · {file} · {damage:?}", seed());
            let parent = tmp.path().join(format!("f{i}-{k}"));
            let case = parent.join("run");
            copy_dir(&reference, &case);
            inject(&case.join(file), *damage, &mut rng);
            let (listed, clean) = listing(&parent);
            // The marker is not a result: without it the run is still recognised (by its
            // identity.json), and nothing it holds is wrong.
            if *file != "meanfield.json" {
                let name = Path::new(file).file_name().unwrap().to_string_lossy();
                assert!(
                    !clean && listed.contains("problem") && listed.contains(&*name),
                    "{what}: `runs` did not report it:\n{listed}"
                );
            }
            // A damaged finished run is trained again; one whose identity is damaged is refused
            // (its setting cannot be told, so it might be another's); the marker alone is no
            // result, so without it the run is reused.
            let expect = match *file {
                "meanfield.json" => Expect::Reused,
                "identity.json" => Expect::ExactOrRefused,
                _ => Expect::Retrained,
            };
            rerun(&case, &reference, file, expect, &what);
        }
    }
}

/// A run whose final write fails keeps its last checkpoint (step 30): the files it would
/// resume from, made once and copied for each case.
fn checkpointed(tmp: &Path) -> PathBuf {
    let dir = tmp.join("checkpointed");
    std::fs::create_dir_all(dir.join("hidden.npy/blocker")).unwrap();
    std::fs::write(
        dir.join("meanfield.json"),
        r#"{"program":"meanfield","kind":"run","layout":3}"#,
    )
    .unwrap();
    let out = run(&setting(&dir));
    assert!(!out.status.success(), "the final write cannot succeed");
    std::fs::remove_dir_all(dir.join("hidden.npy")).unwrap();
    assert!(dir.join("checkpoint/state.json").is_file());
    dir
}

/// How many bytes of `metrics.csv` the checkpoint in `run` recorded (its rows up to its step).
fn metrics_prefix(run: &Path) -> u64 {
    let text = std::fs::read_to_string(run.join("checkpoint/manifest.json")).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    value["run"]["metrics.csv"]["size"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// Every file resuming reads, under every kind of damage: `runs` reports it, and the rerun is
/// the uninterrupted run's bytes or a clear refusal (never a resume from changed files).
#[test]
fn damaged_checkpoints_are_reported_and_never_used() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    ok(&setting(&reference));
    let saved = checkpointed(tmp.path());
    // Intact, it resumes to the uninterrupted run's bytes.
    let whole = tmp.path().join("whole/run");
    copy_dir(&saved, &whole);
    assert!(listing(whole.parent().unwrap()).1);
    rerun(
        &whole,
        &reference,
        "none",
        Expect::ExactOrRefused,
        "intact checkpoint",
    );
    assert!(
        whole.join("summary.json").is_file(),
        "it resumed and finished"
    );
    let mut rng = Rng(seed() ^ 0x5eed);
    for (i, file) in CHECKPOINTED.iter().enumerate() {
        for (k, damage) in DAMAGES.iter().enumerate() {
            let what = format!("seed {} · checkpoint · {file} · {damage:?}", seed());
            let parent = tmp.path().join(format!("c{i}-{k}"));
            let case = parent.join("run");
            copy_dir(&saved, &case);
            let changed_from = inject(&case.join(file), *damage, &mut rng);
            let (listed, clean) = listing(&parent);
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            // metrics.csv goes on past the checkpoint's step; only its rows up to the step
            // (the bytes the checkpoint recorded) matter to a resume, which drops the rest.
            let recorded = metrics_prefix(&case);
            let harmless = *file == "metrics.csv" && changed_from >= recorded;
            assert!(
                harmless || (!clean && listed.contains(&*name)),
                "{what}: `runs` did not report it:\n{listed}"
            );
            rerun(&case, &reference, file, Expect::ExactOrRefused, &what);
            // A refusal leaves the checkpoint in place; --force then trains from step 0 to the
            // uninterrupted run's bytes.
            if !case.join("summary.json").is_file() {
                let mut forced = setting(&case);
                forced.push("--force".into());
                ok(&forced);
                assert_same_files(&reference, &case, &RESULTS, &format!("{what} · --force"));
            }
        }
    }
}

/// Folders of the user's: files named like a run's and nested folders are never touched, with
/// or without --force; `--runs-dir` and `--plan` into such folders, and system locations,
/// are refused; a study's results folder is checked before anything trains.
#[test]
fn the_users_folders_are_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("project");
    let files = [
        ("metrics.csv", "my,own\n1,2\n"),
        ("readout.npy", "not yours"),
        ("config.toml", "width = 5\n"),
        ("checkpoint/state.json", "{\"mine\": true}"),
        ("snapshots/hidden_0.npy", "mine too"),
        ("notes/deep/file.txt", "nested"),
    ];
    for (f, content) in files {
        let p = mine.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let intact = || {
        for (f, content) in files {
            assert_eq!(
                std::fs::read_to_string(mine.join(f)).unwrap(),
                content,
                "{f}"
            );
        }
        let mut names: Vec<String> = std::fs::read_dir(&mine)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "checkpoint",
                "config.toml",
                "metrics.csv",
                "notes",
                "readout.npy",
                "snapshots"
            ]
        );
    };
    let m = mine.to_str().unwrap();
    for extra in [&[][..], &["--force"][..], &["--resume"][..]] {
        let args = [
            &words(&["synthetic", "--steps", "3", "--quiet", "--out", m])[..],
            &words(extra),
        ]
        .concat();
        let err = refused(&args);
        assert!(
            err.contains("not a run directory") && err.contains("checkpoint/"),
            "{err}"
        );
        intact();
    }
    // As the parent of run directories (`runs_dir` in a config file, `--runs-dir` of a figure).
    let config = tmp.path().join("runs-here.toml");
    std::fs::write(&config, format!("runs_dir = {m:?}\n")).unwrap();
    let c = config.to_str().unwrap();
    let err = refused(&words(&[
        "synthetic",
        "--steps",
        "3",
        "--quiet",
        "--config",
        c,
    ]));
    assert!(err.contains("runs") && err.contains("metrics.csv"), "{err}");
    intact();
    let figure = tmp.path().join("figure").display().to_string();
    let err = refused(&words(&[
        "figure3",
        "--scale",
        "quick",
        "--runs-dir",
        m,
        "--out",
        &figure,
    ]));
    assert!(
        err.contains("--runs-dir") && err.contains("metrics.csv"),
        "{err}"
    );
    intact();
    // As a plan's folder, and as a study's results folder (refused before any run trains).
    let study = tmp.path().join("study");
    let s = study.to_str().unwrap();
    let err = refused(&words(&[
        "coupling",
        "--widths",
        "20,40",
        "--horizon",
        "2",
        "--preset",
        "synthetic",
        "--plan",
        m,
        "--out",
        s,
    ]));
    assert!(err.contains("job list") && err.contains("--plan"), "{err}");
    intact();
    assert!(
        !study.exists(),
        "the plan was refused before the results folder was made"
    );
    let err = refused(&words(&[
        "tails",
        "--widths",
        "20",
        "--gammas",
        "1",
        "--preset",
        "synthetic",
        "--horizon",
        "2",
        "--out",
        m,
    ]));
    assert!(
        err.contains("study or figure folder") && err.contains("--out"),
        "{err}"
    );
    intact();
    // System locations, whatever they hold.
    for (flag, place) in [
        ("--out", "/"),
        ("--runs-dir", "/"),
        ("--out", "/etc/meanfield"),
        ("--plan", "/usr"),
    ] {
        let mut args = words(&["synthetic", "--steps", "3", "--quiet", flag, place]);
        if flag == "--runs-dir" {
            args = words(&[
                "figure3",
                "--scale",
                "quick",
                "--runs-dir",
                place,
                "--out",
                &figure,
            ]);
        }
        if flag == "--plan" {
            args = words(&[
                "chaos",
                "--widths",
                "20",
                "--seeds",
                "0",
                "--preset",
                "synthetic",
                "--horizon",
                "2",
                "--plan",
                place,
                "--out",
                s,
            ]);
        }
        let err = refused(&args);
        assert!(
            err.contains("a folder of the system"),
            "{flag} {place}: {err}"
        );
    }
    // --out naming a file.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = refused(&words(&[
        "synthetic",
        "--steps",
        "3",
        "--out",
        file.to_str().unwrap(),
    ]));
    assert!(err.contains("is not a folder"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// `--plan` writes into a new folder, and again into its own (a smaller plan leaves no stale
/// job behind); a runs directory that holds only run directories of an earlier layout (no
/// marker) is accepted and then marked.
#[test]
fn plans_and_runs_directories_of_the_program_are_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let p = plan.to_str().unwrap();
    let study = tmp.path().join("study").display().to_string();
    let planned = |widths: &str| {
        ok(&words(&[
            "chaos",
            "--widths",
            widths,
            "--seeds",
            "0",
            "--preset",
            "synthetic",
            "--horizon",
            "2",
            "--plan",
            p,
            "--out",
            &study,
        ]));
    };
    planned("20,40,80");
    let configs = |d: &Path| std::fs::read_dir(d.join("configs")).unwrap().count();
    assert_eq!(configs(&plan), 3);
    planned("20,40");
    assert_eq!(
        configs(&plan),
        2,
        "the third job of the earlier plan is gone"
    );
    assert_eq!(
        std::fs::read_to_string(plan.join("jobs.txt"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    // A runs directory of an earlier layout: run directories only, no marker.
    let runs = tmp.path().join("runs");
    let config = tmp.path().join("runs.toml");
    std::fs::write(
        &config,
        format!("runs_dir = {:?}\n", runs.to_str().unwrap()),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    ok(&words(&[
        "synthetic",
        "--steps",
        "3",
        "--width",
        "20",
        "--quiet",
        "--config",
        c,
    ]));
    std::fs::remove_file(runs.join("meanfield.json")).unwrap();
    let made = subfolders(&runs).remove(0);
    support::as_layout_2(&made);
    let again = ok(&words(&[
        "synthetic",
        "--steps",
        "3",
        "--width",
        "20",
        "--config",
        c,
    ]));
    assert!(text(&again).contains("reused"), "{}", text(&again));
    ok(&words(&[
        "synthetic",
        "--steps",
        "3",
        "--width",
        "30",
        "--quiet",
        "--config",
        c,
    ]));
    assert!(runs.join("meanfield.json").is_file());
    assert_eq!(subfolders(&runs).len(), 2);
}

/// Runs of the earlier layouts (2: identity.json, no marker or manifest; checkpoints without a
/// manifest) are reused and resumed, to the same bytes.
#[test]
fn runs_of_earlier_layouts_are_reused_and_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    ok(&setting(&reference));
    // Finished, layout 2.
    let old = tmp.path().join("old-finished");
    copy_dir(&reference, &old);
    support::as_layout_2(&old);
    let (listed, clean) = listing(tmp.path());
    assert!(clean && listed.contains("made before digests"), "{listed}");
    let out = run(&setting(&old));
    assert!(out.status.success(), "{}", text(&out));
    assert_same_files(&reference, &old, &RESULTS, "layout 2 reused");
    assert!(
        !old.join("manifest.json").exists(),
        "reused, not trained again"
    );
    // Checkpointed, layout 2: no manifest in the checkpoint, no layout in its state.
    let saved = checkpointed(tmp.path());
    let old = tmp.path().join("old-checkpoint");
    copy_dir(&saved, &old);
    std::fs::remove_file(old.join("meanfield.json")).unwrap();
    std::fs::remove_file(old.join("checkpoint/manifest.json")).unwrap();
    let state = std::fs::read_to_string(old.join("checkpoint/state.json")).unwrap();
    let state = state.replace(",\"layout\":3", "");
    assert!(!state.contains("layout"), "{state}");
    std::fs::write(old.join("checkpoint/state.json"), state).unwrap();
    ok(&setting(&old));
    assert_same_files(&reference, &old, &RESULTS, "layout 2 checkpoint resumed");
    // The resumed run finished under this layout: marked, with a manifest that covers the
    // snapshots written before the checkpoint too.
    assert!(old.join("meanfield.json").is_file() && old.join("manifest.json").is_file());
    let early = old.join("snapshots/hidden_0.npy");
    let mut bytes = std::fs::read(&early).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&early, bytes).unwrap();
    let (listed, clean) = listing(tmp.path());
    assert!(
        !clean && listed.contains("snapshots/hidden_0.npy"),
        "{listed}"
    );
    // A run of layout 1 whose setting today's checks refuse (snapshots that its `steps` stops
    // short of) is still recognised as the program's: its runs directory stays usable.
    let runs = tmp.path().join("runs");
    let v1 = runs.join("synthetic-N30-beta1-seed0-0badcafe");
    copy_dir(&reference, &v1);
    support::as_layout_2(&v1);
    std::fs::remove_file(v1.join("identity.json")).unwrap();
    let config = std::fs::read_to_string(v1.join("config.toml")).unwrap();
    std::fs::write(v1.join("config.toml"), format!("steps = 10\n{config}")).unwrap();
    let settings = tmp.path().join("runs.toml");
    std::fs::write(
        &settings,
        format!("runs_dir = {:?}\n", runs.to_str().unwrap()),
    )
    .unwrap();
    ok(&words(&[
        "synthetic",
        "--steps",
        "3",
        "--width",
        "20",
        "--quiet",
        "--config",
        settings.to_str().unwrap(),
    ]));
    assert_eq!(subfolders(&runs).len(), 2);
}

/// Settings that cannot be meant are refused naming the flag and a way out, and nothing is
/// left behind; messages name the file and line.
#[test]
fn settings_that_cannot_be_meant_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let o = out.to_str().unwrap();
    for (extra, needles) in [
        (
            vec!["--steps", "10000000000"],
            vec!["--steps", "cannot finish"],
        ),
        (
            vec!["--train-subset", "20000"],
            vec!["--train-subset", "10000 examples", "at most 10000"],
        ),
        (
            vec!["--test-subset", "5000"],
            vec!["--test-subset", "at most 2000"],
        ),
        (
            vec!["--snapshots", "4", "--horizon", "40", "--steps", "10"],
            vec!["--snapshots", "only 2 of the 5", "--horizon"],
        ),
    ] {
        let args = [
            &words(&["synthetic", "--quiet", "--out", o])[..],
            &words(&extra),
        ]
        .concat();
        let err = refused(&args);
        for n in needles {
            assert!(err.contains(n), "{extra:?}: {n:?} not in {err}");
        }
        assert!(!out.exists(), "{extra:?} left a folder");
    }
    // An unknown key and a wrong type in a --config file: named at their line in that file.
    let config = tmp.path().join("mine.toml");
    std::fs::write(&config, "# my settings\nwidth = 40\nwidht = 50\n").unwrap();
    let c = config.to_str().unwrap();
    let err = refused(&words(&["synthetic", "--config", c, "--out", o]));
    assert!(
        err.contains("mine.toml") && err.contains("line 3") && err.contains("widht"),
        "{err}"
    );
    std::fs::write(&config, "\n\nbeta = \"high\"\n").unwrap();
    let err = refused(&words(&["synthetic", "--config", c, "--out", o]));
    assert!(err.contains("line 3") && err.contains("beta"), "{err}");
    // A checkpoint whose state.json was deleted is refused, not restarted from step 0.
    let saved = checkpointed(tmp.path());
    std::fs::remove_file(saved.join("checkpoint/state.json")).unwrap();
    let err = refused(&setting(&saved));
    assert!(
        err.contains("state.json is missing") && err.contains("--force"),
        "{err}"
    );
    // --force says what it removes, and the stale average of another setting goes with it.
    let forced = tmp.path().join("forced");
    ok(&setting(&forced));
    let out = ok(&[
        &words(&[
            "synthetic",
            "--width",
            "30",
            "--horizon",
            "40",
            "--force",
            "--out",
        ])[..],
        &[forced.display().to_string()],
    ]
    .concat());
    let said = text(&out);
    assert!(
        said.contains("removing") && said.contains("hidden_avg.npy"),
        "{said}"
    );
    assert!(!forced.join("hidden_avg.npy").exists());
    assert!(!forced.join("snapshots").exists());
    // --force that is then refused (a subset larger than the set) removes nothing.
    let before = std::fs::read(forced.join("hidden.npy")).unwrap();
    let err = refused(
        &[
            &words(&["synthetic", "--width", "30", "--horizon", "40", "--force"])[..],
            &words(&["--train-subset", "99999", "--out"]),
            &[forced.display().to_string()],
        ]
        .concat(),
    );
    assert!(err.contains("--train-subset"), "{err}");
    assert_eq!(std::fs::read(forced.join("hidden.npy")).unwrap(), before);
    assert!(listing(tmp.path()).0.contains("forced"));
}

/// New contents under the old size and modification time are not answered with the old run.
#[test]
fn inputs_with_a_preserved_modification_time_are_hashed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("arrays");
    std::fs::create_dir(&data).unwrap();
    let save = |seed: u8| {
        let x: Vec<u8> = (0..200u32 * 4)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect();
        let y: Vec<u8> = (0..200u32).map(|i| (i % 3) as u8).collect();
        write_u8_npy(&data.join("train_x.npy"), &[200, 4], &x);
        write_u8_npy(&data.join("train_y.npy"), &[200], &y);
    };
    save(7);
    let x = data.join("train_x.npy");
    let mtime = std::fs::metadata(&x).unwrap().modified().unwrap();
    let out = tmp.path().join("run");
    let args = words(&[
        "arrays",
        "--data-dir",
        data.to_str().unwrap(),
        "--width",
        "20",
        "--steps",
        "5",
        "--batch",
        "20",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&args);
    save(11);
    std::fs::File::options()
        .write(true)
        .open(&x)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&x).unwrap().modified().unwrap(), mtime);
    let err = refused(&args);
    assert!(
        err.contains("other inputs") && err.contains("train_x.npy"),
        "{err}"
    );
}

fn write_u8_npy(path: &Path, shape: &[usize], data: &[u8]) {
    let shape = match shape {
        [n] => format!("({n},)"),
        [n, p] => format!("({n}, {p})"),
        _ => unreachable!("a vector or a matrix"),
    };
    std::fs::write(path, npy_bytes("|u1", &shape, data)).unwrap();
}

/// A `.npy` whose header's element count overflows is refused naming the file, never read as
/// an empty matrix (`distance` once answered 0.0 with exit 0).
#[test]
fn an_overflowing_npy_header_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.npy");
    std::fs::write(&good, npy(4, 3)).unwrap();
    let bad = tmp.path().join("bad.npy");
    // 2^32 × 2^32 float32 elements: 2^66 bytes, past u64; the file holds 12 values.
    let twelve: Vec<u8> = (0..12).flat_map(|_| 1f32.to_le_bytes()).collect();
    std::fs::write(&bad, npy_bytes("<f4", "(4294967296, 4294967296)", &twelve)).unwrap();
    let err = refused(&words(&[
        "distance",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]));
    assert!(
        err.contains("bad.npy") && err.contains("4294967296"),
        "{err}"
    );
}

/// Cases an adversarial tester found: an `--out` inside a run directory, folders of the system
/// below its roots, links where a run writes its files, a checkpoint copied from another run,
/// a finished run stripped of its manifest and marker, weights of another shape under a
/// recomputed manifest, a checkpoint whose state was set to another step, a user's file inside
/// a checkpoint folder, `runs` on a run directory itself, a coordinate beyond p, a synthetic
/// task larger than memory.
#[test]
fn what_an_adversary_tried_is_refused_or_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    ok(&setting(&reference));
    // Inside a run directory.
    let nested = reference.join("checkpoint");
    let err = refused(&words(&[
        "synthetic",
        "--steps",
        "2",
        "--out",
        nested.to_str().unwrap(),
    ]));
    assert!(
        err.contains("is inside") && err.contains("reference"),
        "{err}"
    );
    // Below the system's roots, and a new folder at the root.
    for place in [
        "/usr/games/mf",
        "/var/mail/mf",
        "/run/mf",
        "/mf-new-top-level",
    ] {
        let err = refused(&words(&["synthetic", "--steps", "2", "--out", place]));
        assert!(err.contains("a folder of the system"), "{place}: {err}");
        assert!(!Path::new(place).exists(), "{place}");
    }
    // A link where the run writes its snapshots: refused, the linked folder untouched.
    let linked = tmp.path().join("linked/run");
    copy_dir(&reference, &linked);
    std::fs::remove_dir_all(linked.join("snapshots")).unwrap();
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("hidden_0.npy"), "precious").unwrap();
    std::os::unix::fs::symlink(&theirs, linked.join("snapshots")).unwrap();
    let err = refused(&[setting(&linked), words(&["--force"])].concat());
    assert!(err.contains("links") && err.contains("snapshots"), "{err}");
    assert_eq!(
        std::fs::read_to_string(theirs.join("hidden_0.npy")).unwrap(),
        "precious"
    );
    // A checkpoint copied from another run (another seed) is not continued.
    let mine = tmp.path().join("mine-ckpt");
    let other = tmp.path().join("other-ckpt");
    let saved = checkpointed(tmp.path());
    copy_dir(&saved, &mine);
    let other_saved = tmp.path().join("other-saved");
    std::fs::create_dir_all(other_saved.join("hidden.npy/blocker")).unwrap();
    std::fs::write(
        other_saved.join("meanfield.json"),
        r#"{"program":"meanfield","kind":"run","layout":3}"#,
    )
    .unwrap();
    assert!(
        !run(&[setting(&other_saved), words(&["--seed", "7"])].concat())
            .status
            .success()
    );
    std::fs::remove_dir_all(other_saved.join("hidden.npy")).unwrap();
    copy_dir(&other_saved, &other);
    for f in ["checkpoint", "snapshots"] {
        std::fs::remove_dir_all(mine.join(f)).unwrap();
        copy_dir(&other.join(f), &mine.join(f));
    }
    std::fs::copy(other.join("metrics.csv"), mine.join("metrics.csv")).unwrap();
    let err = refused(&setting(&mine));
    assert!(err.contains("written by another run"), "{err}");
    // A finished run stripped of its manifest and marker is not taken for an older layout.
    let stripped = tmp.path().join("stripped/run");
    copy_dir(&reference, &stripped);
    for f in ["meanfield.json", "manifest.json"] {
        std::fs::remove_file(stripped.join(f)).unwrap();
    }
    let (listed, clean) = listing(stripped.parent().unwrap());
    assert!(
        !clean && listed.contains("manifest.json is missing"),
        "{listed}"
    );
    rerun(
        &stripped,
        &reference,
        "manifest.json",
        Expect::Retrained,
        "stripped",
    );
    // Weights of another shape, with a manifest recomputed to match them: not this run's.
    let forged = tmp.path().join("forged/run");
    copy_dir(&reference, &forged);
    std::fs::write(forged.join("hidden.npy"), npy(31, 32)).unwrap();
    reseal(&forged, "hidden.npy");
    let (listed, clean) = listing(forged.parent().unwrap());
    assert!(!clean && listed.contains("31 rows"), "{listed}");
    rerun(
        &forged,
        &reference,
        "hidden.npy",
        Expect::Retrained,
        "forged shape",
    );
    // A checkpoint whose state says another step (manifest recomputed): refused, no row twice.
    let moved = tmp.path().join("moved-step/run");
    copy_dir(&saved, &moved);
    let state_path = moved.join("checkpoint/state.json");
    let state = std::fs::read_to_string(&state_path).unwrap();
    std::fs::write(&state_path, state.replace("\"step\":30", "\"step\":20")).unwrap();
    reseal(&moved.join("checkpoint"), "state.json");
    let err = refused(&setting(&moved));
    assert!(
        err.contains("metrics.csv") && err.contains("past the checkpoint"),
        "{err}"
    );
    // A user's file inside a checkpoint folder: the checkpoint still resumes, and the file stays.
    let noted = tmp.path().join("noted/run");
    copy_dir(&saved, &noted);
    std::fs::write(noted.join("checkpoint/notes.txt"), "mine").unwrap();
    ok(&setting(&noted));
    assert_same_files(&reference, &noted, &RESULTS, "a note in checkpoint/");
    assert_eq!(
        std::fs::read_to_string(noted.join("checkpoint/notes.txt")).unwrap(),
        "mine"
    );
    // `runs` on a run directory itself lists it.
    let (listed, _) = listing(&reference);
    assert!(
        listed.contains("1 runs in") && listed.contains("finished, 40 steps"),
        "{listed}"
    );
    // A coordinate the particles do not have: refused before anything trains.
    let study = tmp.path().join("tails-study");
    let err = refused(&words(&[
        "tails",
        "--preset",
        "synthetic",
        "--widths",
        "20",
        "--gammas",
        "1",
        "--horizon",
        "2",
        "--coordinate",
        "1000",
        "--out",
        study.to_str().unwrap(),
    ]));
    assert!(
        err.contains("--coordinate") && err.contains("p = 32"),
        "{err}"
    );
    assert!(!study.join("runs").exists());
    // A synthetic task larger than memory: refused, not aborted.
    let big = tmp.path().join("big.toml");
    std::fs::write(&big, "[synthetic]\ntrain = 1000000000000\n").unwrap();
    let err = refused(&words(&[
        "synthetic",
        "--steps",
        "1",
        "--config",
        big.to_str().unwrap(),
        "--out",
        tmp.path().join("big").to_str().unwrap(),
    ]));
    assert!(
        err.contains("[synthetic]") && err.contains("available"),
        "{err}"
    );
}

/// Recomputes the manifest of `folder` after `file` was replaced (what a forger would do): the
/// file's entry and the manifest's own digest, written by the program's own writer.
fn reseal(folder: &Path, file: &str) {
    use meanfield_train::manifest::Manifest;
    let mut m = Manifest::read(folder).unwrap().unwrap();
    let bytes = std::fs::read(folder.join(file)).unwrap();
    m.files
        .insert(file.to_string(), meanfield_io::digest::of_bytes(&bytes));
    m.write(folder).unwrap();
}

/// An IDX file of unsigned bytes with dimensions `dims` (MNIST's format), filled with `fill`.
fn idx(dims: &[u32], fill: u8) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    let n: u32 = dims.iter().product();
    out.extend(std::iter::repeat_n(fill, n as usize));
    out
}

/// The data folder's files: a fetch never replaces a dataset file it cannot tell is its own
/// (another SHA-256 than the published one), and training and test images of different sizes
/// are named, not a crash.
#[test]
fn data_files_of_the_users_are_not_replaced_and_mismatches_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mnist = data.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    std::fs::write(mnist.join("train-labels-idx1-ubyte.gz"), b"my own labels").unwrap();
    let err = refused(&words(&[
        "fetch",
        "mnist",
        "--data-dir",
        data.to_str().unwrap(),
    ]));
    assert!(
        err.contains("train-labels-idx1-ubyte.gz") && err.contains("published SHA-256"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(mnist.join("train-labels-idx1-ubyte.gz")).unwrap(),
        b"my own labels"
    );
    // Training images 28×28, test images 28×29.
    let odd = tmp.path().join("odd");
    let dir = odd.join("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        ("train-images-idx3-ubyte", idx(&[200, 28, 28], 3)),
        ("train-labels-idx1-ubyte", idx(&[200], 1)),
        ("t10k-images-idx3-ubyte", idx(&[50, 28, 29], 3)),
        ("t10k-labels-idx1-ubyte", idx(&[50], 1)),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let err = refused(&words(&[
        "mnist",
        "--no-fetch",
        "--data-dir",
        odd.to_str().unwrap(),
        "--steps",
        "1",
        "--width",
        "10",
        "--out",
        tmp.path().join("run").to_str().unwrap(),
    ]));
    assert!(
        err.contains("812 features") || err.contains("test examples"),
        "{err}"
    );
}
