"""The run context passed down explicitly: config, model, sandbox, records, progress."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from selftaught.config import RunConfig
from selftaught.executors import Executor
from selftaught.lm.base import Backend, Usage
from selftaught.lm.session import ModelCall
from selftaught.sandbox.spec import SandboxLike
from selftaught.store.db import Store
from selftaught.store.limits import ITERATION_EVENT_ROWS
from selftaught.store.rows import EventRow, ModelCallRow
from selftaught.tasks.keys import InstanceKey

if TYPE_CHECKING:
    from selftaught.stop.adoption import Decision


@dataclass(frozen=True)
class Scope:
    """Where in the run a piece of work happens: its iteration and a path like `it1/step/c2`."""

    iteration: int
    path: str

    def child(self, name: str) -> Scope:
        return Scope(self.iteration, f"{self.path}/{name}")


class Progress:
    """Receives what happens, to show it. The default shows nothing.

    Subclass it and override what you want to see; every method is optional.
    """

    def note(self, kind: str, line: str) -> None:
        """A line for the user, e.g. kind `run_dir`, `model`, `executor`, `warning`,
        `halted`, `report`, `resume`."""

    def start(self, iterations: int) -> None:
        """A STOP run of `iterations` iterations starts its work."""

    def stop(self) -> None:
        """The STOP run's work ended (finished or not)."""

    def finished(self, result: object) -> None:
        """The run ended and is recorded; `result` is its `RunResult`."""

    def phase(self, iteration: int, text: str) -> None:
        """A new stage of the run starts."""

    def model_call(self, usage: Usage) -> None:
        """A model call finished."""

    def checked(self, usable: int, reasons: dict[str, int]) -> None:
        """A model call's samples were checked: `usable` of them usable, the rest by reason."""

    def candidate(self, iteration: int, score: float) -> None:
        """A candidate improver was scored by the meta-utility."""

    def improver_run(self, outcome: str) -> None:
        """One downstream improver run finished."""

    def scored(self, iteration: int, validation: float) -> None:
        """An iteration's improver got its meta-utility."""

    def decided(self, iteration: int, decision: Decision) -> None:
        """The loop decided whether to adopt a newly scored improver."""


CHARGE_EVENTS: ContextVar[Callable[[list[dict]], list[dict]] | None] = ContextVar(
    "charge_events", default=None
)
"""While an improver's `utility` call is served: what its run's records allowance keeps of
the events recorded (`stop.improver_run`), so the solutions it sends are charged to it."""


@dataclass
class RunContext:
    """What a run's work needs, built by `assembly.assemble` (the one builder: it sets
    every field from the config, so nothing here has a default of its own)."""

    config: RunConfig
    backend: Backend
    sandbox: SandboxLike
    """From `executor.sandbox(assembly.sandbox_spec(config, ...))`."""
    store: Store
    progress: Progress
    executor: Executor
    """Where independent work runs (`config.executor`, `config.parallel` wide)."""
    instance_key: InstanceKey = field(repr=False)
    """The secret the run's instances come from (`tasks.keys`)."""

    def record_model_call(self, iteration: int, call: ModelCall) -> None:
        self.store.add_model_call(
            ModelCallRow(
                iteration=iteration,
                scope=call.scope,
                backend=call.backend,
                system=call.system,
                messages=json.dumps(call.messages),
                temperature=call.temperature,
                max_tokens=call.max_tokens,
                seed=call.seed,
                responses=json.dumps(call.responses),
                samples=call.usage.samples,
                usable=call.usable,
                unusable_reasons=json.dumps(call.reasons) if call.reasons else None,
                prompt_tokens=call.usage.prompt_tokens,
                completion_tokens=call.usage.completion_tokens,
                seconds=call.usage.seconds,
                error=call.error,
                truncated=call.truncated,
                cost=str(call.usage.cost),
                priced=int(call.usage.priced),
                cached=call.usage.cached,
                attempts=call.attempts,
                notes=json.dumps(call.notes) if call.notes else None,
                answers=json.dumps(call.answers) if call.answers is not None else None,
            )
        )
        self.progress.model_call(call.usage)
        if call.usage.samples:
            self.progress.checked(call.usable, call.reasons)

    _event_rows: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    _event_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def record_events(
        self, scope: Scope, program_hash: str, events: list[dict], *, charged: bool = False
    ) -> None:
        """Record audit events of `scope`, within bounds (docs/security.md, "Records"):
        those of an improver's utility calls within its run's allowance (unless `charged`
        already), and at most `ITERATION_EVENT_ROWS` per iteration in all."""
        charge = None if charged else CHARGE_EVENTS.get()
        if charge is not None:
            events = charge(events)
        if not events:
            return
        it = scope.iteration
        with self._event_lock:
            if it not in self._event_rows:  # a resumed run counts what it recorded before
                self._event_rows[it] = self.store.event_count(iteration=it)
            room = max(ITERATION_EVENT_ROWS - self._event_rows[it], 0)
            kept = events[:room]
            if len(kept) < len(events) and self._event_rows[it] <= ITERATION_EVENT_ROWS:
                kept.append(
                    {
                        "kind": "events_not_recorded",
                        "detail": f"past {ITERATION_EVENT_ROWS:,} events of iteration {it},"
                        " later ones are not recorded",
                    }
                )
            self._event_rows[it] += len(kept)
        for event in kept:
            self.store.add_event(
                EventRow(
                    iteration=scope.iteration,
                    scope=scope.path,
                    program_hash=program_hash,
                    kind=str(event.get("kind", "unknown"))[:64],
                    detail=str(event.get("detail", ""))[:1000],
                    source=str(event.get("source", "orchestrator")),
                )
            )
