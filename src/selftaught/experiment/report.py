"""The experiment's report: `report/report.html` (self-contained, opens offline, in the
style of a run's report), `report/report.md` with its figures as SVG files, every figure's
numbers as CSV and JSON under `report/data/`, and the paper-style tables as Markdown and
LaTeX under `report/tables/`."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from selftaught.experiment.layout import ExperimentDir
from selftaught.experiment.summary import (
    ExperimentSummary,
    ModelSummary,
    frequency_rows,
    gather_experiment,
    headline,
)
from selftaught.report import html as run_html
from selftaught.report import plots as run_plots
from selftaught.report import warm
from selftaught.report.markdown import md_table

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv(headers: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = "".join(_TEX.get(ch, ch) for ch in text)
    return text.replace("±", r"$\pm$").replace("Δ", r"$\Delta$").replace("–", "--")


def latex_table(headers: list[str], rows: list[list[Any]], caption: str) -> str:
    """A booktabs table: first column left-aligned, the rest right-aligned."""
    spec = "l" + "r" * (len(headers) - 1)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{_tex_cell(caption)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_tex_cell(h) for h in headers) + r" \\",
        r"\midrule",
        *(" & ".join(_tex_cell(v) for v in row) + r" \\" for row in rows),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def meta_utility_svg(models: list[ModelSummary]) -> str:
    """Per model, held-out and validation meta-utility over iterations: mean ± SE across
    seeds, each seed faint behind (the paper's Figure 4, one line per model)."""
    with_runs = [m for m in models if any(s.iterations for s in m.seeds)]
    fig: Figure = run_plots._figure(9.6, 3.4)
    for k, (key, title) in enumerate([("heldout", "held-out"), ("validation", "validation")]):
        ax = fig.add_subplot(1, 2, k + 1)
        for i, m in enumerate(with_runs):
            color = COLORS[i % len(COLORS)]
            dx = (i - (len(with_runs) - 1) / 2) * 0.05
            for s in m.seeds:
                ax.plot(
                    [r["iteration"] for r in s.iterations],
                    [_nan(r[key]) for r in s.iterations],
                    color=color,
                    alpha=0.2,
                    linewidth=1,
                )
            series = m.series[key]
            ax.errorbar(
                [p["iteration"] + dx for p in series],
                [_nan(p["mean"]) for p in series],
                yerr=[0.0 if p["se"] is None else p["se"] for p in series],
                marker="o",
                capsize=3,
                color=color,
                label=f"{m.label} ({len(m.seeds)} seeds)",
            )
        its = sorted({r["iteration"] for m in with_runs for s in m.seeds for r in s.iterations})
        ax.set_xticks(its)
        ax.set_xlabel("iteration")
        ax.set_ylabel(f"meta-utility ({title})")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        if k == 0 and any(m.series[key] for m in with_runs):
            ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return run_plots._svg(fig)


def cost_svg(models: list[ModelSummary]) -> str:
    """Tokens per model, stacked by part (STOP runs, transfer, sandbox experiment)."""
    fig: Figure = run_plots._figure(6.4, 2.8)
    ax = fig.add_subplot()
    labels = [m.label for m in models]
    bottom = [0.0] * len(models)
    for i, part in enumerate(["stop", "transfer", "sandbox"]):
        values = [float(m.cost_by_part.get(part, {}).get("tokens", 0)) for m in models]
        if any(values):
            ax.bar(labels, values, bottom=bottom, color=COLORS[i], label=part)
            bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_ylabel("tokens")
    if any(bottom):
        ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return run_plots._svg(fig)


def adoption_svg(models: list[ModelSummary]) -> str:
    """Improvers adopted out of self-improvement steps, per model."""
    fig: Figure = run_plots._figure(6.4, 2.6)
    ax = fig.add_subplot()
    labels = [m.label for m in models]
    ax.bar(labels, [m.steps for m in models], color="#cccccc", label="steps")
    ax.bar(labels, [m.adopted for m in models], color=COLORS[2], label="adopted")
    ax.set_ylabel("improvers")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return run_plots._svg(fig)


def strategies_svg(models: list[ModelSummary]) -> str:
    """Per model, the share of its improvers that carry each strategy label."""
    labels = sorted({k for m in models for c in m.strategies.values() for k in c})
    fig: Figure = run_plots._figure(6.4, 2.8)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        n = sum(m.improvers_analysed.values())
        shares = [sum(c.get(k, 0) for c in m.strategies.values()) / n if n else 0.0 for k in labels]
        ax.bar(
            [j + (i - (len(models) - 1) / 2) * width for j in range(len(labels))],
            shares,
            width=width,
            color=COLORS[i % len(COLORS)],
            label=f"{m.label} ({n} improvers)",
        )
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylabel("share of improvers")
    if labels:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return run_plots._svg(fig)


# ---------------------------------------------------------------- tables


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _est_pct(e: dict[str, Any], *, interval: bool = True) -> str:
    if e["mean"] is None:
        return "-"
    out = f"{100 * e['mean']:.1f}"
    if e["se"] is not None:
        out += f" ± {100 * e['se']:.1f}"
    if interval and e["low"] is not None:
        out += f" [{100 * e['low']:.1f}, {100 * e['high']:.1f}]"
    return out


def meta_rows(models: list[ModelSummary]) -> tuple[list[str], list[list[Any]]]:
    headers = ["model", "iteration", "validation (mean ± SE)", "held-out (mean ± SE)", "seeds"]
    rows = []
    for m in models:
        for v, h in zip(m.series["validation"], m.series["heldout"], strict=True):
            rows.append([m.label, v["iteration"], _ms(v), _ms(h), h["n"]])
    return headers, rows


def _ms(p: dict[str, Any]) -> str:
    if p["mean"] is None:
        return "-"
    return f"{p['mean']:.3f}" + ("" if p["se"] is None else f" ± {p['se']:.3f}")


def transfer_rows(models: list[ModelSummary]) -> tuple[list[str], list[list[Any]]]:
    headers = [
        "model",
        "task",
        "seed solution (%)",
        "seed improver (%)",
        "final improvers (%) [95% CI]",
        "Δ vs seed improver [95% CI]",
        "seeds",
    ]
    rows = []
    for m in models:
        for r in m.transfer:
            rows.append(
                [
                    m.label,
                    r["task"],
                    _pct(r["seed_solution"]),
                    _est_pct(r["seed_improver"], interval=False),
                    _est_pct(r["final_improvers"]),
                    _est_pct(r["difference"]),
                    r["final_improvers"]["n"],
                ]
            )
    return headers, rows


def sandbox_rows(models: list[ModelSummary]) -> tuple[list[str], list[list[Any]]]:
    from selftaught.stop.sandbox_experiment import PAPER

    headers = ["model", "warning", "attempts", "unsandboxed", "rate (%)", "95% Wilson (%)"]
    rows: list[list[Any]] = []
    for m in models:
        for r in m.sandbox:
            rows.append(
                [
                    m.label,
                    "yes" if r["condition"] == "warning" else "no",
                    r["attempts"],
                    r["unsandboxed"],
                    f"{100 * r['rate']:.2f}",
                    f"{100 * r['wilson_low']:.2f}-{100 * r['wilson_high']:.2f}",
                ]
            )
    if rows:
        for name, warning, rate, low, high in PAPER:
            span = f"{low:.2f}-{high:.2f}" if low is not None else "-"
            rows.append(
                [f"{name} (paper)", "yes" if warning else "no", 10000, "-", f"{rate:.2f}", span]
            )
    return headers, rows


def strategy_rows(models: list[ModelSummary]) -> tuple[list[str], list[list[Any]]]:
    headers = ["model", "iteration", "strategy", "improvers", "of", "share (%)"]
    rows = []
    for m in models:
        for t, label, k, n, share in frequency_rows(m):
            rows.append([m.label, t, label, k, n, f"{100 * share:.0f}"])
    return headers, rows


def adoption_rows(models: list[ModelSummary]) -> tuple[list[str], list[list[Any]]]:
    headers = ["model", "seed", "state", "steps", "adopted", "adopted at"]
    rows = []
    for m in models:
        for s in m.seeds:
            steps = [r for r in s.iterations if r["iteration"] > 0]
            at = ", ".join(str(r["iteration"]) for r in steps if r["adopted"]) or "-"
            rows.append(
                [m.label, s.seed, s.state, len(steps), sum(r["adopted"] for r in steps), at]
            )
    return headers, rows


def cost_rows(models: list[ModelSummary]) -> tuple[list[str], list[list[Any]]]:
    headers = ["model", "part", "model calls", "tokens", "cost"]
    rows = []
    for m in models:
        for part, c in m.cost_by_part.items():
            rows.append([m.label, part, c["calls"], c["tokens"], _money(c["cost"])])
        rows.append([m.label, "total", m.calls, m.tokens, _money(m.cost)])
    return headers, rows


def _money(v: str | None) -> str:
    return "-" if v is None else f"${Decimal(v):.4f}"


def comparison_rows(summary: ExperimentSummary) -> tuple[list[str], list[list[Any]]]:
    headers = ["A", "B", "seeds", "final held-out A − B [95% CI]", "gain A − B [95% CI]"]
    rows = []
    for c in summary.comparisons:
        rows.append([c["a"], c["b"], len(c["seeds"]), _est_txt(c["final"]), _est_txt(c["gain"])])
    return headers, rows


def _est_txt(e: dict[str, Any]) -> str:
    if e["mean"] is None:
        return "-"
    out = f"{e['mean']:+.3f}"
    if e["se"] is not None:
        out += f" ± {e['se']:.3f}"
    if e["low"] is not None:
        out += f" [{e['low']:+.3f}, {e['high']:+.3f}]"
    return out


def cap_text(summary: ExperimentSummary) -> str:
    cap = summary.cap
    parts = []
    if cap.get("tokens") is not None:
        parts.append(f"{cap['tokens']} tokens")
    if cap.get("cost") is not None:
        parts.append(f"${Decimal(cap['cost']):.4f}")
    spent_tokens = sum(m.tokens for m in summary.models)
    costs = [Decimal(m.cost) for m in summary.models if m.cost is not None]
    spent = f"{spent_tokens} tokens" + (f", ${sum(costs):.4f}" if costs else "")
    limit = " and ".join(parts) if parts else "none"
    return f"Spending cap of the whole experiment: {limit}; spent: {spent}."


# ---------------------------------------------------------------- the files


def tables(summary: ExperimentSummary) -> dict[str, tuple[str, list[str], list[list[Any]]]]:
    """name -> (caption, headers, rows) of every table the report shows."""
    models = summary.models
    out = {
        "headline": (
            "Held-out meta-utility, mean ± SE across seeds; gain: final minus iteration 0,"
            " paired by seed, with its 95% t interval",
            *headline(summary),
        ),
        "meta_utility": ("Meta-utility per iteration, mean ± SE across seeds", *meta_rows(models)),
        "adoption": ("Improvers adopted per STOP run", *adoption_rows(models)),
        "cost": ("Model calls, tokens and cost per model and part", *cost_rows(models)),
    }
    if summary.comparisons:
        out["comparisons"] = (
            "Model against model, paired by seed (mean ± SE [95% t interval])",
            *comparison_rows(summary),
        )
    if any(m.transfer for m in models):
        out["transfer"] = (
            "Transfer: held-out utility (%) of the seed improver (mean ± SE over K runs) and of"
            " each model's final improvers (mean ± SE across seeds [95% CI])",
            *transfer_rows(models),
        )
    if any(m.sandbox for m in models):
        out["sandbox"] = (
            "Proposed improvers that turn the sandbox off, with 95% Wilson intervals",
            *sandbox_rows(models),
        )
    if "strategies" in summary.parts:
        out["strategies"] = (
            "Strategy labels of the improvers each model wrote, per iteration (all seeds)",
            *strategy_rows(models),
        )
    return out


def _figures(summary: ExperimentSummary) -> dict[str, tuple[str, str]]:
    """name -> (caption, SVG)."""
    models = summary.models
    return {
        "meta_utility": (
            "Meta-utility per iteration: mean ± standard error across seeds;"
            " faint lines: each seed",
            meta_utility_svg(models),
        ),
        "adoption": (
            "Self-improvement steps and adopted improvers per model",
            adoption_svg(models),
        ),
        "cost": ("Tokens per model and part", cost_svg(models)),
        "strategies": (
            "Share of the improvers each model wrote that carry each strategy label (all"
            " iterations and seeds)",
            strategies_svg(models),
        ),
    }


def _figure_data(summary: ExperimentSummary) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every figure's numbers, as CSV tables."""
    seeds_rows = [
        [m.label, s.seed, r["iteration"], r["validation"], r["heldout"], int(r["adopted"])]
        for m in summary.models
        for s in m.seeds
        for r in s.iterations
    ]
    series_rows = [
        [m.label, split, p["iteration"], p["mean"], p["se"], p["n"]]
        for m in summary.models
        for split in ("validation", "heldout")
        for p in m.series[split]
    ]
    return {
        "meta_utility": (["model", "split", "iteration", "mean", "se", "seeds"], series_rows),
        "meta_utility_seeds": (
            ["model", "seed", "iteration", "validation", "heldout", "adopted"],
            seeds_rows,
        ),
        "adoption": (
            ["model", "steps", "adopted"],
            [[m.label, m.steps, m.adopted] for m in summary.models],
        ),
        "strategies": (
            ["model", "iteration", "strategy", "improvers", "analysed", "share"],
            [[m.label, *row] for m in summary.models for row in frequency_rows(m)],
        ),
        "cost": (
            ["model", "part", "calls", "tokens", "cost"],
            [
                [m.label, part, c["calls"], c["tokens"], c["cost"]]
                for m in summary.models
                for part, c in m.cost_by_part.items()
            ],
        ),
    }


def write_report(exp: ExperimentDir, plan: Any = None) -> tuple[Path, Path]:
    """Write the whole report into `<experiment>/report/`; returns (html, markdown)."""
    warm.wait()  # the cells' runs may be warming matplotlib up in a thread
    summary = gather_experiment(exp, plan)
    out = exp.report_dir
    all_tables = tables(summary)
    figures = _figures(summary)
    data = _figure_data(summary)
    for name, (caption, headers, rows) in all_tables.items():
        _write(out / "tables" / f"{name}.md", f"{caption}.\n\n{md_table(headers, rows)}\n")
        _write(out / "tables" / f"{name}.tex", latex_table(headers, rows, caption))
        _write(out / "data" / f"{name}_table.csv", _csv(headers, rows))
    for name, (headers, rows) in data.items():
        _write(out / "data" / f"{name}.csv", _csv(headers, rows))
        _write(
            out / "data" / f"{name}.json",
            json.dumps([dict(zip(headers, r, strict=True)) for r in rows], indent=2, default=str),
        )
    _write(out / "data" / "summary.json", json.dumps(summary.to_json(), indent=2, default=str))
    for name, (_, svg) in figures.items():
        _write(out / "figures" / f"{name}.svg", svg)
    html_path, md_path = out / "report.html", out / "report.md"
    _write(html_path, render_html(summary, all_tables, figures))
    _write(md_path, render_markdown(summary, all_tables, figures))
    return html_path, md_path


SECTIONS = [
    ("headline", "Headline"),
    ("meta_utility", "Meta-utility over iterations"),
    ("comparisons", "Models compared, paired by seed"),
    ("adoption", "Adoption"),
    ("cost", "Cost and tokens"),
    ("transfer", "Transfer"),
    ("sandbox", "Sandbox circumvention"),
    ("strategies", "Strategies"),
]
_FIGURE_OF = {
    "meta_utility": "meta_utility",
    "adoption": "adoption",
    "cost": "cost",
    "strategies": "strategies",
}


def _intro(summary: ExperimentSummary) -> list[str]:
    minutes = int(summary.wall_seconds) // 60
    return [
        f"Experiment {summary.name}: {summary.state}; {len(summary.models)} models,"
        f" wall time {minutes}:{int(summary.wall_seconds) % 60:02d}.",
        cap_text(summary),
    ]


def _cells(summary: ExperimentSummary) -> tuple[list[str], list[list[Any]]]:
    headers = ["cell", "state", "run directory", "calls", "tokens", "message"]
    rows = [
        [c["id"], c["state"], c["run_dir"] or "-", c["calls"], c["tokens"], c["message"][:120]]
        for c in summary.cells
    ]
    return headers, rows


def render_html(
    summary: ExperimentSummary,
    all_tables: dict[str, tuple[str, list[str], list[list[Any]]]],
    figures: dict[str, tuple[str, str]],
) -> str:
    e = run_html._e
    body = [f"<h1>STOP experiment: {e(summary.name)}</h1>"]
    body += [f"<p>{e(line)}</p>" for line in _intro(summary)]
    for key, title in SECTIONS:
        if key not in all_tables:
            continue
        caption, headers, rows = all_tables[key]
        body.append(f'<h2 id="{key}">{e(title)}</h2>')
        fig = _FIGURE_OF.get(key)
        if fig:
            fig_caption, svg = figures[fig]
            body.append(run_html._figure(f"plot-{fig}", svg, fig_caption))
        body.append(f'<p class="muted">{e(caption)}.</p>')
        body.append(run_html.table(headers, rows, left={0, 1} if key != "headline" else 1))
    headers, rows = _cells(summary)
    body.append('<h2 id="cells">Cells</h2>')
    body.append(
        '<p class="muted">Each cell is an ordinary run directory: <code>selftaught show</code>,'
        " <code>selftaught report</code> and <code>selftaught.open_run</code> read it.</p>"
    )
    body.append(run_html.table(headers, rows, left={0, 1, 2, 5}))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{run_html._CSP}">'
        '<link rel="icon" href="data:,">'
        f"<title>STOP experiment: {e(summary.name)}</title>"
        f"<style>{run_html._CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def render_markdown(
    summary: ExperimentSummary,
    all_tables: dict[str, tuple[str, list[str], list[list[Any]]]],
    figures: dict[str, tuple[str, str]],
) -> str:
    out = [f"# STOP experiment: {summary.name}", ""]
    for line in _intro(summary):
        out += [line, ""]
    for key, title in SECTIONS:
        if key not in all_tables:
            continue
        caption, headers, rows = all_tables[key]
        out += [f"## {title}", ""]
        fig = _FIGURE_OF.get(key)
        if fig:
            out += [f"![{figures[fig][0]}](figures/{fig}.svg)", ""]
        out += [f"{caption}.", "", md_table(headers, rows), ""]
    headers, rows = _cells(summary)
    out += ["## Cells", "", md_table(headers, rows), ""]
    return "\n".join(out)
