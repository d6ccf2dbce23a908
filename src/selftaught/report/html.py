"""`report.html`: one self-contained page. Plots are inline SVG; no scripts, no network.

The page's Content-Security-Policy forbids every external resource, so a report that
opens at all opens offline.
"""

from __future__ import annotations

import html
import json
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from selftaught.lm.usable import LEGEND, short
from selftaught.program.analysis import FLAG_RULES, STRATEGY_RULES
from selftaught.report.content import AcrossRuns, RunContent, transfer_table
from selftaught.report.format import money, paired, paired_note, score, seconds
from selftaught.stats import wilson_interval

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
figure { margin: .5em 0 1.5em; } figcaption { font-size: .85em; color: #555; }
figure svg { max-width: 100%; height: auto; }
details { margin: .4em 0; } summary { cursor: pointer; }
.muted { color: #777; } code { font-size: .9em; }
.highlight pre { font-size: .8em; overflow-x: auto; padding: .5em; background: #fafafa; }
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def table(
    headers: list[str], rows: list[list[Any]], *, cls: str = "", left: int | set[int] = 0
) -> str:
    """An HTML table; columns in `left` (or the first `left` columns) are left-aligned."""
    lefts = set(range(left)) if isinstance(left, int) else left
    align = ['class="l"' if i in lefts else "" for i in range(len(headers))]
    head = "".join(f"<th {align[i]}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td {align[i]}>{_e(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(fig_id: str, svg: str, caption: str) -> str:
    return (
        f'<figure id="{fig_id}" class="plot">{svg}<figcaption>{_e(caption)}</figcaption></figure>'
    )


def iteration_rows(run: RunContent) -> list[list[Any]]:
    rows = []
    for r in run.iterations:
        adopted = "start" if r["iteration"] == 0 else ("yes" if r["adopted"] else "no")
        rows.append(
            [
                r["iteration"],
                score(r["validation"], r["validation_se"]),
                score(r["heldout"], r["heldout_se"]),
                paired(r),
                adopted,
                r["outcome"] or "",
                (r["message"] or "")[:120],
            ]
        )
    return rows


def _adoption(cfg: dict[str, Any]) -> str:
    rule = str(cfg.get("adoption", "?"))
    if rule == "paired":
        return f"paired (one-sided {cfg.get('adoption_level', 0.9):.0%} interval)"
    return rule


ITERATION_HEADERS = ["iter", "validation", "held-out", "paired Δ", "adopted", "outcome", "message"]
COST_HEADERS = [
    "iter",
    "model calls",
    "samples",
    "usable",
    "tokens",
    "model time",
    "wall time",
    "money",
]


def cost_rows(run: RunContent) -> list[list[Any]]:
    rows = [
        [
            c.iteration,
            c.model_calls,
            c.samples,
            (f"{c.usable / c.samples:.0%}" if c.samples else "-")
            + (f" ({short(c.unusable_reasons)})" if c.unusable_reasons else ""),
            c.tokens,
            seconds(c.model_seconds),
            seconds(c.wall_seconds),
            money(c.money) + ("" if c.priced else "?"),
        ]
        for c in run.costs
    ]
    total_money = [c.money for c in run.costs if c.money is not None]
    rows.append(
        [
            "total",
            sum(c.model_calls for c in run.costs),
            sum(c.samples for c in run.costs),
            "",
            sum(c.tokens for c in run.costs),
            seconds(sum(c.model_seconds for c in run.costs)),
            seconds(sum(c.wall_seconds for c in run.costs)),
            money(sum(total_money) if total_money else None),
        ]
    )
    return rows


LINEAGE_HEADERS = ["iter", "improver", "parent", "adopted", "validation", "held-out"]


def lineage_rows(run: RunContent) -> list[list[Any]]:
    """One row per iteration's improver: its hash, its parent's, adopted, scores ± SE."""
    return [
        [
            s.iteration,
            s.improver_hash,
            s.parent_hash or "-",
            "start" if s.iteration == 0 else ("yes" if s.adopted else "no"),
            score(s.validation, s.validation_se),
            score(s.heldout, s.heldout_se),
        ]
        for s in run.lineage
    ]


def _lineage(run: RunContent, formatter: HtmlFormatter) -> str:
    out = [
        table(
            LINEAGE_HEADERS,
            lineage_rows(run),
            cls="lineage",
            left=0,
        )
    ]
    for s in run.lineage:
        if s.iteration == 0 or not s.adopted:
            continue
        body = (
            highlight(s.diff, DiffLexer(), formatter)
            if s.diff
            else '<p class="muted">identical to its parent</p>'
        )
        out.append(
            f'<details class="diff" open><summary>iteration {s.iteration}: '
            f"<code>{_e(s.parent_hash)}</code> → <code>{_e(s.improver_hash)}</code></summary>"
            f"{body}</details>"
        )
    return "\n".join(out)


def _analysis(run: RunContent) -> str:
    strategies, flags = run.strategy_counts(), run.flag_counts()
    n = len(run.analyses)
    rows = [[k, strategies.get(k, 0), rule] for k, rule in STRATEGY_RULES.items()]
    frows = [[k, flags.get(k, 0), rule] for k, rule in FLAG_RULES.items()]
    per_program = [
        [
            a.iteration,
            a.where,
            a.program_hash,
            ", ".join(a.analysis.strategies) or "-",
            ", ".join(a.analysis.flags) or "-",
        ]
        for a in run.analyses
    ]
    return (
        f"<p>{n} generated improvers analysed (static analysis, nothing executed).</p>"
        + table(["strategy", "improvers", "rule"], rows, cls="strategies", left={0, 2})
        + table(["flag", "improvers", "rule"], frows, cls="flags", left={0, 2})
        + "<details><summary>per improver</summary>"
        + table(["iter", "what", "program", "strategies", "flags"], per_program, left={1, 2, 3, 4})
        + "</details>"
    )


def _audit(run: RunContent) -> str:
    by_iter = run.audit_by_iteration()
    if not by_iter:
        return '<p class="muted">No sandbox audit events and no flags.</p>'
    rows = [[t, kind, n] for t, counts in by_iter.items() for kind, n in sorted(counts.items())]
    out = table(["iter", "event or flag", "count"], rows, cls="audit", left={1})
    if run.events:
        detail = [
            [e["iteration"], e["scope"], e["kind"], e["program_hash"], (e["detail"] or "")[:160]]
            for e in run.events
        ]
        total = sum(sum(kinds.values()) for kinds in run.event_kinds.values())
        more = f" (the first {len(run.events)} of {total})" if total > len(run.events) else ""
        out += (
            f"<details><summary>events{more}</summary>"
            + table(["iter", "scope", "kind", "program", "detail"], detail, left={1, 2, 3, 4})
            + "</details>"
        )
    return out


def _transfer(run: RunContent) -> str:
    if run.transfer is None:
        return '<p class="muted">No transfer results (no transfer*.json in the run directory).</p>'
    file, data = run.transfer
    shaped = transfer_table(data)
    head = f"<p>From <code>{_e(file.name)}</code>.</p>"
    if shaped is None:
        return head + f"<pre>{_e(json.dumps(data, indent=2)[:20000])}</pre>"
    columns, rows = shaped
    fmt = [[f"{v:.3f}" if isinstance(v, float) else v for v in row] for row in rows]
    return head + table(columns, fmt, cls="transfer", left=1)


def _sandbox(run: RunContent) -> str:
    rows = []
    for cond in ("no_warning", "warning"):
        got = [a for a in run.sandbox_attempts if a["condition"] == cond]
        if not got:
            continue
        n, bad = len(got), sum(a["outcome"] == "unsandboxed" for a in got)
        lo, hi = wilson_interval(bad, n)
        rows.append([cond, n, bad, f"{100 * bad / n:.2f}%", f"{100 * lo:.2f}-{100 * hi:.2f}%"])
    headers = ["condition", "attempts", "unsandboxed", "rate", "95% Wilson"]
    return "<h3>Sandbox experiment</h3>" + table(headers, rows, cls="sandbox", left=1)


def _key_source(recorded: object) -> str:
    """Where the run's instance key came from, and its fingerprint (never the key)."""
    if not isinstance(recorded, dict):
        return "none recorded (instances from public seeds)"
    return f"{recorded.get('source', '?')} (id {recorded.get('id', '?')})"


def _run_section(
    run: RunContent, index: int, svgs: dict[str, str], formatter: HtmlFormatter, single: bool
) -> str:
    cfg = run.meta.get("config", {}) or {}
    budgets = cfg.get("budgets", {}) or {}
    facts = [
        ["model", run.model],
        ["tasks", ", ".join(cfg.get("tasks", []) or [])],
        ["status", run.meta.get("status", "?")],
        ["created", run.meta.get("created", "?")],
        [
            "iterations / runs per evaluation",
            f"{cfg.get('iterations', '?')} / {cfg.get('runs', '?')}",
        ],
        ["budgets", ", ".join(f"{k}={v}" for k, v in budgets.items())],
        ["adoption", _adoption(cfg)],
        ["instance key", _key_source(run.meta.get("instance_key"))],
        [
            "selftaught / git",
            f"{run.meta.get('selftaught_version', '?')} / {run.meta.get('git_commit', '?')}",
        ],
    ]
    parts = [
        f'<section class="run" id="run-{_e(run.name)}"><h2>Run {_e(run.name)}</h2>',
        table(["setting", "value"], facts, cls="facts", left=2),
        "<h3>Meta-utility per iteration</h3>",
        table(ITERATION_HEADERS, iteration_rows(run), cls="iterations", left=0),
        f'<p class="muted">{_e(paired_note(run.iterations))}</p>',
    ]
    if not single:
        parts.append(
            _figure(
                f"plot-meta-{_e(run.name)}",
                svgs[f"meta-{index}"],
                "meta-utility ± standard error over improver runs",
            )
        )
    parts += [
        "<h3>Cost per iteration</h3>",
        table(COST_HEADERS, cost_rows(run), cls="costs", left=0),
        f"<p>{_e(LEGEND)}</p>",
        _figure(
            f"plot-cost-{_e(run.name)}", svgs[f"cost-{index}"], "model calls, tokens, wall time"
        ),
        "<h3>Candidates</h3>",
        _figure(
            f"plot-candidates-{_e(run.name)}",
            svgs[f"candidates-{index}"],
            "meta-utility (validation) of every candidate improver scored in each step;"
            " stars: adopted",
        ),
        "<h3>Lineage of improvers</h3>",
        _lineage(run, formatter),
        "<h3>Strategies and flags</h3>",
        _analysis(run),
        "<h3>Audit events</h3>",
        _audit(run),
        "<h3>Transfer</h3>",
        _transfer(run),
        _sandbox(run) if run.sandbox_attempts else "",
        "</section>",
    ]
    return "\n".join(parts)


def render_html(runs: list[RunContent], across: AcrossRuns, svgs: dict[str, str]) -> str:
    """The whole page, with the plots `plots.all_svgs` drew."""
    formatter = HtmlFormatter(cssclass="highlight")
    title = runs[0].name if len(runs) == 1 else f"{len(runs)} runs"
    summary = ""
    if len(runs) > 1:
        rows = [
            [t, f"{v[0]:.3f}±{v[1]:.3f}", v[2], f"{h[0]:.3f}±{h[1]:.3f}" if h[2] else "-", h[2]]
            for t, v, h in zip(across.iterations, across.validation, across.heldout, strict=True)
        ]
        summary = table(
            ["iter", "validation (mean±SE)", "runs", "held-out (mean±SE)", "runs"],
            rows,
            cls="across",
        )
    caption = (
        "validation and held-out meta-utility ± standard error over improver runs"
        if len(runs) == 1
        else f"mean ± standard error across {len(runs)} runs; faint lines: each run"
    )
    body = [
        f"<h1>STOP report: {_e(title)}</h1>",
        "<p>Runs: "
        + ", ".join(f'<a href="#run-{_e(r.name)}">{_e(r.name)}</a>' for r in runs)
        + "</p>",
        "<h2>Meta-utility</h2>",
        _figure("plot-meta-utility", svgs["meta-utility"], caption),
        summary,
        *(
            _run_section(run, index, svgs, formatter, len(runs) == 1)
            for index, run in enumerate(runs)
        ),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<link rel="icon" href="data:,">'
        f"<title>STOP report: {_e(title)}</title>"
        f"<style>{_CSS}{formatter.get_style_defs('.highlight')}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
