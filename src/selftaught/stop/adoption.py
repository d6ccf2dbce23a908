"""Whether the loop adopts a candidate improver: `paper`, `improved` or `paired`.

`paired` compares the candidate with its parent run by run. Both are scored on the same
validation instances, and run r of task k uses the same model-sampling seeds for both
(`MetaUtility.evaluate(..., seeds="eval")`), so the per-(task, run) differences are
paired and much of the noise the two evaluations share cancels. The candidate is adopted
only when the lower bound of a one-sided Student t confidence interval on the mean
difference is above zero.

Edge cases, chosen so that the rule never adopts on evidence it cannot weigh:
- one pair (n = 1): there is no estimate of the noise, so no interval; not adopted.
- zero variance (every pair differs by the same amount): the interval has no width and
  the lower bound is the mean difference itself, so a difference that is the same and
  positive in every run is adopted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from selftaught.stop.meta_utility import MetaEvaluation

RULES = ("paper", "improved", "paired")


@dataclass(frozen=True)
class Decision:
    """An adoption decision and the paired comparison behind it."""

    adopted: bool
    diff: float | None
    """Mean over (task, run) pairs of candidate minus parent validation score."""
    lower: float | None
    """Lower bound of the one-sided `level` interval on `diff`; None when n < 2."""
    n: int
    """Number of (task, run) pairs compared."""
    level: float
    rule: str


def should_adopt(rule: str, candidate: float, parent: float) -> bool:
    """`paper`: always (Algorithm 1). `improved`: only a strictly better validation score."""
    if rule == "paper":
        return True
    if rule == "improved":
        return candidate > parent
    raise ValueError(f"unknown adoption rule {rule!r}")


def decide(
    rule: str, candidate: MetaEvaluation, parent: MetaEvaluation, *, level: float
) -> Decision:
    """Apply `rule`; the paired comparison is computed (and recorded) under every rule."""
    diff, lower, n = paired_difference(candidate, parent, level=level)
    if rule == "paired":
        adopted = lower is not None and lower > 0
    else:
        adopted = should_adopt(rule, candidate.validation, parent.validation)
    return Decision(adopted, diff, lower, n, level, rule)


def paired_difference(
    candidate: MetaEvaluation, parent: MetaEvaluation, *, level: float
) -> tuple[float | None, float | None, int]:
    """(mean difference, its one-sided lower bound, n) over the (task, run) pairs both
    evaluations hold."""
    before = {(r.task, r.run): r.validation for r in parent.runs}
    diffs = [
        r.validation - before[(r.task, r.run)] for r in candidate.runs if (r.task, r.run) in before
    ]
    n = len(diffs)
    if n == 0:
        return None, None, 0
    mean = statistics.fmean(diffs)
    if n == 1:
        return mean, None, 1
    sd = statistics.stdev(diffs)
    if sd == 0.0:
        return mean, mean, n
    return mean, mean - t_quantile(level, n - 1) * sd / math.sqrt(n), n


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
