"""`write_report`: records of one or more runs in, `report.html` and `report.md` out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.report import plots, warm
from selftaught.report.content import RunContent, across_runs, gather
from selftaught.report.html import render_html
from selftaught.report.markdown import render_markdown
from selftaught.report.records import RunRecords

PLOTS_DIR = "report_plots"


@dataclass
class ReportFiles:
    html: Path
    markdown: Path


def load_runs(run_dirs: list[Path]) -> list[RunContent]:
    """Every run's content; a directory that is not a run raises UserError before any write."""
    contents = []
    for path in run_dirs:
        with RunRecords(path) as records:
            contents.append(gather(records))
    return contents


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(run_dirs: Sequence[Path | str], out_dir: Path | str | None = None) -> ReportFiles:
    """Write `report.html` and `report.md` (and the Markdown's SVG plots in `report_plots/`).

    `out_dir` defaults to the run directory for one run and the current folder for several.
    """
    warm.wait()  # matplotlib is not for two threads at once
    paths = [Path(p) for p in run_dirs]
    runs = load_runs(paths)
    out = Path(out_dir) if out_dir is not None else (paths[0] if len(paths) == 1 else Path("."))
    out.mkdir(parents=True, exist_ok=True)
    across = across_runs(runs)
    html_path, md_path = out / "report.html", out / "report.md"
    svgs = plots.all_svgs(runs, across)
    _write(html_path, render_html(runs, across, svgs))

    plot_dir = out / PLOTS_DIR
    plot_dir.mkdir(exist_ok=True)
    plot_files = {}
    for key, svg in svgs.items():
        if key.startswith("meta-") and key != "meta-utility":
            continue  # the HTML's per-run plots; the Markdown shows the runs together
        _write(plot_dir / f"{key}.svg", svg)
        plot_files[key] = f"{PLOTS_DIR}/{key}.svg"
    _write(md_path, render_markdown(runs, across, plot_files))
    return ReportFiles(html=html_path, markdown=md_path)


def report_after_run(run_dir: Path | str, console: Any) -> Path | None:
    """Write the report of a run that just ended; a failure is a warning, never an error.

    Called from `selftaught run`'s `finally`: the run is recorded whatever happens here.
    """
    try:
        files = write_report([Path(run_dir)])
    except Exception as exc:  # noqa: BLE001 - the run must survive a report bug
        console.print(f"warning: no report written: {type(exc).__name__}: {exc}", highlight=False)
        return None
    console.print(f"report: {files.html}", highlight=False)
    return files.html
