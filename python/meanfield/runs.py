"""Runs from Python: train one run from settings (the keys of ``config.toml``, resolved and
checked by the same code as the command line, into the same run directory), and open a
finished run directory, every file verified against its digest first.

Settings layer as on the command line: the program's defaults < ``preset`` (a file of
``configs/``, e.g. ``"mnist"``, what ``experiments mnist`` starts from) < ``config`` (a dict of
config.toml's keys, or the path of such a TOML file) < keyword arguments. A key that is not a
setting, or a value out of its range, raises ``ValueError`` naming it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np

from . import _args, _native

Config = Union[Mapping[str, Any], str, "os.PathLike[str]", None]


@dataclass(frozen=True)
class Snapshots:
    """A run's particles at the K + 1 times t_j = jT/K (``snapshots`` K): ``time[j]``,
    ``step[j]``, ``hidden[j]`` [rows, p] and ``readout[j]`` [rows, C] float32."""

    time: np.ndarray
    step: np.ndarray
    hidden: list
    readout: list

    def particles(self) -> np.ndarray:
        """The hidden rows as a trajectory [times, rows, p] (what ``coupling_distance`` takes)."""
        return np.stack(self.hidden)


@dataclass(frozen=True)
class Run:
    """A finished run, verified: ``dir``, its setting ``config`` (config.toml as a dict),
    ``summary`` (summary.json), ``metrics`` (metrics.csv as one numpy column per field, NaN
    where a row has no value). Weights are read on demand, memory-mapped."""

    dir: Path
    config: dict
    summary: dict
    metrics: dict
    outcome: Optional[str] = None
    _weights: dict = field(default_factory=dict, repr=False)

    def weights(self, name: str = "hidden", mmap: bool = True) -> np.ndarray:
        """The weight file ``name`` (``hidden`` [N, p], ``readout`` [N, C], and with averaging
        ``hidden_avg``, ``readout_avg``) as a read-only float32 array, memory-mapped unless
        ``mmap`` is False."""
        if name not in self._weights:
            raise ValueError(
                f"`name`: {self.dir} has no {name!r} weights; it has {sorted(self._weights)}"
            )
        if _args.flag(mmap, "mmap"):
            return np.load(self._weights[name], mmap_mode="r")
        array = np.load(self._weights[name])
        array.setflags(write=False)  # read-only either way: the run's files are not to change
        return array

    @property
    def hidden(self) -> np.ndarray:
        """The final hidden weights W [N, p] (memory-mapped)."""
        return self.weights("hidden")

    @property
    def readout(self) -> np.ndarray:
        """The final readout [N, C] (memory-mapped)."""
        return self.weights("readout")

    def snapshots(self) -> Snapshots:
        """The particles at the snapshot times (the run must have been trained with
        ``snapshots``); files verified again before they are read."""
        index, hidden, readout = _native.snapshots(str(self.dir))
        return Snapshots(
            time=np.array([p["time"] for p in index]),
            step=np.array([p["step"] for p in index], dtype=np.uint64),
            hidden=hidden,
            readout=readout,
        )


def open_run(path: Union[str, "os.PathLike[str]"]) -> Run:
    """The finished run in ``path``, after every file it wrote is checked against the size
    and BLAKE3 digest its manifest recorded. A damaged, unfinished or foreign folder raises
    ``RuntimeError`` naming the file and what differs; a path that is not a folder
    ``FileNotFoundError``."""
    d = _native.open_run(os.fspath(path))
    return Run(
        dir=Path(d["dir"]),
        config=d["config"],
        summary=d["summary"],
        metrics=d["metrics"],
        _weights=d["weights"],
    )


def resolve(config: Config = None, *, preset: Optional[str] = None, **settings: Any) -> tuple:
    """The complete setting these arguments give (config.toml's dict) and the run directory
    ``train`` would write, without training."""
    c, f = _args.config_source(config)
    table, out = _native.resolve(_args.name_or_none(preset, "preset"), c, f, _args.settings(settings, "settings"))
    return table, Path(out)


def train(
    config: Config = None,
    *,
    preset: Optional[str] = None,
    quiet: bool = True,
    force: bool = False,
    resume: bool = False,
    wait: bool = False,
    no_fetch: bool = False,
    **settings: Any,
) -> Run:
    """Trains one run and returns it opened (or reuses the finished run of the same setting,
    as the command line does: ``outcome`` says ``"trained"`` or ``"reused"``).

    ``preset``, ``config`` and the keyword ``settings`` give the setting (module docstring);
    ``quiet`` False prints progress on stderr; ``force`` trains again over a finished run or
    checkpoint of this setting (files of the program's only); ``resume`` requires a checkpoint
    to continue from; ``wait`` waits for another process training the same run and reuses its
    result; ``no_fetch`` does not fetch missing MNIST, Fashion-MNIST or CIFAR-10 data (the
    mirror of ``$MEANFIELD_CIFAR10_URL``/``_MD5`` is used when set, as on the command line).
    What the setting itself warns of (``steps=0`` takes no step, …) is a ``UserWarning``.

    Ctrl-C (KeyboardInterrupt) stops the run after its current step with a checkpoint, then
    raises KeyboardInterrupt saying where the checkpoint is; the same call continues it. The
    GIL is released while training.
    """
    c, f = _args.config_source(config)
    d, outcome, notes = _native.train(
        _args.name_or_none(preset, "preset"),
        c,
        f,
        _args.settings(settings, "settings"),
        _args.flag(quiet, "quiet"),
        _args.flag(force, "force"),
        _args.flag(resume, "resume"),
        _args.flag(wait, "wait"),
        _args.flag(no_fetch, "no_fetch"),
    )
    for note in notes:
        warnings.warn(note, stacklevel=2)
    run = open_run(d)
    return Run(
        dir=run.dir,
        config=run.config,
        summary=run.summary,
        metrics=run.metrics,
        outcome=outcome,
        _weights=run._weights,
    )


def runs(path: Union[str, "os.PathLike[str]"] = "runs") -> list:
    """Every run directory under ``path`` (or ``path`` itself), as ``experiments runs`` lists
    it: setting, status (finished, diverged, checkpoint at step S, unfinished), steps, and
    every problem found in its files."""
    return _native.list_runs(os.fspath(path))


def presets() -> list:
    """The names of the presets (``configs/*.toml``)."""
    return _native.presets()
