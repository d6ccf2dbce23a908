"""Whether the loop adopts a candidate improver: `paper`, `improved` or `paired`.

What is compared (docs/loop.md, "What is compared"): for each task k and run r, the
solution run r of the candidate returned and the one run r of its parent returned, scored
on the same fresh confirmation instances (`MetaUtility.confirm`). Those instances are drawn
for this iteration and run from the run's secret instance key and no utility call scores
on them, so no selection made inside the self-improvement step (which candidate improver
the step kept, which solution an improver kept) has seen them: a candidate that only
selects well on the validation instances gains nothing there.

`paired` adopts the candidate only when the lower bound of a one-sided Student t
confidence interval on the mean per-(task, run) difference is above zero. Edge cases,
chosen so that the rule never adopts on evidence it cannot weigh:
- one pair (n = 1): there is no estimate of the noise, so no interval; not adopted.
- no spread (every pair differs by exactly the same amount): the pairs say nothing about
  the noise either, so there is no interval (`lower` is None). A zero-width interval is
  what identical pairs give (the same programs compared run after run), and it would
  adopt any difference they share however it arose. Instead a sign test decides: adopted
  only when every pair gains and that many gains in a row have chance at most 1 - level
  (n >= 4 at the default 0.9), as when a candidate beats a parent that fails every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from selftaught.stats import paired_lower
from selftaught.stop.evaluation import ConfirmationPair

RULES = ("paired", "improved", "paper")

NO_SPREAD = 1e-9
"""Differences closer than this are the same difference (what float rounding leaves of
equal ones); a score is a mean of per-instance scores, so real ones are much further
apart."""


@dataclass(frozen=True)
class Decision:
    """An adoption decision and the paired comparison behind it."""

    adopted: bool
    diff: float | None
    """Mean over (task, run) pairs of candidate minus parent confirmation score."""
    lower: float | None
    """Lower bound of the one-sided `level` interval on `diff`; None when there is no
    interval (n < 2, or every pair differs by the same amount)."""
    n: int
    """Number of (task, run) pairs compared."""
    level: float
    rule: str


def should_adopt(rule: str, candidate: float, parent: float) -> bool:
    """`paper`: always (Algorithm 1). `improved`: only a strictly better mean confirmation
    score. (`paired` needs the pairs: `decide`.)"""
    if rule == "paper":
        return True
    if rule == "improved":
        return candidate > parent
    raise ValueError(f"unknown adoption rule {rule!r}")


def decide(rule: str, pairs: Sequence[ConfirmationPair], *, level: float) -> Decision:
    """Apply `rule` to the confirmation pairs; the paired comparison is computed (and
    recorded) under every rule."""
    if rule not in RULES:
        raise ValueError(f"unknown adoption rule {rule!r}")
    diff, lower, n = paired_difference(pairs, level=level)
    if rule == "paired":
        adopted = lower > 0 if lower is not None else _every_pair_gains(pairs, level)
    else:
        parent = sum(p.parent for p in pairs) / n if n else 0.0
        candidate = sum(p.candidate for p in pairs) / n if n else 0.0
        adopted = should_adopt(rule, candidate, parent)
    return Decision(adopted, diff, lower, n, level, rule)


def _every_pair_gains(pairs: Sequence[ConfirmationPair], level: float) -> bool:
    """With no interval (no spread), a sign test: the candidate gained in every one of the
    n pairs, each on instances of its own, and n gains in a row would happen by chance
    (each pair as likely to go either way) at most 1 - `level` of the time. So a candidate
    whose solutions beat a failing parent's by the same amount on every fresh draw is
    adopted, and identical programs (every difference 0) never are."""
    n = len(pairs)
    return n >= 2 and all(p.diff > NO_SPREAD for p in pairs) and 0.5**n <= 1 - level


def paired_difference(
    pairs: Sequence[ConfirmationPair], *, level: float
) -> tuple[float | None, float | None, int]:
    """(mean difference, its one-sided lower bound, n); the bound is None for fewer than
    two pairs and for pairs that all differ by the same amount."""
    diffs = [p.diff for p in pairs]
    diff, lower = paired_lower(diffs, level)
    if diffs and max(diffs) - min(diffs) <= NO_SPREAD:
        lower = None
    return diff, lower, len(diffs)
