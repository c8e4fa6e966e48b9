"""The chaos measures of ``meanfield-chaos`` on numpy arrays.

A *sample* is one coordinate across particles (a 1-D array, read as float64); a *cloud* is
particles by coordinates (a 2-D array, read as float32, the weights' type); a *trajectory* is
one cloud per time of a grid (3-D, [times, particles, dim]). Arrays already of that type and
contiguous are read in place; others are converted once. Every function raises ``ValueError``,
naming the argument, for what it cannot measure (empty samples, non-finite values, clouds of
different dimensions); none of them changes its inputs.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, TypedDict

import numpy as np
from numpy.typing import ArrayLike

from . import _args, _native


class HillPoint(TypedDict):
    k: int
    index: float
    ci_low: float
    ci_high: float


class MomentPoint(TypedDict):
    k: int
    xi: float
    ci_low: float
    ci_high: float


class TailIndex(TypedDict):
    n: int
    hill: HillPoint
    moment: Optional[MomentPoint]
    verdict: str
    hill_plot: list


class LawDistance(TypedDict):
    w2: float
    w1: float
    trimmed_w2: float
    tail: Optional[TailIndex]
    reference_tail: Optional[TailIndex]
    w2_meaningful: bool


class SlicedW2(TypedDict):
    mean: float
    std: float
    seeds: int


class CouplingDistance(TypedDict):
    per_time: np.ndarray
    sup: float
    particles: int
    tail: Optional[HillPoint]
    per_particle: np.ndarray


class RateFit(TypedDict):
    slope: float
    intercept: float
    slope_std_error: float
    ci_low: float
    ci_high: float
    points: int


class ReplicateInterval(TypedDict):
    mean: float
    ci_low: float
    ci_high: float
    values: list


def w2(a: ArrayLike, b: ArrayLike) -> float:
    """The exact Wasserstein-2 distance between the empirical laws of two 1-D samples (any
    sizes): the L2 distance between their quantile functions, in float64."""
    return _native.w2(_args.vector(a, "a"), _args.vector(b, "b"))


def w1(a: ArrayLike, b: ArrayLike) -> float:
    """The exact Wasserstein-1 distance between two 1-D samples' empirical laws (finite for
    any law with a mean: the distance to use for heavy tails)."""
    return _native.w1(_args.vector(a, "a"), _args.vector(b, "b"))


def trimmed_w2(a: ArrayLike, b: ArrayLike, trim: float = _native.LAW_TRIM) -> float:
    """W2 between the quantile functions on [trim, 1 − trim] only, renormalised: a W2 that
    stays finite for heavy tails. ``trim`` in [0, 0.5)."""
    return _native.trimmed_w2(_args.vector(a, "a"), _args.vector(b, "b"), _args.real(trim, "trim"))


def sliced_w2(
    a: ArrayLike, b: ArrayLike, projections: int = _native.DEFAULT_PROJECTIONS, seed: int = 0
) -> float:
    """The sliced Wasserstein-2 distance between two clouds [particles, dim] of the same dim:
    the root mean square over ``projections`` random unit directions (from ``seed``) of the
    exact 1-D W2 of the projections."""
    return _native.sliced_w2(
        _args.array(a, "a", np.float32, 2),
        _args.array(b, "b", np.float32, 2),
        _args.count(projections, "projections", 1),
        _args.count(seed, "seed"),
    )


def sliced_w2_seeds(
    a: ArrayLike,
    b: ArrayLike,
    projections: int = _native.DEFAULT_PROJECTIONS,
    projection_seeds: Sequence[int] = tuple(_native.DEFAULT_PROJECTION_SEEDS),
) -> SlicedW2:
    """The sliced W2 for each of ``projection_seeds``: their mean and sample standard
    deviation (the spread of the estimate, not of the laws). Each seed once."""
    return _native.sliced_w2_seeds(
        _args.array(a, "a", np.float32, 2),
        _args.array(b, "b", np.float32, 2),
        _args.count(projections, "projections", 1),
        _args.counts(projection_seeds, "projection_seeds"),
    )


def law_distance(sample: ArrayLike, reference: ArrayLike) -> LawDistance:
    """Two laws compared as a report needs them: W2, W1, trimmed W2 (5% cut from each end),
    the tail index of each (``None`` where it cannot be estimated, e.g. too few values) and
    ``w2_meaningful``: False when a tail that could be estimated is not light, since such a law
    may have no finite variance and W2 cannot converge."""
    return _native.law_distance(_args.vector(sample, "sample"), _args.vector(reference, "reference"))


def tail_index(values: ArrayLike, k: Optional[int] = None) -> TailIndex:
    """The tail of a sample: Hill's index of |x − median| from the top ``k`` order statistics
    (default ⌊√n⌋, at least 10 and at most n/2) with its 95% interval, the moment estimator (``None`` where it is
    undefined), the verdict (``"light"``: the interval lies above 2, a finite variance;
    ``"straddles"``: it contains 2; ``"heavy"``: below 2, no finite variance, so W2 cannot
    converge) and Hill's plot over k. Needs 0 < k < n and the (k+1)-th largest deviation
    above 0."""
    kk = None if k is None else _args.count(k, "k", 1)
    return _native.tail_index(_args.vector(values, "values"), kk)


def hill(values: ArrayLike, k: int) -> HillPoint:
    """Hill's tail index of |x − median| from the top ``k`` order statistics (1 ≤ k < n), with
    its 95% interval index·(1 ± 1.96/√k)."""
    return _native.hill(_args.vector(values, "values"), _args.count(k, "k", 1))


def coupling_distance(a: ArrayLike, b: ArrayLike) -> CouplingDistance:
    """The synchronous-coupling distance of Theorems 1 and 2 between two coupled trajectories
    [times, particles, dim] (particle k of one run against particle k of the other, over the
    particles both have): ``per_time[j]`` = mean_k |Δ_k(t_j)|², ``sup`` = mean_k max_j
    |Δ_k(t_j)|² (the theorems' E sup_t), ``per_particle`` the max_j |Δ_k(t_j)|², and ``tail``
    Hill's index of the displacements (D cannot converge when its interval is not above 2)."""
    return _native.coupling_distance(
        _args.array(a, "a", np.float32, 3), _args.array(b, "b", np.float32, 3)
    )


def fit_rate(widths: ArrayLike, distances: ArrayLike) -> RateFit:
    """The least-squares slope of log(distance) against log(width), with its standard error
    and 95% (Student t) interval, over the points with both positive and finite: at least two
    at distinct widths; with exactly two the standard error and interval are NaN (no residual
    degrees of freedom)."""
    return _native.fit_rate(_args.vector(widths, "widths"), _args.vector(distances, "distances"))


def replicate_interval(values: ArrayLike) -> ReplicateInterval:
    """The mean of independent estimates (one per replicate family) and its 95% Student t
    interval. At least two, all finite."""
    return _native.replicate_interval(_args.vector(values, "values"))


def theorem1_noise_exponent(alpha: float, beta: float) -> float:
    """Theorem 1's exponent e of its noise term N^{−e}/M: (1 − β)/(1 − α) for β < 1, and 0 at
    β ≥ 1 (Theorem 2's bound has no noise term in N)."""
    return _native.theorem1_noise_exponent(_args.real(alpha, "alpha"), _args.real(beta, "beta"))


def reference_correction(reference_share: float) -> float:
    """The part of a width's D that is the finite reference's own error, from the measured
    D(N_ref/2, N_ref): a third of it (independent errors, D ∝ 1/N near N_ref)."""
    return _native.reference_correction(_args.real(reference_share, "reference_share"))


def fit_two_terms(
    widths: Sequence[int],
    runs: Sequence[Sequence[ArrayLike]],
    *,
    beta: float,
    batch: int,
    alpha: float = 0.0,
    reference_share: Optional[float] = None,
    replicates: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Fits D(N) = a·N^{−e}/M + b/N (Theorem 1's form, e = (1 − β)/(1 − α)) to the runs of
    each width: ``runs[i]`` holds, for each run at ``widths[i]``, its per-particle sup
    distances (``coupling_distance(...)["per_particle"]``). Non-negative least squares weighted
    by 1/D², with bootstrap 95% intervals for a and b (``replicates`` resamplings of particles
    and runs, from ``seed``); ``reference_share`` (D(N_ref/2, N_ref)) takes the reference's own
    error out first. Needs two widths whose D lies above that correction."""
    widths = _args.counts(widths, "widths", 1)
    try:
        runs = [list(rs) for rs in runs]
    except TypeError:
        raise ValueError("`runs` must hold, for each width, a list of runs (each an array of per-particle distances)") from None
    data = [[_args.vector(r, f"runs[{i}][{j}]").tolist() for j, r in enumerate(rs)] for i, rs in enumerate(runs)]
    exponent = theorem1_noise_exponent(alpha, beta)
    share = None if reference_share is None else _args.real(reference_share, "reference_share")
    return _native.fit_two_terms(
        widths,
        data,
        exponent,
        _args.count(batch, "batch", 1),
        share,
        _args.count(replicates, "replicates"),
        _args.count(seed, "seed"),
    )
