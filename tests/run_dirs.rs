//! Run directories: checked before reuse, listed with their problems, found under the names of
//! earlier identity versions, and output folders that cannot be written.
//! MNIST is fetched into the workspace's `data/` by the binary itself when missing (`.ci/run`
//! does it up front).

use std::path::Path;

// One harness for every test file of the binary; each uses part of it.
#[allow(dead_code)]
mod support;
use support::*;

/// A run directory answers only for its own setting, and only when whole (issue: "a run
/// directory you can trust"):
/// - a finished run of another setting in the same `--out` is refused, naming each key that
///   differs with both values; `--force` replaces it;
/// - a finished run whose weights are cut short or missing is trained again (rc 0, whole files);
/// - `--out` into a non-empty folder that is not a run directory is refused unless forced;
/// - `--resume --force` is a usage error;
/// - settings that cannot finish are refused before anything runs.
#[test]
fn run_directories_are_checked_before_reuse() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    let base = ["synthetic", "--steps", "5", "--quiet", "--out", o];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    ok(&with(&["--width", "50"]));
    // 1. Another setting into the same --out.
    let err = stderr_of_failure(&(with(&["--width", "60", "--beta", "0.5"])));
    assert!(
        err.contains("another setting")
            && err.contains("width: 50 in the run, 60 asked")
            && err.contains("beta:"),
        "{err}"
    );
    assert_eq!(summary(&out)["width"], 50);
    // An operational setting alone does not make it another setting: reused.
    let again = ok(&with(&["--width", "50", "--log-every", "2"]));
    assert!(String::from_utf8_lossy(&again.stderr).contains("reused"));
    ok(&with(&["--width", "60", "--force"]));
    assert_eq!(summary(&out)["width"], 60);
    // 3. A finished run with its weights cut short, or missing, is trained again.
    let hidden = out.join("hidden.npy");
    let whole = std::fs::read(&hidden).unwrap();
    std::fs::write(&hidden, &whole[..whole.len() / 2]).unwrap();
    let noisy: Vec<String> = with(&["--width", "60"])
        .into_iter()
        .filter(|a| a != "--quiet")
        .collect();
    let rerun = ok(&noisy);
    let said = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        said.contains("hidden.npy is") && said.contains("training it again"),
        "{said}"
    );
    assert_eq!(std::fs::read(&hidden).unwrap(), whole);
    std::fs::remove_file(out.join("readout.npy")).unwrap();
    let rerun = ok(&noisy);
    assert!(String::from_utf8_lossy(&rerun.stderr).contains("readout.npy is missing"));
    assert!(out.join("readout.npy").is_file());
    // A run that asked for snapshots is whole only with them (studies read them).
    let snap = tmp.path().join("snap").display().to_string();
    let with_snapshots = [
        "synthetic",
        "--horizon",
        "4",
        "--snapshots",
        "2",
        "--out",
        &snap,
    ];
    ok(&with_snapshots);
    let first = Path::new(&snap).join("snapshots/hidden_1.npy");
    let bytes = std::fs::read(&first).unwrap();
    std::fs::remove_file(&first).unwrap();
    let rerun = ok(&with_snapshots);
    let said = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        said.contains("snapshots/hidden_1.npy is missing") && said.contains("training it again"),
        "{said}"
    );
    assert_eq!(std::fs::read(&first).unwrap(), bytes);
    // 7. --out into a folder of the user's own.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "my notes").unwrap();
    let m = mine.to_str().unwrap();
    // Refused, with or without --force: the program never writes among the user's files.
    for force in [&[][..], &["--force"][..]] {
        let args = [
            &["synthetic", "--steps", "5", "--quiet", "--out", m][..],
            force,
        ]
        .concat();
        let err = stderr_of_failure(&args);
        assert!(
            err.contains("is not a run directory") && err.contains("notes.txt"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
    }
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "my notes"
    );
    // --resume --force contradict each other.
    let err = stderr_of_failure(&(with(&["--resume", "--force"])));
    assert!(err.contains("contradict"), "{err}");
    // 8. Settings that cannot finish, or would write absurd output.
    let fresh = tmp.path().join("fresh").display().to_string();
    for (extra, needle) in [
        (vec!["--gamma", "1e-30"], "cannot finish"),
        (
            vec!["--snapshots", "100000"],
            "more snapshots than the run has steps",
        ),
        (
            vec!["--average-from", "1000"],
            "the average would never start",
        ),
    ] {
        let mut args = vec!["synthetic", "--quiet", "--out", &fresh];
        if extra[0] == "--snapshots" {
            args.extend(["--steps", "5"]);
        }
        args.extend(extra.iter());
        let err = stderr_of_failure(&args);
        assert!(err.contains(needle) && err.contains(extra[0]), "{err}");
    }
    assert!(
        !Path::new(&fresh).exists(),
        "a refused setting left a folder"
    );
    // A --steps shorter than the averaging's start is a trial run: trained, and said.
    let short = ok(&[
        "synthetic",
        "--steps",
        "5",
        "--average-from",
        "1000",
        "--out",
        &fresh,
    ]);
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("the Polyak average never starts"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
}

/// `experiments runs DIR` lists each run with its setting and status, and every problem: a
/// weight file cut short, and a run whose automatic name is not this version's for its setting
/// (an older version's run, which automatic names never reuse). Problems make it exit 1.
#[test]
fn runs_lists_runs_and_their_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let r = runs.to_str().unwrap();
    // Automatic run directories go to runs/ under the working directory.
    for width in ["40", "50"] {
        let out = bin()
            .current_dir(tmp.path())
            .args(["synthetic", "--steps", "5", "--quiet", "--width", width])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = ok(&["runs", r]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.contains("synthetic N=40 β=1 γ=1 M=100 seed=0\tfinished, 5 steps"),
        "{listed}"
    );
    // Damage one run, and rename the other as an older version would have named it.
    let dirs = subfolders(&runs);
    let hidden = dirs[0].join("hidden.npy");
    let bytes = std::fs::read(&hidden).unwrap();
    std::fs::write(&hidden, &bytes[..bytes.len() - 4]).unwrap();
    let name = dirs[1].file_name().unwrap().to_string_lossy().into_owned();
    let old = runs.join(format!("{}-0badcafe", name.rsplit_once('-').unwrap().0));
    std::fs::rename(&dirs[1], &old).unwrap();
    let out = run(&["runs", r]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        listed.contains("hidden.npy is") && listed.contains("cut short"),
        "{listed}"
    );
    assert!(
        listed.contains("made by another version of the program") && listed.contains(&name),
        "{listed}"
    );
}

/// After the upgrade to identity version 2, a run made under version 1 (named by the hash of
/// its whole config, no identity.json) is found under its old name, reused in place, and
/// listed as version 1; no second directory appears.
#[test]
fn runs_of_identity_version_one_are_found_and_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["synthetic", "--width", "50", "--steps", "20"];
    let first = bin().args(args).current_dir(tmp.path()).output().unwrap();
    assert!(first.status.success());
    let runs = tmp.path().join("runs");
    let made = subfolders(&runs).remove(0);
    // Make it a version-1 directory: the old name, no identity.json (nor the marker and
    // manifest of layout 3).
    let text = std::fs::read_to_string(made.join("config.toml")).unwrap();
    let config = meanfield_train::TrainConfig::resolve(vec![(
        "config.toml".into(),
        meanfield_train::config::parse_table("config.toml", &text).unwrap(),
    )])
    .unwrap();
    let old = runs.join(meanfield_train::identity::legacy_name(&config));
    assert_ne!(old, made);
    std::fs::rename(&made, &old).unwrap();
    support::as_layout_2(&old);
    std::fs::remove_file(old.join("identity.json")).unwrap();
    std::fs::remove_file(runs.join("meanfield.json")).unwrap();
    let again = bin().args(args).current_dir(tmp.path()).output().unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(err.contains("reused"), "{err}");
    assert_eq!(subfolders(&runs).len(), 1, "no second directory");
    let listing = bin()
        .args(["runs", "runs"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.status.success(), "{out}");
    assert!(out.contains("identity v1"), "{out}");
}

/// An output folder that cannot be made is named in the error (here its parent is a file), and
/// a folder of the system is refused before anything is tried.
#[test]
fn unwritable_output_directory_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let under_a_file = tmp.path().join("file/run").display().to_string();
    let err = stderr_of_failure(&[
        "synthetic",
        "--steps",
        "1",
        "--quiet",
        "--out",
        &under_a_file,
    ]);
    assert!(err.contains(&under_a_file), "{err}");
    let err = stderr_of_failure(&[
        "synthetic",
        "--steps",
        "1",
        "--quiet",
        "--out",
        "/proc/meanfield-cannot-write/run",
    ]);
    assert!(
        err.contains("/proc/meanfield-cannot-write") && err.contains("a folder of the system"),
        "{err}"
    );
}
