"""Small formatters shared by the HTML and Markdown reports and the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def score(mean: float | None, se: float | None) -> str:
    """`0.512±0.031`, or `-` when there is no score."""
    if mean is None:
        return "-"
    return f"{mean:.3f}±{se or 0.0:.3f}"


def seconds(value: float | None) -> str:
    """Wall time as m:ss (h:mm:ss past an hour)."""
    total = int(round(value or 0.0))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def money(value: Any, priced: bool = True) -> str:
    """`$0.0123`, or `-` where the records hold no cost; `?` marks a total that leaves
    out calls of an unknown price."""
    return "-" if value is None else f"${value:.4f}" + ("" if priced else "?")


def paired(row: Mapping[str, Any]) -> str:
    """An iteration's paired difference from its parent with its one-sided interval:
    `+0.125 [+0.031, ∞)`; `+0.125 (n=1)` when one pair gives no interval, `+0.125 (no
    spread, n=2)` when the pairs all differ by the same amount (no interval either); `-`
    when no new improver was scored (or the records predate paired differences)."""
    diff, lower, n = row.get("paired_diff"), row.get("paired_lower"), row.get("paired_n")
    if diff is None:
        return "-"
    if lower is None:
        return f"{diff:+.3f} (n={n})" if not n or n < 2 else f"{diff:+.3f} (no spread, n={n})"
    return f"{diff:+.3f} [{lower:+.3f}, ∞)"


def paired_note(rows: Sequence[Mapping[str, Any]]) -> str:
    """What the paired column means, with the level and number of pairs the rows used."""
    levels = sorted({r["paired_level"] for r in rows if r.get("paired_level") is not None})
    ns = sorted({r["paired_n"] for r in rows if r.get("paired_n") is not None})
    if not ns:
        return "paired Δ: no new improver was scored against its parent"
    level = "/".join(f"{v:.0%}" for v in levels)
    pairs = "/".join(str(n) for n in ns)
    return (
        "paired Δ: mean difference from the parent's score, run by run, on fresh confirmation"
        " instances no selection in the step saw (the same for both), with its one-sided"
        f" {level} interval (n={pairs} pairs)"
    )


def decision_line(decision: Any) -> str:
    """An adoption decision as the run shows it when it is made (a `stop.Decision`)."""
    verdict = "adopted" if decision.adopted else "not adopted"
    interval = paired(
        {"paired_diff": decision.diff, "paired_lower": decision.lower, "paired_n": decision.n}
    )
    level = f", one-sided {decision.level:.0%} interval" if decision.lower is not None else ""
    return f"{verdict} (rule {decision.rule}): paired Δ {interval}{level}, {decision.n} paired runs"
