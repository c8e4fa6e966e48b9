"""The coupling, chaos and tails studies from Python: the same studies as the commands
``experiments coupling``, ``chaos`` and ``tails`` (the same presets, grids, checks, run
directories and results folder, whose report.md, CSVs and charts they write), returning their
tables.

Each study trains its runs (reusing finished ones; ``force`` trains them again), or with
``assemble_only`` only assembles from finished runs. Settings: the study's preset <
``config`` < keyword arguments; the settings a study sets itself (``width`` where it varies
the widths, ``out``, ...) raise ``ValueError`` saying which list to give instead. Ctrl-C stops
the runs in progress with checkpoints and raises KeyboardInterrupt; calling again continues.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _args, _native
from .runs import Config

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class StudyResult:
    """A study's results: ``out`` (its folder: report.md, CSVs, charts), ``tables`` (name →
    list of row dicts, as its CSVs hold them), ``fits`` (coupling and chaos: the rate fits as
    fits.json holds them; tails: ``crossings``, where the index crosses 2), ``failed_runs``
    (each also a ``RuntimeWarning``) and ``seconds``."""

    out: Path
    tables: dict
    fits: Any
    failed_runs: list
    seconds: float

    def table(self, name: str) -> dict:
        """The table ``name`` as columns: numpy arrays for numeric columns, lists otherwise."""
        if name not in self.tables:
            raise ValueError(f"`name`: no table {name!r}; this study has {sorted(self.tables)}")
        rows = self.tables[name]
        columns: dict = {}
        for key in rows[0] if rows else []:
            values = [r.get(key) for r in rows]
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            columns[key] = np.array(values, dtype=float) if numeric else values
        return columns

    def to_pandas(self, name: str):
        """The table ``name`` as a pandas DataFrame (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_pandas needs pandas: pip install pandas (or use .table(name))") from None
        if name not in self.tables:
            raise ValueError(f"`name`: no table {name!r}; this study has {sorted(self.tables)}")
        return pandas.DataFrame(self.tables[name])


def _common(name: str, preset, config, out, jobs, force, assemble_only, no_fetch, quiet, settings, shown) -> dict:
    c, f = _args.config_source(config)
    return {
        "preset": _args.name_or_none(preset, "preset"),
        "config": c,
        "config_file": f,
        "keywords": _args.settings(settings, "settings"),
        "jobs": _args.count(jobs, "jobs", 1),
        "out": None if out is None else os.fspath(out),
        "force": _args.flag(force, "force"),
        "assemble_only": _args.flag(assemble_only, "assemble_only"),
        "no_fetch": _args.flag(no_fetch, "no_fetch"),
        "quiet": _args.flag(quiet, "quiet"),
        "command": _args.call(name, preset=preset, config=config, out=out, **shown, **settings),
    }


def _result(r: dict, tables: dict, fits: Any) -> StudyResult:
    """The result; runs that failed (the command line exits non-zero for them) are a
    ``RuntimeWarning`` naming each, with the report listing them."""
    if r["failed_runs"]:
        warnings.warn(
            f"{len(r['failed_runs'])} run(s) of the study failed (listed in {r['out']}/report.md): "
            + "; ".join(r["failed_runs"]),
            RuntimeWarning,
            stacklevel=3,
        )
    return StudyResult(Path(r["out"]), tables, fits, r["failed_runs"], r["seconds"])


def _list(values: Optional[Sequence[Any]], name: str) -> Optional[list]:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"`{name}` must be a list of numbers, got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"`{name}` must be a list of numbers, got {v!r} in it")
        out.append(repr(v.item() if isinstance(v, np.generic) else v))
    return out


def coupling(
    widths: Optional[Sequence[int]] = None,
    *,
    data_seeds: Optional[Sequence[int]] = None,
    reference_width: Optional[int] = None,
    shared_noise: bool = False,
    batch_sweep: Sequence[int] = (),
    batch_sweep_width: Optional[int] = None,
    preset: Optional[str] = None,
    config: Config = None,
    out: Optional[PathLike] = None,
    jobs: int = 1,
    force: bool = False,
    assemble_only: bool = False,
    no_fetch: bool = False,
    quiet: bool = True,
    **settings: Any,
) -> StudyResult:
    """The synchronous-coupling study of Theorems 1 and 2 (``experiments coupling``): runs of
    each width from the same initial particles as a reference of width ``reference_width``
    (default 8 × the largest), D(N) = E sup_t |W^{k,N}_t − W^{k,ref}_t|² at each width, its
    slope against N with a 95% interval and the two-term fit in the theorems' form. Defaults:
    preset ``chaos-quick``, widths 250…4000, data seeds 0 and 1 (with ``shared_noise``, the
    reference's, 1000000; with ``shared_noise`` and several data seeds, each seed is a replicate
    family with its own reference on its noise). ``batch_sweep`` adds D against M at
    ``batch_sweep_width``.

    Tables: ``times`` (D at each snapshot time of each run), ``sups`` (D per run).
    """
    shown = dict(widths=widths, data_seeds=data_seeds, reference_width=reference_width,
                 shared_noise=shared_noise or None, batch_sweep=list(batch_sweep) or None,
                 batch_sweep_width=batch_sweep_width)
    common = _common("coupling", preset, config, out, jobs, force, assemble_only, no_fetch, quiet, settings, shown)
    r = _native.coupling(
        common,
        _list(widths, "widths"),
        _list(data_seeds, "data_seeds"),
        None if reference_width is None else _args.count(reference_width, "reference_width", 1),
        _args.flag(shared_noise, "shared_noise"),
        _args.counts(batch_sweep, "batch_sweep", 1),
        None if batch_sweep_width is None else _args.count(batch_sweep_width, "batch_sweep_width", 1),
    )
    return _result(r, {"times": r["times"], "sups": r["sups"]}, r["fits"])


def chaos(
    widths: Optional[Sequence[int]] = None,
    *,
    seeds: Optional[Sequence[int]] = None,
    reference: Optional[PathLike] = None,
    projections: Optional[int] = None,
    projection_seeds: Optional[Sequence[int]] = None,
    coordinate: int = 0,
    preset: Optional[str] = None,
    config: Config = None,
    out: Optional[PathLike] = None,
    jobs: int = 1,
    force: bool = False,
    assemble_only: bool = False,
    no_fetch: bool = False,
    quiet: bool = True,
    **settings: Any,
) -> StudyResult:
    """The propagation-of-chaos study (``experiments chaos``): runs of each width and seed,
    the sliced W2 (``projections`` directions, default 200, spread over ``projection_seeds``,
    default 0, 1, 2) and the W2 of hidden ``coordinate`` between seeds and to ``reference``
    (default: the largest width's first seed), each with its slope against N. Defaults: preset
    ``chaos-quick``, widths 250…8000, seeds 0, 1, 2.

    Tables: ``rows`` (one distance per width, kind and measure).
    """
    shown = dict(widths=widths, seeds=seeds, reference=reference, projections=projections,
                 projection_seeds=projection_seeds, coordinate=coordinate or None)
    common = _common("chaos", preset, config, out, jobs, force, assemble_only, no_fetch, quiet, settings, shown)
    r = _native.chaos(
        common,
        _list(widths, "widths"),
        _list(seeds, "seeds"),
        None if reference is None else os.fspath(reference),
        None if projections is None else _args.count(projections, "projections", 1),
        None if projection_seeds is None else _args.counts(projection_seeds, "projection_seeds"),
        _args.count(coordinate, "coordinate"),
    )
    return _result(r, {"rows": r["rows"]}, r["fits"])


def tails(
    widths: Optional[Sequence[int]] = None,
    *,
    gammas: Optional[Sequence[float]] = None,
    batches: Optional[Sequence[int]] = None,
    coordinate: int = 0,
    preset: Optional[str] = None,
    config: Config = None,
    out: Optional[PathLike] = None,
    jobs: int = 1,
    force: bool = False,
    assemble_only: bool = False,
    no_fetch: bool = False,
    quiet: bool = True,
    **settings: Any,
) -> StudyResult:
    """The tails study (``experiments tails``): Hill's tail index of hidden ``coordinate``
    across the particles of each run, over widths, step sizes γ and batches M, with the
    verdict on W2 (light, straddles, heavy) and where the index crosses 2. Defaults: preset
    ``tails`` (the paper's MNIST protocol at β = 1), widths 5000 and 10000, γ 1, 0.5, 0.3, 0.1, M 100
    (the command's lists).

    Tables: ``rows`` (one per run), ``hill`` (Hill's plot: index against k per run);
    ``fits`` holds ``crossings``, the lines saying where the tail turns heavy.
    """
    shown = dict(widths=widths, gammas=gammas, batches=batches, coordinate=coordinate or None)
    common = _common("tails", preset, config, out, jobs, force, assemble_only, no_fetch, quiet, settings, shown)
    r = _native.tails(
        common,
        _list(widths, "widths"),
        _list(gammas, "gammas"),
        _list(batches, "batches"),
        _args.count(coordinate, "coordinate"),
    )
    return _result(r, {"rows": r["rows"], "hill": r["hill"]}, {"crossings": r["crossings"]})
