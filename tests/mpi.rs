//! One run sharded over MPI processes: the real binary (built with `--features mpi`) under
//! `mpirun` on a subset of real MNIST. One process equals the unsharded run byte for byte; two
//! and three (uneven blocks) equal it within float32 rounding and are reproducible; a killed
//! process stops the others (no hang), and the same command then resumes from the last
//! checkpoint and ends where an uninterrupted run ends.
//!
//! Needs Open MPI's `mpirun` on PATH (Debian: openmpi-bin libopenmpi-dev); `.ci/run` installs
//! it and runs `cargo test --release -p experiments --features mpi --test mpi`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

// The helpers this file does not use (the HTTP server, CIFAR-10 archives) are for the other files of tests/.
#[allow(dead_code)]
mod support;
use std::time::{Duration, Instant};
use support::{RESULTS, WEIGHTS, assert_same_files, npy_f32, small_mnist_run};

/// The run every test trains: β = 0.75, N = 64, a trained readout, the Polyak average, 30
/// steps on 2000 training images.
fn run_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = small_mnist_run(out);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `mpirun -n processes experiments ARGS` (as root too: Open MPI's opt-in variables; more
/// processes than cores allowed; one thread each, so three fit on two cores).
fn mpirun(processes: usize, args: &[String]) -> Command {
    let mut c = Command::new("mpirun");
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("RAYON_NUM_THREADS", "1")
        .args(["--oversubscribe", "-n", &processes.to_string()])
        .arg(env!("CARGO_BIN_EXE_experiments"))
        .args(args);
    c
}

/// Replaces the value of `flag` in `args`.
fn set(args: &mut [String], flag: &str, value: &str) {
    let i = args
        .iter()
        .position(|a| a == flag)
        .expect("the flag is there");
    args[i + 1] = value.to_string();
}

fn ok(mut command: Command) -> Output {
    let out = command
        .output()
        .expect("mpirun runs (is Open MPI installed?)");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn unsharded(out: &Path) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_experiments"));
    c.args(run_args(out, &["--quiet"]));
    ok(c);
}

/// One MPI process takes the sharded path with one block: the run's files are the unsharded
/// run's, byte for byte.
#[test]
fn one_process_equals_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, one) = (tmp.path().join("whole"), tmp.path().join("one"));
    unsharded(&whole);
    let out = ok(mpirun(1, &run_args(&one, &[])));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 process"),
        "the start line says the shards: {stderr}"
    );
    assert_same_files(&whole, &one, &RESULTS, "unsharded, and one process");
}

/// Two and three processes (64 particles: 32 + 32, and 22 + 21 + 21) train the unsharded
/// run's particles; the partial logits are added in rank order, so the only difference is
/// float32 rounding (bound 1e-5 on every weight, measured below 1e-6), and the same command
/// twice gives the same bytes. The output looks like an unsharded run's: one summary on stdout,
/// the run's own files.
#[test]
fn two_and_three_processes_match_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    unsharded(&whole);
    for processes in [2, 3] {
        let dir = tmp.path().join(format!("s{processes}"));
        let out = ok(mpirun(processes, &run_args(&dir, &["--quiet"])));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.matches("\"status\"").count(), 1, "{stdout}");
        let mut worst = 0f32;
        for f in WEIGHTS {
            let (x, y) = (npy_f32(&whole.join(f)), npy_f32(&dir.join(f)));
            assert_eq!(x.len(), y.len());
            for (u, v) in x.iter().zip(&y) {
                worst = worst.max((u - v).abs());
            }
        }
        eprintln!("S = {processes}: max |Δw| = {worst:e}");
        assert!(worst < 1e-5, "S = {processes}: max |Δw| = {worst}");
        let again = tmp.path().join(format!("s{processes}-again"));
        ok(mpirun(processes, &run_args(&again, &["--quiet"])));
        assert_same_files(&dir, &again, &RESULTS, "the same sharded run twice");
    }
}

/// The pids of the processes of rank `rank` whose command line names `marker`.
fn ranks_pid(marker: &str, rank: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(marker)
            || String::from_utf8_lossy(&cmdline).starts_with("mpirun")
        {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let wanted = format!("OMPI_COMM_WORLD_RANK={rank}");
        if environ.split(|&b| b == 0).any(|v| v == wanted.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

/// A run long enough to be interrupted mid-run (several seconds): N = 2000, 1000 steps, a
/// checkpoint every 50.
fn long_run(out: &Path) -> Vec<String> {
    let mut args = run_args(out, &["--checkpoint-every", "50"]);
    set(&mut args, "--steps", "1000");
    set(&mut args, "--width", "2000");
    args
}

/// Starts `args` (writing into `out`) as 2 processes, waits for its first checkpoint, and
/// returns mpirun and the pid of process 1.
fn start_then_checkpoint(args: &[String], out: &Path, stderr: Stdio) -> (std::process::Child, u32) {
    let mut child = mpirun(2, args)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join("checkpoint/state.json").is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint written"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = ranks_pid(out.to_str().unwrap(), "1").expect("rank 1 is running");
    (child, pid)
}

/// Process 1 of 2 killed (SIGKILL) mid-run, after its first checkpoint: mpirun ends the other
/// and exits non-zero within seconds (no hang), the last checkpoint stays whole, and the same
/// command resumes from it and ends with the bytes of an uninterrupted two-process run.
#[test]
fn a_killed_process_stops_the_run_and_the_rerun_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let (killed, straight) = (tmp.path().join("killed"), tmp.path().join("straight"));
    let args = long_run(&killed);
    let (mut child, pid) = start_then_checkpoint(&args, &killed, Stdio::null());
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let killed_at = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "the other process hangs after rank 1 was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "mpirun reports the failure");
    assert!(!killed.join("summary.json").exists());
    let rerun = ok(mpirun(2, &args));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(stderr.contains("resuming from the checkpoint"), "{stderr}");
    ok(mpirun(2, &long_run(&straight)));
    assert_same_files(
        &killed,
        &straight,
        &WEIGHTS,
        "killed and resumed, and uninterrupted",
    );
}

/// SIGTERM reaching only process 1 of 2 stops both after the same step, with one checkpoint of
/// that step (the processes agree on stopping every step); the same command then continues and
/// ends with the bytes of an uninterrupted run.
#[test]
fn a_stop_seen_by_one_process_stops_all_after_the_same_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (stopped, straight) = (tmp.path().join("stopped"), tmp.path().join("straight"));
    let args = long_run(&stopped);
    let log = tmp.path().join("stderr.txt");
    let stderr = Stdio::from(std::fs::File::create(&log).unwrap());
    let (mut child, pid) = start_then_checkpoint(&args, &stopped, stderr);
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    let said = std::fs::read_to_string(&log).unwrap();
    let steps: Vec<&str> = said
        .lines()
        .filter_map(|l| l.split("interrupted after step ").nth(1))
        .map(|rest| rest.split(':').next().unwrap())
        .collect();
    assert_eq!(
        steps.len(),
        2,
        "both processes say where they stopped: {said}"
    );
    assert_eq!(steps[0], steps[1], "{said}");
    let state = std::fs::read_to_string(stopped.join("checkpoint/state.json")).unwrap();
    assert!(
        state.starts_with(&format!("{{\"step\":{},", steps[0])),
        "the checkpoint is of the step both stopped after: {state}"
    );
    let rerun = ok(mpirun(2, &args));
    assert!(String::from_utf8_lossy(&rerun.stderr).contains("resuming from the checkpoint"));
    ok(mpirun(2, &long_run(&straight)));
    assert_same_files(
        &stopped,
        &straight,
        &WEIGHTS,
        "stopped and resumed, and uninterrupted",
    );
}

/// Started as several MPI processes, a grid command (which has no particles to shard) says
/// what runs over MPI instead of training its grid once per process.
#[test]
fn grid_commands_refuse_several_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mpirun(2, &["runs".into(), tmp.path().display().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only a training command"), "{stderr}");
}

/// A width that does not fit even in shards is refused before anything large is allocated,
/// with one process's numbers and the number of processes that would fit it (N = 10^8 on
/// MNIST: W1 alone is 314 GB, 157 GB for each of 2 processes).
#[test]
fn a_width_too_large_for_its_shards_names_the_processes_it_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = run_args(&tmp.path().join("huge"), &[]);
    set(&mut args, "--width", "100000000");
    let out = mpirun(2, &args).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("for each of 2 processes (50000000 particles each)")
            && stderr.contains("shard the run over S ≥"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
