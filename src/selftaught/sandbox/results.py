"""What the sandbox hands back (the results of `solve` and `improve`: the program failing
is a result, not an exception) and what it asks of the orchestrator (`Broker`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeGuard, get_args

Outcome = Literal["ok", "error", "timeout", "killed", "memory"]
"""How a program's run in a worker ended: `ok`; `error` (it raised, or would not load);
`timeout` (over a time limit); `killed` (by a signal, or the worker vanished); `memory`
(over a memory limit)."""

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


def is_outcome(value: object) -> TypeGuard[Outcome]:
    """Whether `value` (e.g. read back from the records) is an `Outcome`."""
    return value in OUTCOMES


@dataclass
class InstanceResult:
    """One instance of a solution run: what it returned, or why it did not."""

    outcome: Outcome
    output: Any = None
    seconds: float = 0.0
    message: str = ""


@dataclass
class SolveResult:
    outcome: Outcome
    """`ok` when the program loaded and every instance was attempted."""
    message: str = ""
    instances: list[InstanceResult] = field(default_factory=list)
    seconds: float = 0.0
    events: list[dict] = field(default_factory=list)
    cpu_seconds: float | None = None
    """CPU time of the workers, from loading the program to its last answer, read by the
    orchestrator from the kernel (not from the worker); None where it cannot be read."""


@dataclass
class ImproveResult:
    outcome: Outcome
    message: str = ""
    value: str | None = None
    seconds: float = 0.0
    events: list[dict] = field(default_factory=list)


class Broker(Protocol):
    """The orchestrator's side of an improver's `utility` and `language_model`."""

    def utility(self, src: str) -> float: ...

    def language_model(self, system: str, messages: list[str], temperature: float | None) -> dict:
        """`temperature` None: the run's default (`Budgets.temperature`)."""
        ...
