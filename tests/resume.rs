//! Stopping and continuing: SIGKILL, SIGINT and SIGTERM then an exact resume, a damaged log,
//! a changed cadence, a failed final write, two processes on one run, `--resume`.
//! MNIST is fetched into the workspace's `data/` by the binary itself when missing (`.ci/run`
//! does it up front).

use std::path::Path;

// One harness for every test file of the binary; each uses part of it.
#[allow(dead_code)]
mod support;
use support::*;

/// A run killed with SIGKILL after a checkpoint and started again ends with the same weights,
/// bit for bit, as an uninterrupted run, and its metrics.csv has every step once. The setting
/// exercises the sampler's epoch state, the Polyak average and the Langevin noise.
#[test]
fn kill_9_and_resume_gives_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |dir: &Path| resume_args(dir, "100");
    let straight = tmp.path().join("straight");
    ok(&args(&straight));

    let killed = tmp.path().join("killed");
    let mut child = bin().args(args(&killed)).spawn().unwrap();
    let state = killed.join("checkpoint/state.json");
    let start = std::time::Instant::now();
    while !state.is_file() {
        assert!(start.elapsed().as_secs() < 120, "no checkpoint after 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !killed.join("summary.json").exists(),
        "a killed run must not look finished"
    );
    // Resumed with another checkpoint cadence (an operational setting): the run continues.
    let resumed = bin()
        .args(resume_args(&killed, "25"))
        .arg("--resume")
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_same_files(&straight, &killed, &RESULTS, "kill -9");
    assert_eq!(
        steps_in(&killed.join("metrics.csv")),
        (0..=1500).collect::<Vec<u64>>()
    );
    assert!(
        !killed.join("checkpoint").exists(),
        "a finished run keeps no checkpoint"
    );
    assert_eq!(summary(&killed)["status"], "finished");
}

/// A resume never writes a headless or gapped metrics.csv: with the log missing, or cut short
/// before the checkpoint, the resume is refused with what is wrong and the way out; with the
/// log restored it continues to the uninterrupted run's weights and metrics, byte for byte.
#[test]
fn a_damaged_metrics_log_is_refused_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    ok(&resume_args(&straight, "0"));
    let stopped = tmp.path().join("stopped");
    let child = bin()
        .args(resume_args(&stopped, "0"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&stopped, 300);
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(143));
    let metrics = stopped.join("metrics.csv");
    let saved = std::fs::read_to_string(&metrics).unwrap();
    std::fs::remove_file(&metrics).unwrap();
    let err = stderr_of_failure(&(resume_args(&stopped, "0")));
    assert!(
        err.contains("cannot continue from its checkpoint")
            && err.contains("metrics.csv is missing")
            && err.contains("--force"),
        "{err}"
    );
    let cut: String = saved.lines().take(100).map(|l| format!("{l}\n")).collect();
    std::fs::write(&metrics, cut).unwrap();
    let err = stderr_of_failure(&(resume_args(&stopped, "0")));
    assert!(
        err.contains("metrics.csv is") && err.contains("cut short"),
        "{err}"
    );
    std::fs::write(&metrics, saved).unwrap();
    ok(&resume_args(&stopped, "0"));
    assert_same_files(
        &straight,
        &stopped,
        &RESULTS,
        "SIGTERM, a refused resume and a restored log",
    );
}

/// Ctrl-C (SIGINT) mid-run: the run writes a checkpoint after its current step, says how to
/// continue and exits non-zero; the same command then ends with the same weights, average and
/// metrics, bit for bit, as a run never interrupted. Checkpoints are off (`--checkpoint-every
/// 0`), so the only checkpoint is the one the stop wrote.
#[test]
fn ctrl_c_checkpoints_and_resume_gives_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |dir: &Path| resume_args(dir, "0");
    let straight = tmp.path().join("straight");
    ok(&args(&straight));
    // Ctrl-C, then what Slurm, `timeout` and systemd send (SIGTERM) and a closed terminal
    // (SIGHUP): each checkpoints, says so, exits with 128 + the signal, and resumes exactly.
    for (name, signal) in [
        ("SIGINT", libc::SIGINT),
        ("SIGTERM", libc::SIGTERM),
        ("SIGHUP", libc::SIGHUP),
    ] {
        let stopped = tmp.path().join(name);
        let child = bin()
            .args(args(&stopped))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_rows(&stopped, 100); // then the signal
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + signal), "{name}: {err}");
        assert!(
            err.contains("interrupted after step") && err.contains("run the same command again"),
            "{name}: {err}"
        );
        assert!(stopped.join("checkpoint/state.json").is_file(), "{name}");
        assert!(!stopped.join("summary.json").exists(), "{name}");
        let steps_done = steps_in(&stopped.join("metrics.csv")).len();
        assert!(
            steps_done < 1501,
            "{name}: the run was stopped before its end"
        );
        ok(&args(&stopped));
        assert_same_files(&straight, &stopped, &RESULTS, name);
        assert_eq!(summary(&stopped)["status"], "finished");
    }
}

/// An automatically named run interrupted, then continued with another checkpoint cadence: the
/// cadence is not part of the run's identity, so the rerun continues the same directory (no
/// second one) and ends with the weights of a run never stopped. Then a failure at the final
/// write (hidden.npy cannot be replaced, as on a full disk) keeps the run's checkpoint, and
/// the rerun finishes from it with the same weights.
#[test]
fn changed_cadence_continues_and_a_failed_final_write_keeps_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    ok(&resume_args(&straight, "0"));
    // The same setting without --out: runs/<automatic name> under the working directory.
    let automatic = |every: &str| -> Vec<String> {
        let mut a = resume_args(Path::new("unused"), every);
        a.truncate(a.len() - 2);
        a
    };
    let child = bin()
        .args(automatic("0"))
        .current_dir(tmp.path())
        .spawn()
        .unwrap();
    let runs = tmp.path().join("runs");
    let dir = loop {
        if let Some(d) = subfolders(&runs).into_iter().next() {
            break d;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    wait_for_rows(&dir, 100);
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + libc::SIGINT));
    let rerun = bin()
        .args(automatic("25"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_eq!(subfolders(&runs).len(), 1, "one run directory");
    assert_same_files(
        &straight,
        &dir,
        &RESULTS,
        "continued with --checkpoint-every 25",
    );
    let identity = std::fs::read_to_string(dir.join("identity.json")).unwrap();
    assert!(identity.contains("\"version\": 2"), "{identity}");

    // The final write fails: hidden.npy is a non-empty directory when the run ends (made
    // before the run starts, in a folder marked as a run directory so the run may use it; the
    // fresh start removes only files, so the folder stays).
    let failing = tmp.path().join("failing");
    std::fs::create_dir_all(failing.join("hidden.npy/blocker")).unwrap();
    std::fs::write(
        failing.join("meanfield.json"),
        r#"{"program":"meanfield","kind":"run","layout":3}"#,
    )
    .unwrap();
    let out = bin().args(resume_args(&failing, "500")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the final write cannot succeed");
    assert!(err.contains("hidden.npy"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        failing.join("checkpoint/state.json").is_file(),
        "the checkpoint is kept"
    );
    std::fs::remove_dir_all(failing.join("hidden.npy")).unwrap();
    ok(&resume_args(&failing, "500"));
    assert_same_files(
        &straight,
        &failing,
        &RESULTS,
        "finished after a failed final write",
    );
}

/// Two processes on one run directory: while the first trains, a second says who is training
/// it and exits non-zero, and a third with `--wait` waits and reuses the finished run. The
/// weights are a single process's, bit for bit.
#[test]
fn two_processes_on_one_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |dir: &Path| resume_args(dir, "100");
    let straight = tmp.path().join("straight");
    ok(&args(&straight));
    let shared = tmp.path().join("shared");
    let first = bin().args(args(&shared)).spawn().unwrap();
    wait_for_rows(&shared, 20);
    let second = run(&args(&shared).iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "a second trainer of the same run must fail"
    );
    assert!(
        err.contains("is being trained by")
            && err.contains(&format!("pid {}", first.id()))
            && err.contains("--wait"),
        "{err}"
    );
    let mut waiting = args(&shared);
    waiting.retain(|a| a != "--quiet");
    waiting.push("--wait".into());
    let third = bin().args(&waiting).output().unwrap();
    let said = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{said}");
    assert!(
        said.contains("waiting for it to finish") && said.contains("reused"),
        "{said}"
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success());
    assert_same_files(&straight, &shared, &RESULTS, "two processes");
}

#[test]
fn resume_flag_needs_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r").display().to_string();
    let err = stderr_of_failure(&["synthetic", "--steps", "5", "--resume", "--out", &dir]);
    assert!(err.contains("no checkpoint"), "{err}");
}
