"""The run table printed at the end of `selftaught run`."""

from __future__ import annotations

from typing import Any

from rich.console import JustifyMethod
from rich.table import Table

from selftaught.lm.usable import short
from selftaught.report.format import money, paired, paired_note, score, seconds


def iteration_table(rows: list[dict[str, Any]], *, title: str = "STOP run") -> Table:
    """One row per iteration, from the `iterations` records."""
    table = Table(
        title=title,
        caption="validation, held-out: meta-utility ± standard error; calls, samples, tokens:"
        " model usage; cost: dollars (? where a price is unknown); usable: share of samples"
        " with code defining the required function (unusable ones by reason: cut at the token"
        " limit, syntax error, no code, no function, wrong arity, edit search text not found); "
        + paired_note(rows),
    )
    columns: list[tuple[str, JustifyMethod]] = [
        ("iter", "right"),
        ("validation", "right"),
        ("held-out", "right"),
        ("calls", "right"),
        ("samples", "right"),
        ("usable", "right"),
        ("tokens", "right"),
        ("cost", "right"),
        ("time", "right"),
        ("paired Δ", "right"),
        ("adopted", "center"),
    ]
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for r in rows:
        samples = r["samples"] or 0
        usable = f"{r['usable'] / samples:.0%}" if samples else "-"
        if r.get("unusable_reasons"):  # one reason a line keeps the column narrow
            usable += "\n" + short(r["unusable_reasons"]).replace(", ", "\n")
        adopted = "yes" if r["adopted"] else "no"
        if r["iteration"] == 0:
            adopted = "start"
        table.add_row(
            str(r["iteration"]),
            score(r["validation"], r["validation_se"]),
            score(r["heldout"], r["heldout_se"]),
            str(r["model_calls"]),
            str(samples),
            usable,
            str((r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0)),
            money(r.get("cost"), r.get("priced", True)),
            seconds(r["seconds"]),
            paired(r),
            adopted,
        )
    return table
