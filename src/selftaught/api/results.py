"""What the public functions return: plain dataclasses whose repr is a small table (text in
a terminal, HTML in a notebook)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.stop.solutions import Evaluation
from selftaught.stop.transfer import TransferResult as TransferTable


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class TableRepr:
    """Mixin: `_table()` gives (title, headers, rows); repr and `_repr_html_` show them."""

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        title, headers, rows = self._table()
        cells = [headers] + [[_cell(v) for v in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        lines = [title]
        for n, row in enumerate(cells):
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        title, headers, rows = self._table()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        return (
            f"<table><caption>{html.escape(title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


@dataclass(repr=False)
class Usage(TableRepr):
    """What model calls cost: calls, samples, tokens and money (None where unpriced)."""

    calls: int = 0
    samples: int = 0
    tokens: int = 0
    cost: Decimal | None = None

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        return (
            "usage",
            ["calls", "samples", "tokens", "cost"],
            [[self.calls, self.samples, self.tokens, self.cost]],
        )


@dataclass(repr=False)
class ScoreResult(TableRepr):
    """A program's score on one split of one task, and how its instances went.
    `cpu_seconds` is the workers' CPU time (kept for speed tasks)."""

    task: str
    split: str
    score: float
    instances: int
    solved: int
    failed: int
    timed_out: int
    outcome: str
    message: str = ""
    seconds: float = 0.0
    cpu_seconds: float | None = None

    @classmethod
    def of(cls, task: str, split: str, ev: Evaluation) -> ScoreResult:
        return cls(
            task,
            split,
            ev.score,
            ev.instances,
            ev.solved,
            ev.failed,
            ev.timed_out,
            ev.outcome,
            ev.message,
            ev.seconds,
            ev.cpu_seconds,
        )

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        headers = ["task", "split", "score", "instances", "answered", "failed", "timed out"]
        row = [self.task, self.split, self.score, self.instances, self.solved, self.failed]
        return f"score ({self.outcome})", headers, [[*row, self.timed_out]]


@dataclass
class Candidate:
    """A program an improver asked the utility to score, and the score it got."""

    program: str
    score: float


@dataclass(repr=False)
class ImproveResult(TableRepr):
    """One improver run on a program: the program it returned (None if it failed), its
    scores next to the input's, what it spent, the candidates it tried, where it is
    recorded."""

    task: str
    program: str | None
    input_program: str
    validation: float | None
    heldout: float | None
    input_validation: float
    input_heldout: float | None
    outcome: str
    message: str
    usage: Usage
    candidates: list[Candidate]
    run_dir: Path
    before: Evaluation
    after: Evaluation | None = None

    @property
    def improved(self) -> bool:
        """The returned program scores better than the input on validation."""
        return self.validation is not None and self.validation > self.input_validation

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        rows: list[list[Any]] = [
            ["input", self.input_validation, self.input_heldout],
            ["returned", self.validation, self.heldout],
        ]
        title = (
            f"improve on {self.task}: {self.outcome}; {len(self.candidates)} candidates, "
            f"{self.usage.calls} model calls, {self.usage.tokens} tokens"
        )
        return title, ["program", "validation", "held-out"], rows


@dataclass(repr=False)
class RunResult(TableRepr):
    """A STOP run: one row per iteration (what the run table shows), the improver of each
    iteration and which were adopted, and where it is recorded."""

    run_dir: Path
    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    improvers: dict[int, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    samples: int = 0
    usable: int = 0
    exit_code: int = 0
    """The command line's exit code for how the run ended: 75 when a fault outside the
    run stopped it (the model server gone, a full disk; resumable), else 0 (docs/scaling.md)."""

    @property
    def adopted(self) -> list[int]:
        """Iterations whose improver was adopted (iteration 0 is the starting improver)."""
        return [r["iteration"] for r in self.rows if r["adopted"]]

    @property
    def improver(self) -> str | None:
        """The improver the run ended with: the last adopted one."""
        adopted = self.adopted
        return self.improvers.get(adopted[-1]) if adopted else None

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        from selftaught.report.format import paired

        headers = ["iteration", "validation", "held-out", "calls", "tokens", "paired Δ", "adopted"]
        rows = [
            [
                r["iteration"],
                r["validation"],
                r["heldout"],
                r["model_calls"],
                r["prompt_tokens"] + r["completion_tokens"],
                paired(r),
                "yes" if r["adopted"] else "no",
            ]
            for r in self.rows
        ]
        return f"STOP run {self.run_dir.name} ({self.status})", headers, rows


@dataclass(repr=False)
class TransferResult(TransferTable, TableRepr):
    """The paper's Table 1: per task (`rows`), the seed solution's held-out utility and
    each improver's held-out meta-utility as a `Cell` (mean, se, values, usage)."""

    run_dir: Path | None = None

    __repr__ = TableRepr.__repr__

    @classmethod
    def of(cls, table: TransferTable, run_dir: Path) -> TransferResult:
        return cls(**vars(table), run_dir=run_dir)

    def to_json(self) -> dict:
        data = super().to_json()
        data.pop("run_dir", None)
        return data

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        headers = ["task", "seed solution", *self.improvers]
        rows = [
            [
                row.task,
                f"{100 * row.seed_solution:.1f}",
                *[
                    f"{100 * row.improvers[k].mean:.1f} ± {100 * row.improvers[k].se:.1f}"
                    for k in self.improvers
                ],
            ]
            for row in self.rows
        ]
        return f"transfer: held-out utility (%), {self.runs} runs, {self.model}", headers, rows
