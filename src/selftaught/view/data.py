"""What each page of the view shows, as JSON-ready dicts read from a run's records.

Every read opens the records read-only for the length of one request (`RunRecords`, the
report's reader) and closes them: the view holds no connection while a run writes, so a
finishing run can checkpoint and remove its `-wal` as it would unwatched. Record text
(programs, prompts, responses, messages, event details) is passed on as it is: the
browser inserts it as text, never as markup.
"""

from __future__ import annotations

import functools
import json
import math
import re
from decimal import Decimal
from typing import Any

from selftaught.errors import UserError
from selftaught.program.analysis import Analysis, analyze_source
from selftaught.report.content import unified_diff
from selftaught.report.records import RunRecords
from selftaught.stats import mean_se
from selftaught.store.rows import EvaluationRow, ModelCallRow
from selftaught.view.folders import Folders, RunRef, live_status

_SCOPE = re.compile(r"^it(\d+)/(step|eval)")
_CANDIDATE = re.compile(r"^it(\d+)/step/c(\d+)$")
_HASH = re.compile(r"^[0-9a-f]{6,64}$")
PAGE = 100
"""Rows per page of the calls and evaluations lists."""


class ViewError(Exception):
    """What a page shows instead of its content: a one-line message and an HTTP status."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


LIVE_EVENTS = 200
"""The most audit events one answer of the view holds (the run page shows the last, an
evaluation's page the first, with the count): their number is a hostile improver's to set
(docs/security.md, "Events")."""


def open_records(ref: RunRef) -> RunRecords:
    """The run's records, read-only; a folder that is no readable run is a `ViewError`."""
    try:
        return RunRecords(ref.path)
    except UserError as exc:
        raise ViewError(str(exc), 409) from None


def _money(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _num(value: Any) -> Any:
    """A float JSON can carry (NaN and infinities as None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- the runs list --------------------------------------------------------------------


def runs_list(folders: Folders) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    for folder in folders.folders:
        problem = folders.problem(folder)
        if problem:
            problems.append({"path": str(folder.path), "message": problem})
        for ref in folders.runs(folder):
            try:
                with open_records(ref) as records:
                    runs.append(run_summary(records, ref))
            except Exception as exc:  # noqa: BLE001 - one unreadable run is a line, not a failed list
                problems.append({"path": str(ref.path), "message": _message(exc)})
    return {"folders": [str(f.path) for f in folders.folders], "runs": runs, "problems": problems}


def _message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ViewError) else f"cannot read the records: {exc}"


def run_summary(records: RunRecords, ref: RunRef) -> dict[str, Any]:
    """One row of the runs list."""
    meta = records.meta
    cfg = records.config
    rows = records.iterations()
    held = [r for r in rows if r.heldout is not None and (r.adopted or r.iteration == 0)]
    best = max(held, key=lambda r: r.heldout or 0.0, default=None)
    usage = records.usage()
    status = live_status(records.path, records.status, meta.get("pid"))
    return {
        "key": ref.key,
        "name": ref.name,
        "path": str(ref.path),
        "status": status,
        "live": status == "running",
        "kind": meta.get("kind"),
        "created": str(meta.get("created", ""))[:19].replace("T", " "),
        "model": str(cfg.get("model", "?")),
        "tasks": list(cfg.get("tasks") or []),
        "iterations": len(rows),
        "planned_iterations": cfg.get("iterations"),
        "best_heldout": _num(best.heldout) if best else None,
        "best_heldout_se": _num(best.heldout_se) if best else None,
        "best_iteration": best.iteration if best else None,
        "calls": usage.calls,
        "tokens": usage.tokens,
        "cost": _money(usage.cost),
        "priced": usage.priced,
    }


# -- one run, live --------------------------------------------------------------------


def _latest_scope(
    records: RunRecords, evaluations: list[EvaluationRow]
) -> tuple[str | None, float]:
    """The scope and time of the last evaluation or improver run; the step of a later
    iteration when its model calls came after them (a step asks the model first)."""
    latest: tuple[str | None, float] = (None, -1.0)
    runs = records.improver_runs() if "improver_runs" in records.tables else []
    for rows in (evaluations, runs):
        if rows and (rows[-1].created or 0) > latest[1]:
            latest = (rows[-1].scope, rows[-1].created or 0)
    called = [t for t in records.usage_by_iteration() if t is not None]
    m = _SCOPE.match(latest[0] or "")
    if called and (m is None or max(called) > int(m.group(1))):
        latest = (f"it{max(called)}/step", latest[1])
    return latest


def stage(records: RunRecords, status: str, evaluations: list[EvaluationRow]) -> dict[str, Any]:
    """Where the run is: the iteration and stage of the last record it wrote."""
    scope, when = _latest_scope(records, evaluations)
    m = _SCOPE.match(scope or "")
    iteration = int(m.group(1)) if m else None
    if status != "running":
        what = status
    elif m is None:
        what = "starting"
    elif m.group(2) == "step":
        what = f"iteration {iteration}: self-improvement step"
    elif iteration == 0:
        what = "iteration 0: scoring the starting improver"
    else:
        what = f"iteration {iteration}: scoring the chosen improver"
    return {
        "iteration": iteration,
        "stage": what,
        "scope": scope,
        "at": when if when >= 0 else None,
    }


def _caps(cfg: dict[str, Any]) -> dict[str, Any]:
    lm = cfg.get("lm") if isinstance(cfg.get("lm"), dict) else {}
    return {
        "max_run_tokens": (lm or {}).get("max_run_tokens"),
        "max_run_cost": (lm or {}).get("max_run_cost"),
    }


@functools.lru_cache(maxsize=4096)
def _analysis(source: str) -> Analysis:
    return analyze_source(source)


def run_live(records: RunRecords, ref: RunRef) -> dict[str, Any]:
    """Everything the run page shows but the drill-downs: it is polled every second."""
    summary = run_summary(records, ref)
    usage = records.usage()
    iterations = records.iterations()
    adopted = {r.iteration: r.improver_hash for r in iterations if r.adopted}
    evaluations = records.evaluations()
    candidates = []
    for e in evaluations:
        if e.kind != "improver":
            continue
        m = _CANDIDATE.match(e.scope or "")
        if e.split != "validation" or not m:
            continue
        it = int(m.group(1))
        candidates.append(
            {
                "iteration": it,
                "index": int(m.group(2)),
                "program_hash": e.program_hash,
                "score": _num(e.score),
                "adopted": it > 0 and adopted.get(it) == e.program_hash,
                "evaluation": e.id,
            }
        )
    lineage = []
    for r in iterations:
        src = records.program(r.improver_hash) if r.iteration > 0 else None
        analysis = _analysis(src) if src is not None else None
        lineage.append(
            {
                "iteration": r.iteration,
                "improver_hash": r.improver_hash,
                "parent_hash": r.parent_hash,
                "adopted": bool(r.adopted),
                "strategies": analysis.strategies if analysis else [],
                "flags": analysis.flags if analysis else [],
            }
        )
    events = [
        {
            "id": e.id,
            "iteration": e.iteration,
            "scope": e.scope,
            "kind": e.kind,
            "program_hash": e.program_hash,
            "detail": e.detail,
        }
        for e in records.events(limit=LIVE_EVENTS, last=True)
    ]
    return {
        **summary,
        "config": records.config,
        "meta": {k: v for k, v in records.meta.items() if k not in ("config", "instance_key")},
        "now": stage(records, summary["status"], evaluations),
        "usage": {
            "calls": usage.calls,
            "samples": usage.samples,
            "usable": usage.usable,
            "usable_share": usage.usable / usage.samples if usage.samples else None,
            "unusable_reasons": usage.unusable_reasons,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "tokens": usage.tokens,
            "cost": _money(usage.cost),
            "priced": usage.priced,
            "model_seconds": usage.seconds,
            **_caps(records.config),
        },
        "iteration_rows": [_iteration(r) for r in iterations],
        "candidates": candidates,
        "lineage": lineage,
        "events": events,
        "event_count": records.event_count(),
        "evaluation_count": len(evaluations),
        "recent_evaluations": [_evaluation_row(e) for e in evaluations[-15:]],
    }


def _iteration(r: Any) -> dict[str, Any]:
    return {
        "iteration": r.iteration,
        "improver_hash": r.improver_hash,
        "parent_hash": r.parent_hash,
        "validation": _num(r.validation),
        "validation_se": _num(r.validation_se),
        "heldout": _num(r.heldout),
        "heldout_se": _num(r.heldout_se),
        "paired_diff": _num(r.paired_diff),
        "paired_lower": _num(r.paired_lower),
        "paired_n": r.paired_n,
        "paired_level": r.paired_level,
        "adopted": bool(r.adopted),
        "outcome": r.outcome,
        "message": r.message,
        "model_calls": r.model_calls,
        "samples": r.samples,
        "usable": r.usable,
        "unusable_reasons": r.unusable_reasons,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "evaluations": r.evaluations,
        "seconds": _num(r.seconds),
        "cost": _money(r.cost),
        "priced": r.priced,
    }


# -- model calls and evaluations ------------------------------------------------------


_CALL_DETAIL = ("system", "messages", "responses", "answers", "notes", "unusable_reasons")


def calls_page(records: RunRecords, *, offset: int, limit: int = PAGE) -> dict[str, Any]:
    """Model calls in the order they were made, `limit` from `offset`, without their
    prompts and samples (`call_detail` has those). Read on demand, never polled: the
    calls carry every prompt and sample of the run."""
    calls = records.model_calls()
    start = max(offset, 0)
    rows = [_call_row(c) for c in calls[start : start + limit]]
    return {"total": len(calls), "offset": start, "calls": rows}


def _call_row(c: ModelCallRow) -> dict[str, Any]:
    r = {k: v for k, v in c.as_dict().items() if k not in _CALL_DETAIL}
    r["tokens"] = (c.prompt_tokens or 0) + (c.completion_tokens or 0)
    r["cost"] = float(c.cost) if c.cost else None
    return r


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def call_detail(records: RunRecords, call_id: int) -> dict[str, Any]:
    """One model call: its prompt, every sample, which sample its caller received."""
    found = [c for c in records.model_calls() if c.id == call_id]
    if not found:
        raise ViewError(f"run {records.name} has no model call {call_id}")
    r = found[0].as_dict()
    out = {k: v for k, v in r.items() if k not in ("messages", "responses", "answers")}
    out["cost"] = float(r["cost"]) if r.get("cost") else None
    out["messages"] = _json(r.get("messages"))
    out["responses"] = _json(r.get("responses"))
    out["answers"] = _json(r.get("answers"))
    out["unusable_reasons"] = _json(r.get("unusable_reasons"))
    return out


def _evaluation_row(e: EvaluationRow) -> dict[str, Any]:
    return {k: _num(v) for k, v in e.as_dict().items() if k not in ("message", "seeds")}


def evaluations_page(records: RunRecords, *, offset: int, limit: int = PAGE) -> dict[str, Any]:
    evaluations = records.evaluations()
    start = max(offset, 0)
    rows = [_evaluation_row(e) for e in evaluations[start : start + limit]]
    return {"total": len(evaluations), "offset": start, "evaluations": rows}


def evaluation_detail(records: RunRecords, evaluation_id: int) -> dict[str, Any]:
    """One evaluation: the program scored, on which task and split, and how it did."""
    found = [e for e in records.evaluations() if e.id == evaluation_id]
    if not found:
        raise ViewError(f"run {records.name} has no evaluation {evaluation_id}")
    e = found[0]
    out = {k: _num(v) for k, v in e.as_dict().items()}
    out["seeds"] = _json(e.seeds)
    out["program"] = records.program(e.program_hash)
    out["events"] = [
        {"id": x.id, "scope": x.scope, "kind": x.kind, "detail": x.detail}
        for x in records.events(
            iteration=e.iteration, program_hash=e.program_hash or "", limit=LIVE_EVENTS
        )
    ]
    out["event_count"] = records.event_count(
        iteration=e.iteration, program_hash=e.program_hash or ""
    )
    return out


# -- lineage and programs -------------------------------------------------------------


def lineage_step(records: RunRecords, iteration: int) -> dict[str, Any]:
    """An iteration's improver, its parent, the diff between them, labels and flags."""
    rows = [r for r in records.iterations() if r.iteration == iteration]
    if not rows:
        raise ViewError(f"run {records.name} has no iteration {iteration}")
    r = rows[0]
    src = records.improver_source(iteration)
    parent = records.program(r.parent_hash)
    analysis = _analysis(src) if src is not None and iteration > 0 else None
    return {
        **_iteration(r),
        "code": src,
        "parent_code": parent,
        "diff": unified_diff(
            parent,
            src,
            parent_name=f"parent {r.parent_hash}",
            child_name=f"iteration {iteration} {r.improver_hash}",
        ),
        "strategies": analysis.strategies if analysis else [],
        "flags": analysis.flags if analysis else [],
        "analysis_error": analysis.error if analysis else None,
    }


def program(records: RunRecords, digest: str) -> dict[str, Any]:
    if not _HASH.match(digest):
        raise ViewError("a program is named by its hash (hex digits)", 400)
    source = records.program(digest)
    if source is None:
        raise ViewError(f"run {records.name} has no program {digest}")
    analysis = _analysis(source)
    return {
        "hash": digest,
        "source": source,
        "strategies": analysis.strategies,
        "flags": analysis.flags,
    }


# -- compare --------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def compare(runs: list[tuple[RunRef, RunRecords]]) -> dict[str, Any]:
    """Several runs: each run's curve, the mean ± SE across runs per iteration, the
    settings that differ between their configs, and what each cost."""
    per_run = []
    configs = []
    for ref, records in runs:
        summary = run_summary(records, ref)
        rows = records.iterations()
        per_run.append(
            {
                **summary,
                "curve": [
                    {
                        "iteration": r.iteration,
                        "validation": _num(r.validation),
                        "heldout": _num(r.heldout),
                        "adopted": bool(r.adopted),
                    }
                    for r in rows
                ],
                "samples": records.usage().samples,
            }
        )
        configs.append(_flatten(records.config))
    its = sorted({p["iteration"] for r in per_run for p in r["curve"]})
    across = []
    for t in its:
        point: dict[str, Any] = {"iteration": t}
        for key in ("validation", "heldout"):
            values = [
                p[key]
                for r in per_run
                for p in r["curve"]
                if p["iteration"] == t and p[key] is not None
            ]
            mean, se = mean_se(values) if values else (None, None)
            point[key] = _num(mean)
            point[f"{key}_se"] = _num(se)
            point[f"{key}_n"] = len(values)
        across.append(point)
    keys = sorted({k for c in configs for k in c})
    differ = [
        {"setting": k, "values": [c.get(k) for c in configs]}
        for k in keys
        if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1
    ]
    return {"runs": per_run, "across": across, "config_differences": differ}
