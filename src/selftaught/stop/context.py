"""The run context passed down explicitly: config, model, sandbox, records, progress."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from selftaught.config import RunConfig
from selftaught.executors import Executor
from selftaught.lm.base import Backend, Usage
from selftaught.lm.session import ModelCall
from selftaught.sandbox.spec import SandboxLike
from selftaught.store.db import Store
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

    def record_events(self, scope: Scope, program_hash: str, events: list[dict]) -> None:
        for event in events:
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
