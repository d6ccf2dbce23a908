"""The record kinds of a run, as typed frozen rows.

Each row type's fields are its table's columns, holding what the table holds (JSON text
stays text). A row reads by attribute (`row.score`) or, as the records were read before
these types, as a read-only mapping (`row["score"]`, `row.get("paired_diff")`). Fields
marked `derived` are worked out from other tables when read and are never written.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Self

DERIVED = {"derived": True}


class Row(Mapping[str, Any]):
    """Base of the row types: attribute access plus a read-only mapping of the fields."""

    __slots__ = ()

    @classmethod
    @functools.cache
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    @functools.cache
    def columns(cls) -> tuple[str, ...]:
        """The fields stored in the table (not the derived ones)."""
        return tuple(f.name for f in fields(cls) if not f.metadata.get("derived"))  # type: ignore[arg-type]

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Self:
        """A row from what a table held: columns this version does not know are left out,
        columns an older file lacks are None."""
        known = cls.names()
        return cls(**{k: v for k, v in values.items() if k in known})

    def __getitem__(self, key: str) -> Any:
        if key not in self.names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.names()}


@dataclass(frozen=True)
class ModelCallRow(Row):
    """One model call: the request, every response, tokens, time, money (`cost` is a
    decimal string in dollars; `priced` 0 where the price was unknown)."""

    iteration: int
    scope: str | None = None
    backend: str | None = None
    system: str | None = None
    messages: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    responses: str | None = None
    samples: int | None = None
    usable: int | None = None
    unusable_reasons: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None
    error: str | None = None
    truncated: int | None = None
    cost: str | None = None
    priced: int | None = None
    cached: int | None = None
    attempts: int | None = None
    notes: str | None = None
    answers: str | None = None
    """JSON: for each message sent (a batch past `max_responses_per_call` is cut first),
    the index in `responses` of the response the caller received; the model layer may
    have drawn again, and `responses` then holds more than the caller saw. None for a
    failed call, and in records written before the column, whose notes name the draws
    received where any were drawn again."""
    id: int | None = None
    created: float | None = None


@dataclass(frozen=True)
class EvaluationRow(Row):
    """One program scored on one split of a task (`kind`: solution, improver or
    sandbox_attempt)."""

    iteration: int
    scope: str | None = None
    kind: str | None = None
    program_hash: str | None = None
    task: str | None = None
    split: str | None = None
    seeds: str | None = None
    score: float | None = None
    instances: int | None = None
    solved: int | None = None
    failed: int | None = None
    timed_out: int | None = None
    outcome: str | None = None
    message: str | None = None
    seconds: float | None = None
    cache_hit: int | None = None
    id: int | None = None
    created: float | None = None


@dataclass(frozen=True)
class ImproverRunRow(Row):
    """One run of an improver on one task, and the scores of what it returned."""

    iteration: int
    scope: str | None = None
    purpose: str | None = None
    improver_hash: str | None = None
    task: str | None = None
    initial_hash: str | None = None
    returned_hash: str | None = None
    outcome: str | None = None
    message: str | None = None
    validation: float | None = None
    heldout: float | None = None
    model_calls: int | None = None
    utility_calls: int | None = None
    seconds: float | None = None
    id: int | None = None
    created: float | None = None


@dataclass(frozen=True)
class IterationRow(Row):
    """One iteration of the loop: its improver, scores, adoption decision and usage.
    Read back, it also carries what its model calls cost (`cost`, `priced`) and why
    samples were unusable (`unusable_reasons`), from the model_calls table."""

    iteration: int
    improver_hash: str | None = None
    parent_hash: str | None = None
    proposer_hash: str | None = None
    validation: float | None = None
    validation_se: float | None = None
    heldout: float | None = None
    heldout_se: float | None = None
    adopted: int | None = None
    outcome: str | None = None
    message: str | None = None
    model_calls: int | None = None
    samples: int | None = None
    usable: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    evaluations: int | None = None
    seconds: float | None = None
    paired_diff: float | None = None
    paired_lower: float | None = None
    paired_n: int | None = None
    paired_level: float | None = None
    created: float | None = None
    cost: Decimal = field(default=Decimal(0), metadata=DERIVED)
    priced: bool = field(default=True, metadata=DERIVED)
    unusable_reasons: dict[str, int] = field(default_factory=dict, metadata=DERIVED)


@dataclass(frozen=True)
class EventRow(Row):
    """A sandbox audit event: a blocked action, an over-budget call, an oversized output."""

    iteration: int
    scope: str | None = None
    program_hash: str | None = None
    kind: str | None = None
    detail: str | None = None
    id: int | None = None
    created: float | None = None
    source: str | None = None
    """`orchestrator` (observed by it) or `worker` (the worker's claim about itself)."""


@dataclass(frozen=True)
class SolutionRow(Row):
    """A solution program scored in the run, with the first iteration that scored it."""

    iteration: int
    hash: str
    source: str


@dataclass(frozen=True)
class CallUsage(Row):
    """What a set of model calls (a run, an iteration, a scope) used."""

    calls: int = 0
    samples: int = 0
    usable: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: int = 0
    seconds: float = 0.0
    cost: Decimal | None = None
    """Dollars, summed exactly; None where no call recorded a cost."""
    priced: bool = True
    """False where some call's price was unknown (then `cost` is a lower bound)."""
    unusable_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Meta(Mapping[str, Any]):
    """The records header: what made the run (`config`, `kind`, versions) and how it
    stands (`status`). Values are the JSON each key was written with."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Meta({self._values!r})"

    @property
    def status(self) -> str:
        return str(self._values.get("status", "unknown"))

    @property
    def config(self) -> dict[str, Any]:
        cfg = self._values.get("config")
        return cfg if isinstance(cfg, dict) else {}

    @property
    def schema_version(self) -> Any:
        return self._values.get("schema_version")
