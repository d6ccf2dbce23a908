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

from dataclasses import dataclass

from selftaught.stats import paired_lower
from selftaught.stop.evaluation import MetaEvaluation


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
    diff, lower = paired_lower(diffs, level)
    return diff, lower, len(diffs)
