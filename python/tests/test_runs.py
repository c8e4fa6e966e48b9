"""Runs from Python against the command line: the same setting gives the same run directory,
byte for byte; opening a run reads the arrays the files hold; damaged runs and bad arguments
raise; Ctrl-C checkpoints and the run continues to the uninterrupted run's bytes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import meanfield as mf

# Files whose bytes hold the time a run took (summary.json, and the manifest recording its
# digest): everything else a run writes is compared byte for byte.
TIMED = {"summary.json", "manifest.json", ".lock"}


def files(run: Path) -> dict:
    return {
        p.relative_to(run).as_posix(): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.name not in TIMED
    }


def cli(binary: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, check=True)


def test_a_run_trained_from_python_equals_the_command_lines(work, binary, mnist_dir):
    # Real data: a 2000-image MNIST subset, N = 100, T = 10 (31 steps at β = 0.75), with
    # snapshots.
    flags = ["--width", "100", "--horizon", "10", "--train-subset", "2000", "--test-subset", "500",
             "--snapshots", "4", "--data-dir", str(mnist_dir), "--quiet"]
    cli(binary, "mnist", *flags, "--runs-dir", "cli")
    run = mf.train(preset="mnist", width=100, horizon=10, train_subset=2000, test_subset=500,
                   snapshots=4, data_dir=mnist_dir, runs_dir="py")
    assert run.outcome == "trained"
    (cli_run,) = [p for p in Path("cli").iterdir() if p.is_dir()]
    assert run.dir.name == cli_run.name  # the same setting names the same folder
    ours, theirs = files(run.dir), files(cli_run)
    # config.toml names its runs directory (runs_dir is operational, outside the identity);
    # nothing else differs.
    ours["config.toml"] = ours["config.toml"].replace(b'"py"', b'"cli"')
    assert sorted(ours) == sorted(theirs)
    different = [n for n in ours if ours[n] != theirs[n]]
    assert different == []
    # A second call reuses it, as the command line does.
    assert mf.train(preset="mnist", width=100, horizon=10, train_subset=2000, test_subset=500,
                    snapshots=4, data_dir=mnist_dir, runs_dir="py").outcome == "reused"


def test_opening_a_run_reads_the_arrays_its_files_hold(work):
    # β = 1 in the synthetic preset: γ_{α,β}(N) = 1, so T = 30 is 30 steps.
    run = mf.train(preset="synthetic", width=64, horizon=30, snapshots=3, average_from=10)
    opened = mf.open_run(run.dir)
    np.testing.assert_array_equal(opened.hidden, np.load(run.dir / "hidden.npy"))
    np.testing.assert_array_equal(opened.readout, np.load(run.dir / "readout.npy"))
    np.testing.assert_array_equal(opened.weights("hidden_avg"), np.load(run.dir / "hidden_avg.npy"))
    assert isinstance(opened.hidden, np.memmap) and not opened.hidden.flags.writeable
    assert opened.hidden.shape == (64, 32) and opened.hidden.dtype == np.float32
    with open(run.dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert opened.metrics["step"].tolist() == [int(r["step"]) for r in rows]
    for key in ("time", "batch_loss", "test_accuracy"):
        expected = [float(r[key]) if r[key] else np.nan for r in rows]
        np.testing.assert_array_equal(opened.metrics[key], expected)
    assert opened.config["width"] == 64 and opened.config["dataset"] == "synthetic"
    assert opened.summary["steps"] == 30
    snaps = opened.snapshots()
    assert len(snaps.hidden) == 4 and snaps.particles().shape == (4, 64, 32)
    assert snaps.step.tolist() == [0, 10, 20, 30] and snaps.time.tolist() == [0, 10, 20, 30]
    # The last snapshot is at T: the final weights.
    np.testing.assert_array_equal(snaps.hidden[-1], opened.hidden)
    np.testing.assert_array_equal(snaps.hidden[1], np.load(run.dir / "snapshots" / "hidden_1.npy"))
    with pytest.raises(ValueError, match="hidden_avg"):
        mf.open_run(mf.train(preset="synthetic", width=64, steps=30).dir).weights("hidden_avg")


def test_damaged_and_foreign_folders_are_refused(work):
    run = mf.train(preset="synthetic", width=32, steps=10)
    path = run.dir / "hidden.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="hidden.npy"):
        mf.open_run(run.dir)
    mine = work / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own")
    with pytest.raises(RuntimeError, match="no finished run"):
        mf.open_run(mine)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        mf.open_run(work / "nowhere")
    # A user's folder is never trained into: refused, and left as it was.
    with pytest.raises(ValueError, match="mine"):
        mf.train(preset="synthetic", width=32, steps=10, out=mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(preset="synthetic", widht=10), "widht"),
        (dict(preset="synthetic", width=-5), "width"),
        (dict(preset="synthetic", width=0), "width"),
        (dict(preset="synthetic", backend="tpu"), "tpu"),
        (dict(preset="nope"), "nope"),
        (dict(preset="synthetic", force="yes"), "`force`"),
        (dict(preset="synthetic", config=[1, 2]), "`config`"),
        (dict(preset="synthetic", config={"widht": 3}), "widht"),
        (dict(preset="synthetic", steps=10, no_fetch=True), "no_fetch"),
        # A dataset's own setting for another dataset changes nothing: refused, as its flag is.
        (dict(preset="synthetic", steps=10, arrays={"normalize": "standardize"}), "`normalize`: applies to runs on arrays only"),
        # A config naming its run directory trains that run: a keyword changing the setting
        # would train another one into it.
        (dict(preset="synthetic", config={"out": "mine", "width": 8}, width=9), "names its run directory"),
        # Another dataset's table changes nothing but the run's name: refused.
        (dict(preset="mnist", steps=3, synthetic={"dim": 3}), "synthetic"),
        # Rows of snapshots that are not taken, or more rows than particles.
        (dict(preset="synthetic", steps=3, snapshot_rows=5), "snapshot_rows"),
        (dict(preset="synthetic", width=20, horizon=4, snapshots=2, snapshot_rows=50), "at most 20"),
        # An empty path names no folder (it would write into the working directory).
        (dict(preset="synthetic", steps=3, out=""), "empty"),
        (dict(preset="synthetic", steps=3, runs_dir=""), "empty"),
        (dict(preset=3), "`preset`"),
        (dict(preset="synthetic", config="/dev/zero"), "larger than 1 MiB"),
        # A table given as a list would fill its keys by position.
        (dict(preset="synthetic", synthetic=(1, 2)), "table of its own keys"),
        # Beyond TOML's 64-bit integers: named, not "u64 value was too large".
        (dict(preset="synthetic", width=2**63), "`width` = 9223372036854775808"),
    ],
)
def test_bad_settings_raise_value_errors_that_name_them(work, kwargs, match):
    (work / "config.toml").write_text("my own\n")
    with pytest.raises(ValueError, match=match):
        mf.train(**kwargs)
    # Nothing was written: the working directory holds the user's file only.
    assert sorted(p.name for p in work.iterdir()) == ["config.toml"]
    assert (work / "config.toml").read_text() == "my own\n"


def test_what_a_setting_warns_of_is_a_python_warning(work):
    with pytest.warns(UserWarning, match="takes no step"):
        run = mf.train(preset="synthetic", width=16, steps=0)
    assert run.summary["steps"] == 0


def test_the_gil_is_released_while_training(work):
    import threading

    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    started = time.perf_counter()
    mf.train(preset="synthetic", width=4000, steps=300)
    ended = time.perf_counter()
    stop.set()
    t.join()
    during = [x for x in ticks if started < x < ended]
    # The other thread ran all along: at least a tick every 0.1 s (it asks for one every 0.01 s).
    assert ended - started > 0.3, "the run was too short to tell"
    assert len(during) >= (ended - started) / 0.1, (len(during), ended - started)


def test_an_exception_of_the_callers_signal_handler_is_raised_after_the_stop(work):
    class Timeout(Exception):
        pass

    def alarm(signum, frame):
        raise Timeout("time is up")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(Timeout, match="time is up"):
            mf.train(preset="synthetic", width=20000, steps=4000, runs_dir="timed")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # The run stopped as on Ctrl-C: with a checkpoint, not finished.
    (run_dir,) = [p for p in Path("timed").iterdir() if p.is_dir()]
    assert (run_dir / "checkpoint" / "state.json").is_file()
    assert not (run_dir / "summary.json").exists()


def test_settings_layer_as_on_the_command_line(work):
    table, out = mf.resolve(preset="synthetic", config={"width": 10, "beta": 0.5}, beta=0.75)
    assert (table["width"], table["beta"], table["dataset"]) == (10, 0.75, "synthetic")
    assert out.name.startswith("synthetic-N10-beta0.75-")
    toml = work / "over.toml"
    toml.write_text("width = 12\n")
    table, _ = mf.resolve(toml, preset="synthetic")
    assert table["width"] == 12
    assert "mnist" in mf.presets()


WAITER = textwrap.dedent(
    """
    import sys, meanfield
    meanfield.train(preset="synthetic", width=20000, steps=4000, runs_dir="held", wait=True, quiet=False)
    """
)


def test_ctrl_c_ends_a_wait_for_another_process(work):
    holder = subprocess.Popen([sys.executable, "-c", CHILD, "held"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "training"
        deadline = time.monotonic() + 120
        while not list(Path("held").glob("*/metrics.csv")) and time.monotonic() < deadline:
            time.sleep(0.01)
        waiter = subprocess.Popen([sys.executable, "-c", WAITER], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = ""
        while "waiting for it to finish" not in line:
            line = waiter.stderr.readline()
            assert line, waiter.communicate()
        asked = time.monotonic()
        waiter.send_signal(signal.SIGINT)
        _, err = waiter.communicate(timeout=60)
        # It stops waiting at once (within its 100 ms polls), long before the holder's run ends.
        assert time.monotonic() - asked < 2.0
        assert "KeyboardInterrupt: stopped while waiting" in err, err
        assert holder.poll() is None, "the holder finished first: the test proves nothing"
    finally:
        holder.send_signal(signal.SIGINT)
        holder.communicate(timeout=120)


CHILD = textwrap.dedent(
    """
    import sys, meanfield
    print("training", flush=True)
    meanfield.train(preset="synthetic", width=20000, steps=4000, runs_dir=sys.argv[1])
    print("finished", flush=True)
    """
)


def test_ctrl_c_checkpoints_and_the_run_continues_exactly(work):
    child = subprocess.Popen([sys.executable, "-c", CHILD, "interrupted"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "training"
    # Into the training loop: metrics.csv has a row past step 0 (the whole run takes about
    # 10 s on 2 cores; the signal follows the first logged step within 10 ms).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = list(Path("interrupted").glob("*/metrics.csv"))
        if rows and len(rows[0].read_text().splitlines()) > 2:
            break
        assert child.poll() is None, child.communicate()
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode != 0 and "KeyboardInterrupt: interrupted after step" in err, (out, err)
    assert "finished" not in out
    (run_dir,) = [p for p in Path("interrupted").iterdir() if p.is_dir()]
    state = run_dir / "checkpoint" / "state.json"
    assert state.is_file(), sorted(p.name for p in run_dir.iterdir())
    assert not (run_dir / "summary.json").exists()
    # The same call continues from the checkpoint, to the bytes of a run never interrupted.
    resumed = mf.train(preset="synthetic", width=20000, steps=4000, runs_dir="interrupted", resume=True)
    whole = mf.train(preset="synthetic", width=20000, steps=4000, runs_dir="whole")
    assert resumed.outcome == "trained" and resumed.summary["steps"] == 4000
    for name in ("hidden.npy", "readout.npy", "metrics.csv"):
        assert (resumed.dir / name).read_bytes() == (whole.dir / name).read_bytes(), name
