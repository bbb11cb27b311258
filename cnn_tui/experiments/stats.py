"""Small statistics for experiments: stdlib math and numpy, no scipy.

- `t_cdf`, `t_sf`, `t_ppf`: Student's t distribution (any real degrees of freedom, so Welch's
  fractional ones too), through the regularised incomplete beta function (a Lentz continued
  fraction) and its inversion by bisection;
- `mean_ci`: a mean with its Student-t confidence interval;
- `welch_test`: two independent samples (seeds), unequal variances;
- `paired_test`: two samples paired item by item;
- `corrected_paired_test`: the Nadeau-Bengio corrected resampled t-test (Nadeau & Bengio 2003;
  Bouckaert & Frank 2004 for repeated k-fold): the runs of a k-fold comparison share training
  data, so the plain paired test's variance is too small; it is inflated by
  (1/n + n_test/n_train) instead of 1/n;
- `holm`: Holm's step-down adjustment of p-values for several comparisons against one baseline.

Each test returns a `TestResult` with the statistic, degrees of freedom, two-sided p-value and
the confidence interval of the difference. tests/test_stats.py checks every figure against
scipy.stats.

Degenerate samples: with fewer than two values (or pairs) there is no interval and no test
(None). A difference with zero spread gives t = +-inf and p = 0 (or t = 0 and p = 1 when the
difference itself is 0), where scipy returns nan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPS = 1e-15
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom."""
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_cdf(t: float, df: float) -> float:
    """P(T <= t)."""
    return 1.0 - t_sf(t, df) if t >= 0 else t_sf(-t, df)


def t_ppf(q: float, df: float) -> float:
    """The t with P(T <= t) = q (0 < q < 1)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    if q == 0.5:
        return 0.0
    upper = q > 0.5
    tail = 1.0 - q if upper else q  # P(T > t) for the positive t we look for
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > tail:
        lo, hi = hi, hi * 2.0
        if hi > 1e300:
            break
    for _ in range(200):  # bisection to full double precision
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_sf(mid, df) > tail:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    return t if upper else -t


def _array(values: Sequence[float]):
    import numpy as np
    arr = np.asarray(list(values), dtype=float)
    if arr.ndim != 1:
        raise ValueError("a sample must be a flat sequence of numbers")
    return arr


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval (`low`, `high`; None for fewer than 2 values)."""

    mean: float
    low: float | None
    high: float | None
    n: int
    sd: float | None
    confidence: float = 0.95

    @property
    def half_width(self) -> float | None:
        return None if self.high is None else self.high - self.mean

    def to_dict(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n,
                "sd": self.sd, "confidence": self.confidence}


@dataclass(frozen=True)
class TestResult:
    """A two-sided t-test of a difference (first minus second sample)."""

    test: str  # welch, paired, corrected-paired
    diff: float  # mean difference
    t: float
    df: float
    p: float
    low: float  # confidence interval of the difference
    high: float
    n: int
    confidence: float = 0.95

    def to_dict(self) -> dict:
        return {"test": self.test, "diff": self.diff, "t": self.t, "df": self.df, "p": self.p,
                "low": self.low, "high": self.high, "n": self.n, "confidence": self.confidence}


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean and its Student-t interval: mean +- t(1 - (1 - c)/2, n - 1) * sd / sqrt(n)."""
    x = _array(values)
    n = int(x.size)
    if n == 0:
        raise ValueError("no values")
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, None, None, n, None, confidence)
    sd = float(x.std(ddof=1))
    half = t_ppf(1.0 - (1.0 - confidence) / 2.0, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, sd, confidence)


def _result(test: str, diff: float, se: float, df: float, n: int, confidence: float) -> TestResult:
    if se > 0:
        t = diff / se
        p = min(1.0, 2.0 * t_sf(abs(t), df))
    elif diff == 0:
        t, p = 0.0, 1.0
    else:
        t, p = math.copysign(math.inf, diff), 0.0
    half = t_ppf(1.0 - (1.0 - confidence) / 2.0, df) * se
    return TestResult(test, diff, t, df, p, diff - half, diff + half, n, confidence)


def welch_test(a: Sequence[float], b: Sequence[float],
               confidence: float = 0.95) -> TestResult | None:
    """Welch's t-test of mean(a) - mean(b), unequal variances (None below 2 values a side)."""
    x, y = _array(a), _array(b)
    if x.size < 2 or y.size < 2:
        return None
    va, vb = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (x.size - 1) + vb ** 2 / (y.size - 1)) if se > 0 \
        else float(x.size + y.size - 2)
    return _result("welch", float(x.mean() - y.mean()), se, df, int(x.size + y.size), confidence)


def paired_test(a: Sequence[float], b: Sequence[float],
                confidence: float = 0.95) -> TestResult | None:
    """The paired t-test of mean(a - b) (None below 2 pairs)."""
    return _paired("paired", a, b, 0.0, confidence)


def corrected_paired_test(a: Sequence[float], b: Sequence[float], test_train_ratio: float,
                          confidence: float = 0.95) -> TestResult | None:
    """Nadeau-Bengio corrected resampled t-test of mean(a - b): the variance of the mean
    difference is (1/n + n_test/n_train) * var(d) instead of var(d)/n. For k-fold
    cross-validation (repeated or not) n_test/n_train = 1/(k - 1)."""
    if test_train_ratio < 0:
        raise ValueError("test/train ratio must be >= 0")
    return _paired("corrected-paired", a, b, test_train_ratio, confidence)


def _paired(test: str, a, b, ratio: float, confidence: float) -> TestResult | None:
    x, y = _array(a), _array(b)
    if x.size != y.size:
        raise ValueError(f"paired samples differ in size ({x.size} and {y.size})")
    n = int(x.size)
    if n < 2:
        return None
    d = x - y
    se = math.sqrt((1.0 / n + ratio) * float(d.var(ddof=1)))
    return _result(test, float(d.mean()), se, float(n - 1), n, confidence)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given: the i-th smallest p (1-based) is multiplied by
    (m - i + 1), made non-decreasing along that order, and capped at 1."""
    ps = [float(p) for p in pvalues]
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


__all__ = ["Interval", "TestResult", "betainc", "corrected_paired_test", "holm", "mean_ci",
           "paired_test", "t_cdf", "t_ppf", "t_sf", "welch_test"]
