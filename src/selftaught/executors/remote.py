"""What runs inside Ray workers: a selftaught sandbox per worker process, and the host
that runs improver workers while their `utility` and `language_model` calls travel back
to the orchestrator's broker.

Nothing here writes records or calls a model: results go back to the orchestrator,
which records them. This module does not import Ray, so it can be read and tested
without it; `ray_executor` wraps these functions and classes with `ray.remote`.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

from selftaught.sandbox import ImproveResult, Sandbox, SandboxSpec, SolveResult

_REPLY_TIMEOUT = 6 * 3600.0
"""Seconds an improver waits for the orchestrator's answer before giving up on it."""

_sandboxes: dict[SandboxSpec, Sandbox] = {}
_lock = threading.Lock()


def local_sandbox(spec: SandboxSpec) -> Sandbox:
    """This process's sandbox for `spec`: one warm fork server, started on first use.

    When the Ray worker dies, its fork server sees its control socket close, kills its
    workers' process groups and exits.
    """
    with _lock:
        sb = _sandboxes.get(spec)
        if sb is None:
            sb = _sandboxes[spec] = Sandbox(spec)
        return sb


def solve_task(spec: SandboxSpec, src: str, kwargs: dict[str, Any]) -> SolveResult:
    """One solution evaluation (a Ray task). Pure: safe for Ray to retry."""
    return local_sandbox(spec).solve(src, **kwargs)


_ABANDONED = object()


class _Conversation:
    """The broker an improver sees on the Ray side: each call is handed to the
    orchestrator (through `ImproverHost.step`) and waits for its answer."""

    def __init__(self) -> None:
        self.requests: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.replies: queue.Queue[Any] = queue.Queue()

    def _ask(self, op: str, args: dict[str, Any]) -> Any:
        self.requests.put((op, args))
        reply = self.replies.get(timeout=_REPLY_TIMEOUT)
        if reply is _ABANDONED:
            raise RuntimeError("the orchestrator abandoned this run")
        return reply

    def utility(self, src: str) -> float:
        return float(self._ask("utility", {"src": src}))

    def language_model(self, system: str, messages: list[str], temperature: float | None) -> dict:
        return self._ask("lm", {"system": system, "messages": messages, "temperature": temperature})


class ImproverHost:
    """A Ray actor (one per node): runs improver workers in this node's sandbox.

    The orchestrator drives each run: `start` and then `step` until it returns
    `("done", ImproveResult)`; every other answer is `(op, args)`, a `utility` or `lm`
    call for the orchestrator's broker, whose reply goes back with the next `step`.
    """

    def __init__(self, spec: SandboxSpec) -> None:
        self._sandbox = local_sandbox(spec)
        self._runs: dict[str, _Conversation] = {}
        self._lock = threading.Lock()
        self._active = 0

    def info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "network": self._sandbox.network_mode,
            "privileges": self._sandbox.privileges,
            "active": self._active,
        }

    def start(self, run_id: str, src: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
        conv = _Conversation()
        with self._lock:
            self._runs[run_id] = conv
            self._active += 1

        def run() -> None:
            try:
                result = self._sandbox.improve(src, broker=conv, **kwargs)
            except Exception as exc:  # noqa: BLE001 - reported to the orchestrator
                result = ImproveResult("killed", f"the sandbox failed: {exc}")
            finally:
                with self._lock:
                    self._active -= 1
            conv.requests.put(("done", result))

        threading.Thread(target=run, name=f"improve-{run_id[:8]}", daemon=True).start()
        return self._next(run_id, conv)

    def step(self, run_id: str, reply: Any) -> tuple[str, Any]:
        with self._lock:
            conv = self._runs.get(run_id)
        if conv is None:  # this host was restarted (its node lost) since the run started
            return ("lost", f"the improver host restarted and lost run {run_id[:8]}")
        conv.replies.put(reply)
        return self._next(run_id, conv)

    def abandon(self, run_id: str) -> None:
        """The orchestrator gave up on this run: end its worker now."""
        with self._lock:
            conv = self._runs.pop(run_id, None)
        if conv is not None:
            conv.replies.put(_ABANDONED)

    def _next(self, run_id: str, conv: _Conversation) -> tuple[str, Any]:
        msg = conv.requests.get()
        if msg[0] == "done":
            with self._lock:
                self._runs.pop(run_id, None)
        return msg
