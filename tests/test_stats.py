"""cnn_tui.experiments.stats against scipy.stats, figure by figure (scipy is a test dependency
only; the module itself uses numpy and math)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnn_tui.experiments import stats

scipy_stats = pytest.importorskip("scipy.stats", reason="scipy is in the test extra")

DFS = [1, 1.5, 2, 3, 4.7, 9, 30, 120, 1000]


def close(a, b, rel=1e-9, abs_=1e-12):
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


@pytest.mark.parametrize("df", DFS)
def test_t_distribution_equals_scipy(df):
    for t in (-40, -6, -2.2, -0.4, 0.0, 0.05, 1.0, 2.6, 9.0, 60.0):
        assert close(stats.t_cdf(t, df), scipy_stats.t.cdf(t, df)), (t, df)
        assert close(stats.t_sf(t, df), scipy_stats.t.sf(t, df)), (t, df)
    for q in (1e-4, 0.025, 0.2, 0.5, 0.77, 0.975, 0.9995):
        assert close(stats.t_ppf(q, df), scipy_stats.t.ppf(q, df), rel=1e-9, abs_=1e-9), (q, df)


def test_incomplete_beta_equals_scipy():
    special = pytest.importorskip("scipy.special")
    for a, b in ((0.5, 0.5), (2.0, 3.0), (15.0, 0.5), (0.7, 40.0)):
        for x in (1e-6, 0.1, 0.5, 0.93, 0.999999):
            assert close(stats.betainc(a, b, x), special.betainc(a, b, x), rel=1e-10, abs_=1e-14)


SAMPLES = [
    ([0.912, 0.918, 0.905, 0.931], [0.894, 0.902, 0.911, 0.883, 0.871]),
    ([0.95, 0.96, 0.97], [0.955, 0.95, 0.951]),
    (list(np.linspace(0.8, 0.9, 12)), list(np.linspace(0.79, 0.93, 7) ** 1.1)),
]


@pytest.mark.parametrize("a,b", SAMPLES)
def test_mean_ci_equals_scipy(a, b):
    for x in (a, b):
        ours = stats.mean_ci(x)
        low, high = scipy_stats.t.interval(0.95, len(x) - 1, loc=np.mean(x),
                                           scale=scipy_stats.sem(x))
        assert close(ours.mean, np.mean(x)) and close(ours.low, low) and close(ours.high, high)
        assert close(ours.sd, np.std(x, ddof=1))
        ours90 = stats.mean_ci(x, 0.9)
        low90, _ = scipy_stats.t.interval(0.9, len(x) - 1, loc=np.mean(x), scale=scipy_stats.sem(x))
        assert close(ours90.low, low90)


@pytest.mark.parametrize("a,b", SAMPLES)
def test_welch_equals_scipy(a, b):
    ours = stats.welch_test(a, b)
    ref = scipy_stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert close(ours.t, ref.statistic) and close(ours.p, ref.pvalue) and close(ours.df, ref.df)
    assert close(ours.diff, np.mean(a) - np.mean(b))
    assert close(ours.low, ci.low) and close(ours.high, ci.high)


@pytest.mark.parametrize("a,b", SAMPLES)
def test_paired_equals_scipy(a, b):
    n = min(len(a), len(b))
    ours = stats.paired_test(a[:n], b[:n])
    ref = scipy_stats.ttest_rel(a[:n], b[:n])
    ci = ref.confidence_interval(0.95)
    assert close(ours.t, ref.statistic) and close(ours.p, ref.pvalue) and ours.df == n - 1
    assert close(ours.low, ci.low) and close(ours.high, ci.high)


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_nadeau_bengio_corrected_test_equals_its_definition_with_scipy(k):
    rng = np.random.default_rng(k)
    a = 0.9 + 0.01 * rng.standard_normal(2 * k)  # 2 repetitions x k folds
    b = a - 0.004 + 0.006 * rng.standard_normal(2 * k)
    ours = stats.corrected_paired_test(a, b, 1 / (k - 1))
    d = a - b
    n = d.size
    se = math.sqrt((1 / n + 1 / (k - 1)) * np.var(d, ddof=1))
    t = d.mean() / se
    assert close(ours.t, t)
    assert close(ours.p, 2 * scipy_stats.t.sf(abs(t), n - 1))
    half = scipy_stats.t.ppf(0.975, n - 1) * se
    assert close(ours.low, d.mean() - half) and close(ours.high, d.mean() + half)
    # the correction only widens: never more confident than the plain paired test
    assert ours.p >= scipy_stats.ttest_rel(a, b).pvalue
    # with no correction it is the paired test
    plain = stats.corrected_paired_test(a, b, 0.0)
    assert close(plain.p, scipy_stats.ttest_rel(a, b).pvalue)


def _holm_by_definition(ps):
    m = len(ps)
    order = np.argsort(ps, kind="stable")
    out = np.empty(m)
    best = 0.0
    for rank, i in enumerate(order):
        best = max(best, min(1.0, (m - rank) * ps[i]))
        out[i] = best
    return out


def test_holm_adjustment():
    ps = [scipy_stats.ttest_ind(a, b, equal_var=False).pvalue for a, b in SAMPLES] + [0.04, 0.5]
    assert np.allclose(stats.holm(ps), _holm_by_definition(np.array(ps)))
    # worked example (Holm 1979 style): 0.01, 0.04, 0.03, 0.005 -> 0.03, 0.06, 0.06, 0.02
    assert np.allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert stats.holm([]) == [] and stats.holm([0.7]) == [0.7]
    assert stats.holm([0.6, 0.9]) == [1.0, 1.0]


def test_degenerate_samples():
    assert stats.mean_ci([0.9]).low is None
    assert stats.welch_test([0.9], [0.8, 0.7]) is None
    assert stats.paired_test([0.9], [0.8]) is None
    same = stats.welch_test([0.5, 0.5], [0.5, 0.5])
    assert same.t == 0 and same.p == 1
    apart = stats.paired_test([0.6, 0.7], [0.5, 0.6])  # every difference 0.1: no spread
    assert math.isinf(apart.t) and apart.p == 0
    with pytest.raises(ValueError):
        stats.paired_test([1, 2], [1])
    with pytest.raises(ValueError):
        stats.t_ppf(1.0, 3)
