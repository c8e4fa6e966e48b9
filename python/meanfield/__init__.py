"""meanfield: wide two-layer networks in the mean-field regime, from Python.

- Measurements on numpy arrays (any framework's particles): ``w2``, ``w1``, ``trimmed_w2``,
  ``sliced_w2``, ``sliced_w2_seeds``, ``law_distance``, ``tail_index``, ``hill``,
  ``coupling_distance``, ``fit_rate``, ``fit_two_terms``, ``replicate_interval``.
- Runs: ``train`` (one run from settings, into the command line's run directory),
  ``open_run`` (a finished run, verified), ``runs``, ``resolve``, ``presets``.
- Studies: ``coupling``, ``chaos``, ``tails``.

Docs: docs/python.md. Errors: ``ValueError`` for arguments that cannot be used (naming the
argument), ``OSError`` for files that cannot be read or written, ``RuntimeError`` for damaged
or diverged runs; Ctrl-C raises KeyboardInterrupt after the runs checkpointed.
"""

from .measures import (
    coupling_distance,
    fit_rate,
    fit_two_terms,
    hill,
    law_distance,
    reference_correction,
    replicate_interval,
    sliced_w2,
    sliced_w2_seeds,
    tail_index,
    theorem1_noise_exponent,
    trimmed_w2,
    w1,
    w2,
)
from .runs import Run, Snapshots, open_run, presets, resolve, runs, train
from .studies import StudyResult, chaos, coupling, tails

__all__ = [
    "Run",
    "Snapshots",
    "StudyResult",
    "chaos",
    "coupling",
    "coupling_distance",
    "fit_rate",
    "fit_two_terms",
    "hill",
    "law_distance",
    "open_run",
    "presets",
    "reference_correction",
    "replicate_interval",
    "resolve",
    "runs",
    "sliced_w2",
    "sliced_w2_seeds",
    "tail_index",
    "tails",
    "theorem1_noise_exponent",
    "train",
    "trimmed_w2",
    "w1",
    "w2",
]
