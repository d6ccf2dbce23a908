"""Small formatters shared by the HTML and Markdown reports and the CLI."""

from __future__ import annotations


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


def money(value: float | None) -> str:
    """`$0.0123`, or `-` where the records hold no cost."""
    return "-" if value is None else f"${value:.4f}"
