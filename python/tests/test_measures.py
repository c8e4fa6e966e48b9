"""Each measure against an independent numpy/scipy computation (tolerances stated per test:
float64 sums in a different order agree to ~1e-12 relative; Monte Carlo checks to their
standard error)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

import meanfield as mf


@pytest.fixture()
def rng(request) -> np.random.Generator:
    """A generator of its own per test, seeded by the test's name (order-independent)."""
    return np.random.default_rng(list(request.node.name.encode()))


def w2_exact(a: np.ndarray, b: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> float:
    """W2 between empirical laws from their quantile functions, integrated exactly over
    [lo, hi] on the union of both step functions' breakpoints, renormalised by hi − lo."""
    a, b = np.sort(a), np.sort(b)
    grid = np.union1d(np.arange(len(a) + 1) / len(a), np.arange(len(b) + 1) / len(b))
    grid = np.union1d(grid[(grid > lo) & (grid < hi)], [lo, hi])
    mids = (grid[:-1] + grid[1:]) / 2
    qa = a[np.minimum((mids * len(a)).astype(int), len(a) - 1)]
    qb = b[np.minimum((mids * len(b)).astype(int), len(b) - 1)]
    return math.sqrt(np.sum(np.diff(grid) * (qa - qb) ** 2) / (hi - lo))


def test_w1_equals_scipy_wasserstein_distance(rng):
    for n, m in [(1000, 1000), (1000, 733), (5, 2)]:
        a, b = rng.normal(size=n), rng.standard_t(3, size=m) + 0.3
        assert mf.w1(a, b) == pytest.approx(scipy.stats.wasserstein_distance(a, b), rel=1e-10)


def test_w2_equals_sorted_samples_and_the_exact_quantile_integral(rng):
    a, b = rng.normal(size=2000), rng.normal(0.5, 2.0, size=2000)
    sorted_w2 = math.sqrt(np.mean((np.sort(a) - np.sort(b)) ** 2))
    assert mf.w2(a, b) == pytest.approx(sorted_w2, rel=1e-12)
    # Unequal sizes: the quantile integral on the union grid.
    c = rng.exponential(size=777)
    assert mf.w2(a, c) == pytest.approx(w2_exact(a, c), rel=1e-10)
    # Two Gaussians: W2² = (μ1 − μ2)² + (σ1 − σ2)² in the limit (here within sampling error).
    big_a, big_b = rng.normal(size=200_000), rng.normal(0.5, 2.0, size=200_000)
    assert mf.w2(big_a, big_b) == pytest.approx(math.sqrt(0.25 + 1.0), rel=0.01)


def test_trimmed_w2_is_w2_of_the_middle_quantiles(rng):
    a, b = rng.standard_cauchy(size=1000), rng.normal(size=1500)
    assert mf.trimmed_w2(a, b, 0.0) == pytest.approx(mf.w2(a, b), rel=1e-12)
    assert mf.trimmed_w2(a, b, 0.1) == pytest.approx(w2_exact(a, b, 0.1, 0.9), rel=1e-10)
    # The default trim is 5%.
    assert mf.trimmed_w2(a, b) == pytest.approx(w2_exact(a, b, 0.05, 0.95), rel=1e-10)


def test_sliced_w2_of_a_translation_is_its_length_over_root_d(rng):
    # Projected on θ, a cloud shifted by v is shifted by θ·v, so each 1-D W2 is |θ·v|; over
    # uniform directions E(θ·v)² = |v|²/d. With P directions the mean square has relative
    # standard error about sqrt(2/P · (d−1)/(d+2)) (chi-square-like); 4000 directions: ~1.9%.
    d, v = 8, np.array([3.0, 0, 0, 0, 0, 0, 0, 0])
    cloud = rng.normal(size=(500, d)).astype(np.float32)
    shifted = (cloud + v).astype(np.float32)
    got = mf.sliced_w2(cloud, shifted, projections=4000, seed=1)
    assert got == pytest.approx(3.0 / math.sqrt(d), rel=0.04)
    assert mf.sliced_w2(cloud, cloud, projections=10) == 0.0


def test_sliced_w2_seeds_is_the_mean_and_sample_std_over_seeds(rng):
    a = rng.normal(size=(200, 5)).astype(np.float32)
    b = rng.normal(0.2, 1.0, size=(150, 5)).astype(np.float32)
    each = [mf.sliced_w2(a, b, projections=50, seed=s) for s in (3, 4, 5, 6)]
    got = mf.sliced_w2_seeds(a, b, projections=50, projection_seeds=[3, 4, 5, 6])
    assert got["mean"] == pytest.approx(np.mean(each), rel=1e-12)
    assert got["std"] == pytest.approx(np.std(each, ddof=1), rel=1e-10)
    assert got["seeds"] == 4


def hill_numpy(x: np.ndarray, k: int) -> float:
    """Hill's estimator of |x − median| (numpy's median) from the top k."""
    dev = np.sort(np.abs(x - np.median(x)))[::-1]
    return 1.0 / np.mean(np.log(dev[:k]) - np.log(dev[k]))


def test_hill_equals_numpy_and_finds_a_known_index(rng):
    x = rng.standard_t(1.5, size=40_000)  # Student t with 1.5 degrees of freedom: tail index 1.5
    for k in (50, 200):
        got = mf.hill(x, k)
        assert got["index"] == pytest.approx(hill_numpy(x, k), rel=1e-12)
        half = 1.96 * got["index"] / math.sqrt(k)
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((got["index"] - half, got["index"] + half))
    # At k = 200 of 40000 the estimate is within its interval of the true 1.5.
    h = mf.hill(x, 200)
    assert h["ci_low"] < 1.5 < h["ci_high"]


def test_tail_index_tells_heavy_from_light_and_uses_root_n(rng):
    heavy = rng.pareto(1.2, size=10_000) * rng.choice([-1, 1], size=10_000)
    t = mf.tail_index(heavy)
    assert t["n"] == 10_000 and t["hill"]["k"] == 100  # ⌊√n⌋
    assert t["verdict"] == "heavy" and t["hill"]["ci_high"] < 2
    assert t["moment"] is not None and t["moment"]["xi"] > 0  # ξ = 1/α > 0 for a heavy tail
    light = mf.tail_index(rng.normal(size=10_000))
    assert light["verdict"] == "light" and light["hill"]["ci_low"] > 2
    assert mf.tail_index(heavy, k=400)["hill"]["index"] == pytest.approx(hill_numpy(heavy, 400), rel=1e-12)


def test_law_distance_joins_the_distances_and_says_when_w2_is_meaningless(rng):
    a, b = rng.normal(size=3000), rng.normal(size=3000)
    d = mf.law_distance(a, b)
    assert d["w2"] == pytest.approx(mf.w2(a, b), rel=1e-14)
    assert d["w1"] == pytest.approx(scipy.stats.wasserstein_distance(a, b), rel=1e-10)
    assert d["trimmed_w2"] == pytest.approx(w2_exact(a, b, 0.05, 0.95), rel=1e-10)
    assert d["w2_meaningful"] is True
    cauchy = rng.standard_cauchy(size=3000)
    assert mf.law_distance(cauchy, b)["w2_meaningful"] is False


def test_coupling_distance_equals_numpy(rng):
    times, particles, dim = 6, 300, 4
    a = rng.normal(size=(times, particles, dim)).astype(np.float32)
    b = (a + rng.normal(scale=0.1, size=a.shape)).astype(np.float32)
    sq = np.sum((a.astype(np.float64) - b.astype(np.float64)) ** 2, axis=2)  # [times, particles]
    d = mf.coupling_distance(a, b)
    np.testing.assert_allclose(d["per_time"], sq.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(d["per_particle"], sq.max(axis=0), rtol=1e-6)
    assert d["sup"] == pytest.approx(sq.max(axis=0).mean(), rel=1e-6)
    assert d["particles"] == particles
    assert d["tail"] is not None and d["tail"]["k"] == int(math.sqrt(particles))
    # Over the particles both runs have.
    assert mf.coupling_distance(a, b[:, :100])["particles"] == 100


def test_fit_rate_equals_least_squares_with_a_t_interval(rng):
    n = np.array([250.0, 500, 1000, 2000, 4000])
    d = 3.0 * n**-0.8 * np.exp(rng.normal(scale=0.05, size=5))
    fit = mf.fit_rate(n, d)
    ref = scipy.stats.linregress(np.log(n), np.log(d))
    assert fit["slope"] == pytest.approx(ref.slope, rel=1e-12)
    assert fit["intercept"] == pytest.approx(ref.intercept, rel=1e-12)
    assert fit["slope_std_error"] == pytest.approx(ref.stderr, rel=1e-10)
    half = scipy.stats.t.ppf(0.975, 3) * ref.stderr
    assert (fit["ci_low"], fit["ci_high"]) == pytest.approx((ref.slope - half, ref.slope + half), rel=1e-3)
    assert fit["points"] == 5


def test_replicate_interval_is_the_t_interval_of_the_mean(rng):
    v = rng.normal(-0.5, 0.05, size=10)
    got = mf.replicate_interval(v)
    lo, hi = scipy.stats.t.interval(0.95, 9, loc=v.mean(), scale=scipy.stats.sem(v))
    assert got["mean"] == pytest.approx(v.mean(), rel=1e-12)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((lo, hi), rel=1e-3)


def test_two_term_fit_recovers_the_terms_of_exact_data(rng):
    # D(N) = a N^{−e}/M + b/N exactly, with e = (1 − β)/(1 − α) = 0.25 at β = 0.75, α = 0.
    a, b, batch, e = 2.0, 30.0, 100, 0.25
    widths = [250, 500, 1000, 2000, 4000]
    runs = [[np.full(50, a * n**-e / batch + b / n)] * 2 for n in widths]
    fit = mf.fit_two_terms(widths, runs, beta=0.75, batch=batch, replicates=20)
    assert fit["noise_exponent"] == pytest.approx(e)
    assert fit["a"] == pytest.approx(a, rel=1e-6) and fit["b"] == pytest.approx(b, rel=1e-6)
    assert mf.theorem1_noise_exponent(0.5, 0.75) == pytest.approx(0.5)
    assert mf.theorem1_noise_exponent(0.0, 1.0) == 0.0
    assert mf.reference_correction(0.3) == pytest.approx(0.1)


def test_arrays_are_read_in_place_and_never_changed(rng):
    from meanfield import _args

    a = rng.normal(size=1000)
    # A C-contiguous float64 vector (float32 cloud) is handed over as it is, not copied.
    assert _args.vector(a, "a") is a
    cloud = np.ones((4, 3), dtype=np.float32)
    assert _args.array(cloud, "a", np.float32, 2) is cloud
    # A Fortran-ordered cloud is copied into rows, not read column-major.
    fortran = np.asfortranarray(rng.normal(size=(50, 3)).astype(np.float32))
    assert mf.sliced_w2(fortran, np.ascontiguousarray(fortran), projections=5) == 0.0
    with pytest.raises(ValueError, match="C-contiguous"):
        mf._native.sliced_w2(fortran, fortran, 5, 0)
    before = a.copy()
    mf.w2(a, a[::-1])  # a strided view is copied, not refused
    np.testing.assert_array_equal(a, before)
    assert mf.w2(a, a[::-1].copy()) == 0.0
    assert mf.w2([1.0, 2.0, 3.0], (3, 2, 1)) == 0.0  # lists and tuples are samples too


# A fixed sample for the refusals below.
SAMPLE = np.random.default_rng(1).normal(size=100)


@pytest.mark.parametrize(
    "call, names",
    [
        (lambda: mf.w2("abc", [1.0]), "`a`"),
        (lambda: mf.w2([1.0], np.ones((2, 2))), "`b`"),
        (lambda: mf.w2([], [1.0]), "empty"),
        (lambda: mf.w1([1.0, float("nan")], [1.0]), "non-finite"),
        (lambda: mf.trimmed_w2([1.0], [1.0], 0.5), "trim"),
        (lambda: mf.sliced_w2(np.ones((3, 2)), np.ones((3, 3))), "dimensions"),
        (lambda: mf.sliced_w2(np.ones((3, 2)), np.ones((3, 2)), projections=0), "`projections`"),
        (lambda: mf.sliced_w2_seeds(np.ones((3, 2)), np.ones((3, 2)), projection_seeds=[1, 1]), "twice"),
        (lambda: mf.hill(SAMPLE, 0), "`k`"),
        (lambda: mf.hill(SAMPLE, True), "`k`"),
        (lambda: mf.hill(SAMPLE, 100), "0 < k < n"),
        (lambda: mf.tail_index(SAMPLE, k=-1), "`k`"),
        (lambda: mf.coupling_distance(np.ones((2, 3, 2)), np.ones((3, 3, 2))), "snapshot times"),
        (lambda: mf.coupling_distance(np.ones((3, 2)), np.ones((3, 2))), "`a`"),
        (lambda: mf.fit_rate([1.0, 2.0], [1.0]), "`widths` has 2 values and `distances` 1"),
        (lambda: mf.fit_rate([1.0], [1.0]), "at least 2"),
        (lambda: mf.fit_rate([5, 5, 5], [1.0, 2.0, 3.0]), "distinct widths"),
        (lambda: mf.replicate_interval([1.0]), "at least 2"),
        (lambda: mf.fit_two_terms([10, 20], [[[1.0]]], beta=0.5, batch=10), "`widths`"),
        (lambda: mf.fit_two_terms([10, 20], [[[1.0]], [[0.5]]], beta=0.5, batch=0), "`batch`"),
        (lambda: mf.theorem1_noise_exponent("a", 0.5), "`alpha`"),
        (lambda: mf.theorem1_noise_exponent(1.0, 0.5), "α in \\[0, 1\\)"),
        (lambda: mf.reference_correction(-0.3), "reference_share"),
        # Not real numbers: complex, strings, 0-d values, booleans.
        (lambda: mf.w2(np.array([1 + 5j, 2]), [1.0, 2.0]), "real numbers"),
        (lambda: mf.w2("12", [1.0]), "real numbers"),
        (lambda: mf.w2(np.float64(3), [1.0]), "0 dimension"),
        (lambda: mf.w2([True, False], [1.0]), "real numbers"),
        # Finite values whose differences overflow, and values beyond float32.
        (lambda: mf.w2([1e200], [-1e200]), "overflow"),
        (lambda: mf.w1([1.7e308], [-1.7e308]), "overflow"),
        (lambda: mf.sliced_w2(np.full((3, 3), 1e39), np.ones((3, 3))), "beyond float32"),
        (lambda: mf.replicate_interval([1e308, 1e308]), "overflow"),
        (lambda: mf.replicate_interval([1.0, float("nan"), 2.0]), "non-finite"),
        # Ties at the top leave no tail to estimate (an index of infinity otherwise).
        (lambda: mf.hill([1.0, 2.0, 3.0], 1), "no tail"),
        (lambda: mf.hill(np.r_[np.zeros(40), 5 * np.ones(10)], 5), "no tail"),
        # Counts beyond what the library takes, or that would change nothing.
        (lambda: mf.sliced_w2(np.ones((3, 2)), np.ones((3, 2)), seed=2**64), "`seed`"),
        (lambda: mf.sliced_w2(np.ones((3, 2)), np.ones((3, 2)), projections=10**12), "at most"),
        (lambda: mf.sliced_w2_seeds(np.ones((3, 2)), np.ones((3, 2)), projection_seeds=[]), "empty"),
        (lambda: mf.sliced_w2_seeds(np.ones((3, 2)), np.ones((3, 2)), projection_seeds=5), "`projection_seeds`"),
        (lambda: mf.trimmed_w2([1.0], [1.0], 10**400), "`trim`"),
        (lambda: mf.fit_two_terms([10, 20], [[[1.0]], [[0.5]]], beta=0.5, batch=10, replicates=0), "replicates"),
        (lambda: mf.fit_two_terms([10, 10], [[[1.0]], [[0.5]]], beta=0.5, batch=10), "each width once"),
        (lambda: mf.fit_two_terms([10, 20], [[[1.0]], [[0.5]]], beta=0.5, batch=10, alpha=1.0), "α in"),
        (lambda: mf.fit_two_terms([10, 20], [[[1.0]], [[0.5]]], beta=0.5, batch=10, reference_share=-1.0), "reference_share"),
        (lambda: mf.fit_two_terms([10, 20], [1, 2], beta=0.5, batch=10), "`runs`"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, names):
    with pytest.raises(ValueError, match=names):
        call()
