"""A recorded run, read only: what the report, `show`, `export` and `runs` read.

The queries are store/'s (`store.Records`, which opens the records read-only, creating
no file beside them); this adds what the report derives from them and what a run
directory keeps outside its records (`improvers/`, transfer results).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.store.reads import RECORDS, Records
from selftaught.store.rows import CallUsage

__all__ = ["RECORDS", "Candidate", "IterationCost", "RunRecords"]

_CANDIDATE = re.compile(r"^it(\d+)/step/c(\d+)$")


@dataclass
class Candidate:
    """A candidate improver scored by the meta-utility during a self-improvement step."""

    iteration: int
    index: int
    program_hash: str
    score: float
    adopted: bool


@dataclass
class IterationCost:
    """What one iteration cost."""

    iteration: int
    model_calls: int
    samples: int
    usable: int
    prompt_tokens: int
    completion_tokens: int
    model_seconds: float
    wall_seconds: float
    money: float | None
    """Money spent on model calls, where the records hold a cost column."""
    priced: bool = True
    """False where some call's price was unknown (then `money` is a lower bound)."""
    unusable_reasons: dict[str, int] = field(default_factory=dict)
    """Unusable samples by reason (empty in runs recorded before reasons were)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RunRecords(Records):
    """The records of one run directory, opened read-only."""

    # -- what the run is ------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict[str, Any]:
        return self.meta.config

    @property
    def status(self) -> str:
        return self.meta.status

    def improver_source(self, iteration: int) -> str | None:
        """The improver of an iteration: from the records, else from `improvers/`."""
        rows = [r for r in self.iterations() if r.iteration == iteration]
        if rows:
            src = self.program(rows[0].improver_hash)
            if src is not None:
                return src
        file = self.path / "improvers" / f"iter_{iteration:03d}.py"
        return file.read_text() if file.is_file() else None

    def candidate_source(self, candidate: Candidate) -> str | None:
        src = self.program(candidate.program_hash)
        if src is not None:
            return src
        name = f"iter_{candidate.iteration:03d}_candidate_{candidate.index:02d}.py"
        file = self.path / "improvers" / name
        return file.read_text() if file.is_file() else None

    # -- derived tables -------------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        """Every candidate of every step; adopted ones are the improver their iteration adopted."""
        adopted = {r.iteration: r.improver_hash for r in self.iterations() if r.adopted}
        out = []
        for r in self.evaluations(kind="improver"):
            m = _CANDIDATE.match(r.scope or "")
            if r.split != "validation" or not m:
                continue
            it = int(m.group(1))
            out.append(
                Candidate(
                    iteration=it,
                    index=int(m.group(2)),
                    program_hash=r.program_hash or "",
                    score=float(r.score or 0.0),
                    adopted=adopted.get(it) == r.program_hash and it > 0,
                )
            )
        return out

    def costs(self) -> list[IterationCost]:
        usage = self.usage_by_iteration()
        out = []
        for it in self.iterations():
            u = usage.get(it.iteration, CallUsage())  # the iteration's own counts, if no calls
            out.append(
                IterationCost(
                    iteration=it.iteration,
                    model_calls=u.calls or it.model_calls or 0,
                    samples=u.samples or it.samples or 0,
                    usable=u.usable or it.usable or 0,
                    prompt_tokens=u.prompt_tokens or it.prompt_tokens or 0,
                    completion_tokens=u.completion_tokens or it.completion_tokens or 0,
                    model_seconds=u.seconds,
                    wall_seconds=float(it.seconds or 0.0),
                    money=None if u.cost is None else float(u.cost),
                    priced=u.priced,
                    unusable_reasons=u.unusable_reasons,
                )
            )
        return out

    def totals(self) -> dict[str, Any]:
        """Model usage of the whole run, iterations or not (experiments have none)."""
        u = self.usage()
        money = float(u.cost) if u.cost is not None else None
        return {"calls": u.calls, "samples": u.samples, "tokens": u.tokens, "money": money}

    def sandbox_attempts(self) -> list[dict[str, Any]]:
        """Rows of a sandbox experiment (`selftaught sandbox-experiment`), if this is one."""
        return [
            {"condition": r.task, "outcome": r.outcome, "message": r.message}
            for r in self.evaluations(kind="sandbox_attempt")
        ]

    def total_money(self) -> float | None:
        values = [c.money for c in self.costs() if c.money is not None]
        return sum(values) if values else None

    def transfer(self) -> tuple[Path, Any] | None:
        """The transfer results written next to the records, if any: (file, parsed JSON)."""
        files = sorted(self.path.glob("transfer*.json")) + sorted(self.path.glob("transfer/*.json"))
        for file in files:
            try:
                return file, json.loads(file.read_text())
            except (OSError, json.JSONDecodeError):
                continue
        return None
