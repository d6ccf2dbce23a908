"""Provenance of adopted improvers (`show`), writing one out (`export`), listing runs (`runs`)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from selftaught.errors import UserError
from selftaught.program.analysis import analyze_source
from selftaught.report.content import unified_diff
from selftaught.report.format import money, paired, score, seconds
from selftaught.report.records import RECORDS, RunRecords
from selftaught.store.faults import LOCK, holder
from selftaught.store.rows import IterationRow

SHOWN_EVENTS = 200
"""The most audit events `show` lists for one evaluation (it counts them all): their number
is a hostile improver's to set (docs/security.md, "Events")."""


def _iteration_row(records: RunRecords, iteration: int) -> IterationRow:
    rows = records.iterations()
    for r in rows:
        if r["iteration"] == iteration:
            return r
    have = f"iterations 0 to {rows[-1]['iteration']}" if rows else "no iterations yet"
    raise UserError(f"run {records.name} has no iteration {iteration} ({have})")


def provenance(records: RunRecords, iteration: int) -> dict[str, Any]:
    """Where the improver of `iteration` came from, what it scored, what it cost."""
    r = _iteration_row(records, iteration)
    src = records.improver_source(iteration)
    parent = records.program(r["parent_hash"])
    cost = next((c for c in records.costs() if c.iteration == iteration), None)
    cfg = records.config
    scope = f"it{iteration}/eval"
    events = [
        {"scope": e.scope, "kind": e.kind, "program_hash": e.program_hash, "detail": e.detail}
        for e in records.events(iteration=iteration, scope=scope, limit=SHOWN_EVENTS)
    ]
    analysis = analyze_source(src) if src is not None and iteration > 0 else None
    return {
        "run": records.name,
        "iteration": iteration,
        "improver_hash": r["improver_hash"],
        "parent_hash": r["parent_hash"],
        "proposer_hash": r["proposer_hash"],
        "adopted": bool(r["adopted"]),
        "outcome": r["outcome"],
        "message": r["message"],
        "validation": r["validation"],
        "validation_se": r["validation_se"],
        "heldout": r["heldout"],
        "heldout_se": r["heldout_se"],
        "paired_diff": r.get("paired_diff"),
        "paired_lower": r.get("paired_lower"),
        "paired_n": r.get("paired_n"),
        "paired_level": r.get("paired_level"),
        "model": cfg.get("model"),
        "settings": {
            k: cfg.get(k)
            for k in ("tasks", "runs", "budgets", "adoption", "adoption_level", "seed")
        },
        "cost": asdict(cost) if cost else None,
        "audit_events": events,
        "audit_event_count": records.event_count(iteration=iteration, scope=scope),
        "strategies": analysis.strategies if analysis else [],
        "flags": analysis.flags if analysis else [],
        "diff": unified_diff(
            parent,
            src,
            parent_name=f"parent {r['parent_hash']}",
            child_name=f"iteration {iteration} {r['improver_hash']}",
        ),
    }


def format_provenance(p: dict[str, Any]) -> str:
    status = "start" if p["iteration"] == 0 else ("adopted" if p["adopted"] else "not adopted")
    lines = [
        f"iteration {p['iteration']}: improver {p['improver_hash']} ({status})",
        f"  parent:     {p['parent_hash'] or '-'}",
        f"  validation: {score(p['validation'], p['validation_se'])}",
        f"  held-out:   {score(p['heldout'], p['heldout_se'])}",
        f"  paired Δ:   {_paired_line(p)}",
        f"  outcome:    {p['outcome']}{': ' + p['message'] if p['message'] else ''}",
        f"  model:      {p['model']}",
        "  settings:   " + ", ".join(f"{k}={v}" for k, v in p["settings"].items()),
    ]
    c = p["cost"]
    if c:
        lines.append(
            f"  cost:       {c['model_calls']} model calls, {c['samples']} samples, "
            f"{c['prompt_tokens'] + c['completion_tokens']} tokens, "
            f"{seconds(c['wall_seconds'])} wall time, money {money(c['money'])}"
        )
    lines.append(f"  strategies: {', '.join(p['strategies']) or '-'}")
    lines.append(f"  flags:      {', '.join(p['flags']) or '-'}")
    if p["audit_events"]:
        total = p.get("audit_event_count", len(p["audit_events"]))
        lines.append(f"  audit events of its evaluation ({total}):")
        lines += [
            f"    {e['scope']}: {e['kind']} {e['detail'] or ''}"[:200] for e in p["audit_events"]
        ]
        if total > len(p["audit_events"]):
            lines.append(f"    ... and {total - len(p['audit_events'])} more, not shown")
    else:
        lines.append("  audit events of its evaluation: none")
    if p["diff"]:
        lines.append("  diff against its parent:")
        lines += ["    " + line for line in p["diff"].rstrip("\n").splitlines()]
    return "\n".join(lines)


def _paired_line(p: dict[str, Any]) -> str:
    """The paired difference behind the adoption decision, with its interval."""
    if p["paired_diff"] is None:
        return "-"
    text = paired(p)
    if p["paired_lower"] is not None:
        text += f" (one-sided {p['paired_level']:.0%} interval"
    elif (p["paired_n"] or 0) < 2:
        text += " (one pair: no interval"
    else:
        text += " (no interval"
    return text + f", {p['paired_n']} paired runs, rule {p['settings']['adoption']})"


def shown_iterations(records: RunRecords, iteration: int | None) -> list[int]:
    """The iteration asked for, or every iteration whose improver was adopted."""
    if iteration is not None:
        _iteration_row(records, iteration)
        return [iteration]
    return [r["iteration"] for r in records.iterations() if r["adopted"]]


def export_improver(records: RunRecords, iteration: int, output: Path) -> Path:
    _iteration_row(records, iteration)
    src = records.improver_source(iteration)
    if src is None:
        raise UserError(
            f"run {records.name}: the improver of iteration {iteration} is not recorded"
        )
    output = Path(output)
    if output.is_dir():
        raise UserError(f"{output} is a folder; give a file name, e.g. improver.py")
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(src)
    os.replace(tmp, output)
    return output


@dataclass
class RunSummary:
    """One line of `selftaught runs`."""

    path: Path
    status: str
    created: str
    model: str
    iterations: int
    best_heldout: float | None
    best_heldout_se: float | None
    model_calls: int
    tokens: int
    money: float | None


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _live_status(records: RunRecords) -> str:
    """The recorded status, corrected by who holds the run's lock right now: `running`
    only while a live process holds it, `locked` while one holds it for something else
    (a resume getting ready), `stopped` for a run killed without a chance to say so."""
    status = records.status
    if (records.path / LOCK).exists():
        held = holder(records.path) is not None
        if held:
            return "running" if status == "running" else "locked"
        return "stopped" if status == "running" else status
    if status == "running" and "pid" in records.meta and not _pid_alive(records.meta["pid"]):
        return "stopped"  # a run from before the lock: killed without a chance to record it
    return status


def summarize(records: RunRecords) -> RunSummary:
    rows = records.iterations()
    held = [r for r in rows if r["heldout"] is not None and (r["adopted"] or r["iteration"] == 0)]
    best = max(held, key=lambda r: r["heldout"], default=None)
    totals = records.totals()
    status = _live_status(records)
    return RunSummary(
        path=records.path,
        status=status,
        created=str(records.meta.get("created", ""))[:19].replace("T", " "),
        model=str(records.config.get("model", "?")),
        iterations=max((r["iteration"] for r in rows), default=-1),
        best_heldout=best["heldout"] if best else None,
        best_heldout_se=best["heldout_se"] if best else None,
        model_calls=int(totals["calls"]),
        tokens=int(totals["tokens"]),
        money=totals["money"],
    )


def list_runs(folder: Path) -> list[RunSummary | tuple[Path, str]]:
    """Each run directory in `folder` (or `folder` itself when it is one), oldest first.

    A directory with records this version cannot read appears as (path, reason).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"no such folder: {folder}")
    candidates = [folder] if (folder / RECORDS).is_file() else sorted(folder.iterdir())
    out: list[RunSummary | tuple[Path, str]] = []
    for path in candidates:
        if not (path / RECORDS).is_file():
            continue
        try:
            with RunRecords(path) as records:
                out.append(summarize(records))
        except UserError as exc:
            out.append((path, str(exc)))
    return out
