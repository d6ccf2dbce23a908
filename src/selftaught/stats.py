"""Statistics, on the ground floor: means with their standard errors, the one-sided paired
interval of the adoption rule (and the Student t quantile behind it), and the Wilson
interval of a proportion. Pure functions of numbers; the standard library only."""

from __future__ import annotations

import math
import statistics

Z95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for fewer than two values; (0, 0) for none)."""
    if not values:
        return 0.0, 0.0
    if len(values) < 2:
        return values[0], 0.0
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def paired_lower(diffs: list[float], level: float) -> tuple[float | None, float | None]:
    """(mean, lower bound of its one-sided `level` Student t interval) of paired differences.

    No pairs: (None, None). One pair: (mean, None), since one difference says nothing of
    the noise. Zero variance: the interval has no width, so the bound is the mean itself.
    """
    n = len(diffs)
    if n == 0:
        return None, None
    mean = statistics.fmean(diffs)
    if n == 1:
        return mean, None
    sd = statistics.stdev(diffs)
    if sd == 0.0:
        return mean, mean
    return mean, mean - t_quantile(level, n - 1) * sd / math.sqrt(n)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def t_quantile(p: float, df: int) -> float:
    """The `p` quantile of Student's t distribution with `df` degrees of freedom, for
    0.5 <= p < 1: bisection on the CDF, computed from the regularized incomplete beta."""
    if not 0.5 <= p < 1:
        raise ValueError(f"t_quantile needs 0.5 <= p < 1, got {p}")
    if df < 1:
        raise ValueError(f"t_quantile needs df >= 1, got {df}")
    if p == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return (lo + hi) / 2


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for t >= 0."""
    return 1.0 - 0.5 * _betai(df / 2, 0.5, df / (df + t * t))


def _betai(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((a - 1 + m2) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h
