"""`report.md`: the report's tables and diffs as Markdown; plots link to SVG files.

Programs, messages and event details come from the records, so from models and workers:
the whole text goes through `text.printable` (no escape sequences, no control characters
but newline and tab), as anything that reaches a terminal does (`cat report.md`)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from selftaught.lm.usable import LEGEND
from selftaught.program.analysis import FLAG_RULES, STRATEGY_RULES
from selftaught.report.content import AcrossRuns, RunContent, transfer_table
from selftaught.report.format import paired_note
from selftaught.report.html import (
    COST_HEADERS,
    ITERATION_HEADERS,
    LINEAGE_HEADERS,
    cost_rows,
    iteration_rows,
    lineage_rows,
)
from selftaught.text import printable

_MARKUP = re.compile(r"([\\`*_\[\]|~])")
"""Characters that start Markdown markup in a line of text (emphasis, code, links, tables,
strikethrough); escaped with a backslash, which every CommonMark renderer shows as is."""


def _cell(value: Any) -> str:
    """Record text as one table cell that renders as the text itself: no HTML (tags become
    entities), no links, emphasis or code (their marks are escaped), one line."""
    text = "" if value is None else printable(str(value))
    text = html.escape(text, quote=False)
    return _MARKUP.sub(r"\\\1", text).replace("\n", " ").replace("\t", " ")


def _fenced(text: str, info: str) -> list[str]:
    """`text` as a fenced code block whose fence no line of the text can close: longer than
    any run of backticks in it (inside a fence, HTML and markup are shown as text)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", text, fence]


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _run(run: RunContent, index: int, plot_files: dict[str, str]) -> list[str]:
    out = [
        f"## Run {run.name}",
        "",
        f"Model `{run.model}`, status {run.meta.get('status', '?')}.",
        "",
    ]
    out += [
        "### Meta-utility per iteration",
        "",
        md_table(ITERATION_HEADERS, iteration_rows(run)),
        "",
        paired_note(run.iterations) + ".",
        "",
    ]
    out += ["### Cost per iteration", "", md_table(COST_HEADERS, cost_rows(run)), ""]
    out += [LEGEND, ""]
    for key, label in [("cost", "cost per iteration"), ("candidates", "candidates")]:
        if f"{key}-{index}" in plot_files:
            out += [f"![{label}]({plot_files[f'{key}-{index}']})", ""]
    out += ["### Lineage of improvers", ""]
    out.append(md_table(LINEAGE_HEADERS, lineage_rows(run)))
    out.append("")
    for s in run.lineage:
        if s.iteration and s.adopted and s.diff:
            out += [f"Iteration {s.iteration} against its parent:", ""]
            out += [*_fenced(s.diff.rstrip(), "diff"), ""]
    strategies, flags = run.strategy_counts(), run.flag_counts()
    out += [
        "### Strategies and flags",
        "",
        f"{len(run.analyses)} generated improvers analysed.",
        "",
    ]
    out.append(
        md_table(
            ["strategy", "improvers", "rule"],
            [[k, strategies.get(k, 0), r] for k, r in STRATEGY_RULES.items()],
        )
    )
    out.append("")
    out.append(
        md_table(
            ["flag", "improvers", "rule"], [[k, flags.get(k, 0), r] for k, r in FLAG_RULES.items()]
        )
    )
    out += ["", "### Audit events", ""]
    by_iter = run.audit_by_iteration()
    if by_iter:
        out.append(
            md_table(
                ["iter", "event or flag", "count"],
                [[t, k, n] for t, c in by_iter.items() for k, n in sorted(c.items())],
            )
        )
    else:
        out.append("No sandbox audit events and no flags.")
    out += ["", "### Transfer", ""]
    if run.transfer is None:
        out.append("No transfer results (no transfer*.json in the run directory).")
    else:
        file, data = run.transfer
        shaped = transfer_table(data)
        out.append(f"From `{file.name}`.")
        out.append("")
        if shaped is None:
            out += _fenced(json.dumps(data, indent=2)[:20000], "json")
        else:
            cols, rows = shaped
            out.append(
                md_table(
                    cols, [[f"{v:.3f}" if isinstance(v, float) else v for v in r] for r in rows]
                )
            )
    out.append("")
    return out


def render_markdown(runs: list[RunContent], across: AcrossRuns, plot_files: dict[str, str]) -> str:
    title = runs[0].name if len(runs) == 1 else f"{len(runs)} runs"
    out = [f"# STOP report: {title}", ""]
    if "meta-utility" in plot_files:
        out += [f"![meta-utility per iteration]({plot_files['meta-utility']})", ""]
    if len(runs) > 1:
        out += ["Mean ± standard error across runs:", ""]
        out.append(
            md_table(
                ["iter", "validation", "held-out", "runs"],
                [
                    [t, f"{v[0]:.3f}±{v[1]:.3f}", f"{h[0]:.3f}±{h[1]:.3f}" if h[2] else "-", v[2]]
                    for t, v, h in zip(
                        across.iterations, across.validation, across.heldout, strict=True
                    )
                ],
            )
        )
        out.append("")
    for index, run in enumerate(runs):
        out += _run(run, index, plot_files)
    return printable("\n".join(out) + "\n")
