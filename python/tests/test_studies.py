"""Studies from Python: their tables against the measures recomputed from their own runs'
files, the command line's default folders and refusals, assembling without training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import meanfield as mf

# A fixed readout (the theory's), so that a particle is its hidden row only.
SMALL = dict(preset="synthetic", readout="fixed", readout_init="uniform:1")


def runs_by(folder: Path, *keys: str) -> dict:
    """The finished runs under a study's runs/ folder, by the settings `keys`."""
    out = {}
    for d in (folder / "runs").iterdir():
        if d.is_dir():
            r = mf.open_run(d)
            out[tuple(r.config.get(k) for k in keys)] = r
    return out


def test_tails_rows_are_the_tail_index_of_each_runs_coordinate(work):
    result = mf.tails([40, 80], gammas=[1.0, 0.5], batches=[20], steps=20, **SMALL)
    assert result.out == Path("studies/tails-synthetic-beta1")  # the command line's default
    assert (result.out / "report.md").is_file() and (result.out / "tails.png").is_file()
    rows = result.tables["rows"]
    assert sorted((r["width"], r["gamma"]) for r in rows) == [(40, 0.5), (40, 1.0), (80, 0.5), (80, 1.0)]
    for row in rows:
        run = mf.open_run(row["run_dir"])
        assert (run.config["width"], run.config["gamma"], run.config["batch"]) == (row["width"], row["gamma"], 20)
        t = mf.tail_index(np.asarray(run.hidden[:, 0], dtype=np.float64))
        assert row["k"] == t["hill"]["k"]
        assert row["index"] == pytest.approx(t["hill"]["index"], rel=1e-12)
        assert row["verdict"] == t["verdict"]
    cols = result.table("rows")
    assert isinstance(cols["index"], np.ndarray) and cols["index"].shape == (4,)
    # Assembled again from the finished runs, without training: the same tables.
    again = mf.tails([40, 80], gammas=[1.0, 0.5], batches=[20], steps=20, assemble_only=True, **SMALL)
    assert again.tables == result.tables


def test_a_study_from_python_writes_the_command_lines_tables(work, binary):
    # The same tails study from both: its CSVs hold the same bytes (its report differs only in
    # the command that reproduces it).
    import subprocess

    subprocess.run(
        [str(binary), "tails", "--preset", "synthetic", "--readout", "fixed", "--readout-init",
         "uniform:1", "--widths", "40,80", "--gammas", "1,0.5", "--batches", "20", "--steps", "20",
         "--out", "cli", "--quiet"],
        check=True, capture_output=True,
    )
    mf.tails([40, 80], gammas=[1.0, 0.5], batches=[20], steps=20, out="py", **SMALL)
    csvs = sorted(p.name for p in Path("cli").glob("*.csv"))
    assert csvs and csvs == sorted(p.name for p in Path("py").glob("*.csv"))
    for name in csvs:
        cli = (Path("cli") / name).read_text().replace("cli/runs", "RUNS")
        py = (Path("py") / name).read_text().replace("py/runs", "RUNS")
        assert cli == py, name


def test_coupling_d_is_the_coupling_distance_of_the_runs_snapshots(work):
    result = mf.coupling([20, 40], reference_width=160, data_seeds=[3], horizon=20, out="c", **SMALL)
    # The widths' runs take data seed 3; the reference (N_ref = 160) and the reference-share
    # run (N_ref/2) their own, independent noise.
    runs = runs_by(Path("c"), "width", "data_seed")
    (reference,) = [r.snapshots().particles() for (n, _), r in runs.items() if n == 160]
    sups = [r for r in result.tables["sups"] if r["part"] == "width"]
    assert sorted(r["width"] for r in sups) == [20, 40]
    for row in sups:
        mine = runs[(row["width"], 3)].snapshots().particles()
        d = mf.coupling_distance(mine, reference)
        assert row["d"] == pytest.approx(d["sup"], rel=1e-12)
        assert row["particles"] == row["width"]
    assert result.fits["width"]["fit"]["points"] == 2
    # Times: D at each snapshot time of each run, the K + 1 = 11 times of the default K = 10.
    assert len({r["time"] for r in result.tables["times"]}) == 11


def test_shared_noise_families_are_measured_against_their_own_reference(work):
    # Shared noise with two data seeds: two references (N_ref = 160, one per seed), each
    # family's widths measured against the reference on its own noise.
    result = mf.coupling([20, 40], reference_width=160, data_seeds=[3, 4], shared_noise=True,
                         beta=1.0, horizon=20, out="f", **SMALL)
    runs = runs_by(Path("f"), "width", "data_seed")
    assert sorted(k for k in runs if k[0] == 160) == [(160, 3), (160, 4)]
    sups = [r for r in result.tables["sups"] if r["part"] == "width"]
    assert sorted((r["width"], r["seed"]) for r in sups) == [(20, 3), (20, 4), (40, 3), (40, 4)]
    for row in sups:
        mine = runs[(row["width"], row["seed"])].snapshots().particles()
        own = runs[(160, row["seed"])].snapshots().particles()
        assert row["d"] == pytest.approx(mf.coupling_distance(mine, own)["sup"], rel=1e-12)
    assert result.fits["family_seeds"] == [3, 4]
    assert len(result.fits["families"]["values"]) == 2


def test_chaos_rows_measure_the_runs_coordinates(work):
    result = mf.chaos([20, 40], seeds=[0, 1], projections=20, steps=10, out="ch", **SMALL)
    runs = runs_by(Path("ch"), "width", "seed")
    reference = runs[(40, 0)]
    to_reference = [r for r in result.tables["rows"] if r["other"] == "reference"]
    assert to_reference, result.tables["rows"]
    for row in to_reference:
        mine = runs[(row["width"], row["seed"])]
        w2 = mf.w2(np.asarray(mine.hidden[:, 0], np.float64), np.asarray(reference.hidden[:, 0], np.float64))
        assert row["w2_coordinate"] == pytest.approx(w2, rel=1e-12)
        # The sliced W2 of the particles (hidden rows: the readout is fixed), over the study's
        # 20 directions and default projection seeds.
        sliced = mf.sliced_w2_seeds(mine.hidden, reference.hidden, projections=20)
        assert row["sliced_w2_mean"] == pytest.approx(sliced["mean"], rel=1e-12)
        assert row["sliced_w2_std"] == pytest.approx(sliced["std"], rel=1e-9)
    between = [r for r in result.tables["rows"] if r["other"] not in ("reference",)]
    assert between, result.tables["rows"]
    for row in between:
        other = runs[(row["width"], int(row["other"]))]
        mine = runs[(row["width"], row["seed"])]
        w2 = mf.w2(np.asarray(mine.hidden[:, 0], np.float64), np.asarray(other.hidden[:, 0], np.float64))
        assert row["w2_coordinate"] == pytest.approx(w2, rel=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mf.tails([40], width=40, **SMALL), "widths"),
        (lambda: mf.tails([40], out=None, runs_dir="x", **SMALL), "runs_dir"),
        (lambda: mf.tails([40, 40], **SMALL), "twice"),
        (lambda: mf.tails([0], **SMALL), "widths"),
        (lambda: mf.tails([40], gammas=["a"], **SMALL), "`gammas`"),
        (lambda: mf.tails([40], force=True, assemble_only=True, **SMALL), "assemble_only"),
        (lambda: mf.tails([40], jobs=0, **SMALL), "`jobs`"),
        (lambda: mf.coupling([20], reference_width=10, **SMALL), "reference width"),
        (lambda: mf.coupling([20], steps=5, **SMALL), "horizon"),
        (lambda: mf.coupling([20], data_seeds=[0, 0], shared_noise=True, **SMALL), "twice"),
        (lambda: mf.chaos([20], seeds=[0], config={"seed": 3}, **SMALL), "seed"),
        (lambda: mf.chaos([20], seeds=[0], assemble_only=True, jobs=4, **SMALL), "`jobs`"),
        (lambda: mf.chaos([20, 40], seeds=[0], projection_seeds=[], **SMALL), "empty"),
        (lambda: mf.coupling([20], batch_sweep_width=20, **SMALL), "batch_sweep"),
        (lambda: mf.coupling([20], batch_sweep=[10, 10], **SMALL), "twice"),
        (lambda: mf.tails([40], out="", **SMALL), "empty"),
    ],
)
def test_what_a_study_sets_itself_or_cannot_use_is_refused(work, call, match):
    with pytest.raises(ValueError, match=match):
        call()
    assert not Path("studies").exists() or not any(Path("studies").rglob("*.npy"))


def test_failed_runs_are_a_warning_and_listed(work):
    # A batch larger than the synthetic task's training set cannot be drawn: each run fails.
    with pytest.warns(RuntimeWarning, match="2 run"):
        result = mf.tails([20, 40], gammas=[1.0], batches=[10**6], horizon=10, **SMALL)
    assert len(result.failed_runs) == 2


def test_a_batch_sweep_whose_runs_all_failed_is_reported(work):
    with pytest.warns(RuntimeWarning, match="failed"):
        result = mf.coupling([20, 40], batch_sweep=[10**7], data_seeds=[0], horizon=10, out="c", **SMALL)
    assert result.failed_runs and (result.out / "report.md").is_file()


def test_a_chaos_studys_own_arguments_are_checked_before_training(work):
    with pytest.raises(ValueError, match="at most 1000000"):
        mf.chaos([20, 40], seeds=[0], projections=10**6 + 1, steps=5, out="a", **SMALL)
    with pytest.raises(RuntimeError, match="no finished run"):
        mf.chaos([20, 40], seeds=[0], reference="nowhere", steps=5, out="b", **SMALL)
    assert not list(Path(".").rglob("*.npy"))


def test_assembling_a_study_that_was_never_run_names_the_missing_runs(work):
    with pytest.raises(RuntimeError, match="not finished"):
        mf.tails([40], gammas=[1.0], batches=[20], steps=5, assemble_only=True, **SMALL)
