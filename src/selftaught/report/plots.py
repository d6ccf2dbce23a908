"""The report's plots as inline SVG text (matplotlib, no pyplot, no global backend)."""

from __future__ import annotations

import io
import math
import random
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from selftaught.report.content import AcrossRuns, RunContent

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "selftaught",
}
VALIDATION, HELDOUT = "#1f77b4", "#d62728"


def all_svgs(runs: list[RunContent], across: AcrossRuns) -> dict[str, str]:
    """Every plot of a report, drawn once for both its HTML and its Markdown: `meta-utility`
    (across the runs), and per run (numbered: two runs may share a folder name) `cost-i`,
    `candidates-i` and, with several runs, `meta-i`."""
    svgs = {"meta-utility": meta_utility_svg(runs, across)}
    for i, run in enumerate(runs):
        svgs[f"cost-{i}"] = cost_svg(run)
        svgs[f"candidates-{i}"] = candidates_svg(run)
        if len(runs) > 1:
            svgs[f"meta-{i}"] = meta_utility_svg([run], AcrossRuns())
    return svgs


def warm_up() -> None:
    """Draw one small plot and throw it away: matplotlib's first figure loads fonts and
    builds caches that the report's own plots then find ready (`build.prepare`)."""
    fig = _figure(2, 1)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], marker="o", label="a")
    ax.errorbar([0, 1], [0, 1], yerr=[0.1, 0.1])
    ax.set_xlabel("x")
    ax.legend()
    _svg(fig)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text[text.index("<svg") :]


def _figure(width: float = 6.4, height: float = 3.4) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height))


def _clean(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def meta_utility_svg(runs: list[RunContent], across: AcrossRuns) -> str:
    """Validation and held-out meta-utility per iteration, ± standard error.

    One run: its own error bars (standard error over improver runs). Several runs: each run
    faint, and the mean ± standard error across runs (the paper's Figure 4).
    """
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        if len(runs) == 1:
            rows = runs[0].iterations
            its = [r["iteration"] for r in rows]
            for key, label, color, dx in [
                ("validation", "validation", VALIDATION, -0.04),
                ("heldout", "held-out", HELDOUT, 0.04),
            ]:
                ax.errorbar(
                    [t + dx for t in its],
                    _clean([r[key] for r in rows]),
                    yerr=_clean([r[f"{key}_se"] or 0.0 for r in rows]),
                    marker="o",
                    capsize=3,
                    color=color,
                    label=label,
                )
        else:
            for run in runs:
                its = [r["iteration"] for r in run.iterations]
                ax.plot(
                    its,
                    _clean([r["heldout"] for r in run.iterations]),
                    color=HELDOUT,
                    alpha=0.2,
                    linewidth=1,
                )
                ax.plot(
                    its,
                    _clean([r["validation"] for r in run.iterations]),
                    color=VALIDATION,
                    alpha=0.2,
                    linewidth=1,
                )
            for series, label, color, dx in [
                (across.validation, "validation", VALIDATION, -0.04),
                (across.heldout, "held-out", HELDOUT, 0.04),
            ]:
                ax.errorbar(
                    [t + dx for t in across.iterations],
                    [m for m, _, _ in series],
                    yerr=[0.0 if math.isnan(se) else se for _, se, _ in series],
                    marker="o",
                    capsize=3,
                    color=color,
                    label=f"{label}, mean of {len(runs)} runs",
                )
        ax.set_xlabel("iteration")
        ax.set_ylabel("meta-utility")
        ax.set_xticks(sorted({r["iteration"] for run in runs for r in run.iterations}))
        ax.legend(frameon=False)
        ax.grid(axis="y", alpha=0.3)
        return _svg(fig)


def candidates_svg(run: RunContent) -> str:
    """Every candidate's meta-utility per iteration; adopted ones starred."""
    jitter = random.Random(0)
    with matplotlib.rc_context(_RC):
        fig = _figure(6.4, 3.0)
        ax = fig.add_subplot()
        plain = [c for c in run.candidates if not c.adopted]
        adopted = [c for c in run.candidates if c.adopted]
        ax.scatter(
            [c.iteration + jitter.uniform(-0.12, 0.12) for c in plain],
            [c.score for c in plain],
            s=18,
            alpha=0.6,
            color="#555555",
            label="candidate",
        )
        if adopted:
            ax.scatter(
                [c.iteration for c in adopted],
                [c.score for c in adopted],
                s=90,
                marker="*",
                color="#ff7f0e",
                edgecolor="black",
                linewidth=0.5,
                label="adopted",
                zorder=3,
            )
        its = [r["iteration"] for r in run.iterations]
        ax.plot(
            its,
            _clean([r["validation"] for r in run.iterations]),
            color=VALIDATION,
            linewidth=1,
            label="iteration's improver (validation)",
        )
        ax.set_xlabel("iteration")
        ax.set_ylabel("meta-utility (validation)")
        ax.set_xticks(its)
        ax.legend(frameon=False, fontsize=8, loc="best")
        ax.grid(axis="y", alpha=0.3)
        return _svg(fig)


def cost_svg(run: RunContent) -> str:
    """Model calls, tokens and wall time per iteration."""
    costs = run.costs
    its = [c.iteration for c in costs]
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 2.4)
        panels: list[tuple[str, list[float], str]] = [
            ("model calls", [c.model_calls for c in costs], "#1f77b4"),
            ("tokens", [c.tokens for c in costs], "#2ca02c"),
            ("wall time (s)", [c.wall_seconds for c in costs], "#9467bd"),
        ]
        for i, (label, values, color) in enumerate(panels):
            ax = fig.add_subplot(1, 3, i + 1)
            ax.bar(its, values, color=color)
            ax.set_title(label)
            ax.set_xlabel("iteration")
            ax.set_xticks(its)
        fig.tight_layout()
        return _svg(fig)
