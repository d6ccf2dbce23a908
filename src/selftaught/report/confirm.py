"""Confirming static strategy labels by asking a model (`selftaught analyze --confirm`).

For each generated improver and each strategy label static analysis gave it, the model
gets the improver's code and one yes/no question. Answers are parsed leniently (a yes or
no at the start of the reply, after quotes, markdown or an `Answer:` prefix); anything
else is `unclear`. The results go to a JSON file outside the run directory: the run's
records are never written to.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from selftaught.errors import UserError
from selftaught.lm.base import Backend, Request, Usage
from selftaught.lm.session import derive_seed
from selftaught.report.content import ProgramAnalysis
from selftaught.report.records import Candidate, RunRecords

Answer = Literal["yes", "no", "unclear"]

DESCRIPTIONS: dict[str, str] = {
    "beam_search": "beam search (it keeps only the best few candidates in each round)",
    "genetic_algorithm": "a genetic algorithm (a population of candidates that are mutated "
    "or crossed over)",
    "simulated_annealing": "simulated annealing (it sometimes accepts a worse candidate, "
    "less often as a temperature falls)",
    "bandit": "a bandit over prompts or temperatures (it tries options and favours those "
    "that scored well)",
    "decomposition": "decomposition (it splits the program into parts and improves them "
    "separately)",
    "temperature_schedule": "a temperature schedule (it asks the model at different temperatures)",
    "caching": "caching of utility calls (it remembers scores so it does not score the same "
    "code twice)",
    "parallel_calls": "parallel calls (threads, processes or asyncio)",
    "early_stopping": "early stopping (it stops searching once results stop improving)",
}
"""The question asked for each strategy label, in plain words."""

SYSTEM = "You review Python code. Answer the question with one word, yes or no."
MAX_TOKENS = 16
_ANSWER = re.compile(r"^[\W_]*(?:answer\s*[:\-]?[\W_]*)?(yes|no)\b", re.IGNORECASE)


def parse_answer(text: str) -> Answer:
    """`yes` or `no` when the reply starts with that word (ignoring case, quotes, markdown
    and an `Answer:` prefix), else `unclear`."""
    m = _ANSWER.match(text or "")
    if m is None:
        return "unclear"
    return "yes" if m.group(1).lower() == "yes" else "no"


def question(label: str, source: str) -> str:
    """The user message asking whether `source` uses the strategy `label`."""
    what = DESCRIPTIONS.get(label, label.replace("_", " "))
    return (
        f"Does this Python program use {what}?\n\n```python\n{source.strip()}\n```\n\n"
        f"Does the program above use {what}? Answer yes or no."
    )


@dataclass
class LabelAnswer:
    """The model's answer about one static label of one improver."""

    label: str
    answer: Answer
    reply: str
    """The model's reply as it came back ('' when the call failed)."""
    error: str | None = None
    """Why the call failed (then the answer is `unclear`)."""


@dataclass
class ConfirmedImprover:
    """One generated improver, its static labels and the model's answers about them."""

    iteration: int
    what: str
    program_hash: str
    strategies: list[str]
    answers: list[LabelAnswer] = field(default_factory=list)


@dataclass
class Confirmation:
    """Every answer about one run, and what asking cost."""

    run: str
    model: str
    improvers: list[ConfirmedImprover]
    usage: Usage = field(default_factory=Usage)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def counts(self) -> dict[str, Counter]:
        """Per strategy label: `static` (improvers labelled) and `yes`/`no`/`unclear`."""
        out: dict[str, Counter] = {label: Counter() for label in DESCRIPTIONS}
        for imp in self.improvers:
            for a in imp.answers:
                c = out.setdefault(a.label, Counter())
                c["static"] += 1
                c[a.answer] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "run": self.run,
            "model": self.model,
            "created": self.created,
            "system": SYSTEM,
            "questions": DESCRIPTIONS,
            "improvers": [asdict(i) for i in self.improvers],
            "counts": {
                label: {k: c[k] for k in ("static", "yes", "no", "unclear")}
                for label, c in self.counts().items()
            },
            "usage": {
                "calls": usage.calls,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost": str(usage.cost),
                "priced": usage.priced,
            },
        }


def _ask(
    backend: Backend, label: str, imp: ProgramAnalysis, source: str
) -> tuple[LabelAnswer, Usage]:
    request = Request(
        system=SYSTEM,
        user=question(label, source),
        n=1,
        temperature=0.0,
        max_tokens=MAX_TOKENS,
        seed=derive_seed("confirm", imp.program_hash, label),
    )
    try:
        reply = backend.complete(request)
    except Exception as exc:  # noqa: BLE001 - one failed question is recorded, not fatal
        return LabelAnswer(label, "unclear", "", f"{type(exc).__name__}: {exc}"), Usage()
    text = reply.completions[0].text if reply.completions else ""
    return LabelAnswer(label, parse_answer(text), text), reply.usage


def confirm_labels(
    improvers: list[tuple[ProgramAnalysis, str]],
    backend: Backend,
    *,
    run: str,
    concurrency: int = 1,
) -> Confirmation:
    """Ask `backend` about every strategy label of every `(analysis, source)` pair."""
    jobs = [(imp, src, label) for imp, src in improvers for label in imp.analysis.strategies]
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(lambda j: _ask(backend, j[2], j[0], j[1]), jobs))
    out = Confirmation(
        run=run,
        model=backend.name,
        improvers=[
            ConfirmedImprover(a.iteration, a.where, a.program_hash, list(a.analysis.strategies))
            for a, _ in improvers
        ],
    )
    by_key = {(i.iteration, i.program_hash): i for i in out.improvers}
    for (imp, _, _), (answer, usage) in zip(jobs, results, strict=True):
        by_key[(imp.iteration, imp.program_hash)].answers.append(answer)
        out.usage = out.usage + usage
    return out


def with_sources(
    records: RunRecords, analyses: list[ProgramAnalysis]
) -> list[tuple[ProgramAnalysis, str]]:
    """Each analysed improver with its code (improvers whose code is gone are left out)."""
    out = []
    for a in analyses:
        src = records.program(a.program_hash)
        if src is None and a.where.startswith("candidate "):
            index = int(a.where.split()[-1])
            src = records.candidate_source(Candidate(a.iteration, index, a.program_hash, 0, False))
        elif src is None:
            src = records.improver_source(a.iteration)
        if src is not None:
            out.append((a, src))
    return out


def output_path(run_dir: Path, path: Path | None) -> Path:
    """Where the answers go: `path`, else `confirm_<run name>.json` in the current folder.
    A path inside the run directory is refused, before any model is asked."""
    run = Path(run_dir).resolve()
    target = Path(path or f"confirm_{run.name}.json").resolve()
    if target.is_relative_to(run):
        raise UserError(f"refusing to write {target} inside the run directory {run_dir}")
    return target


def write_confirmation(confirmation: Confirmation, target: Path) -> Path:
    """Write the answers as JSON."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(confirmation.to_json(), indent=2) + "\n")
    return target
