"""What runs inside a sandbox worker process: one job, then exit.

This module is imported by the fork server before any untrusted code exists, so each
worker starts warm (numpy already imported) and fresh (forked, nothing left by others).
"""

from __future__ import annotations

import builtins
import pickle
import random
import signal
import socket
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

from selftaught.errors import BudgetExhausted, LanguageModelError  # what language_model raises
from selftaught.program.extract import extract_code
from selftaught.sandbox import guards, protocol

MAX_OUTPUT_ITEMS = 1_000_000

install_guards = guards.install
"""Installed by the fork server in each worker before its job arrives."""


class _Channel:
    """Request/reply to the parent; one request at a time. Carries pending audit events."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def _send(self, message: dict) -> None:
        if guards.events:
            message = {**message, "events": list(guards.events)}
            guards.events.clear()
        protocol.send(self._sock, message)

    def call(self, message: dict) -> dict:
        with self._lock:
            self._send(message)
            return protocol.recv(self._sock)

    def tell(self, message: dict) -> None:
        with self._lock:
            self._send(message)


def _describe(exc: BaseException, filename: str) -> str:
    """`TypeError: ... (line 12)`, pointing into the candidate's source where possible."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    name = type(exc).__name__
    text = f"{name}: {exc}" if str(exc) else name
    return f"{text} (line {line})" if line else text


def _load(src: str, function: str, filename: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "__candidate__", "__builtins__": builtins}
    exec(compile(src, filename, "exec"), namespace)
    fn = namespace.get(function)
    if not callable(fn):
        raise NameError(f"the program does not define {function}()")
    return fn


def plain(value: Any, _depth: int = 0, _count: list[int] | None = None) -> Any:
    """A JSON-ready copy of what a program returned: lists, numbers, strings, None."""
    count = _count if _count is not None else [0]
    count[0] += 1
    if count[0] > MAX_OUTPUT_ITEMS or _depth > 20:
        raise ValueError("the returned value is too large or too deeply nested")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.size > MAX_OUTPUT_ITEMS:
            raise ValueError("the returned array is too large")
        return plain(value.tolist(), _depth + 1, count)
    if isinstance(value, list | tuple):
        if count[0] + len(value) > MAX_OUTPUT_ITEMS:
            raise ValueError("the returned value is too large or too deeply nested")
        return [plain(v, _depth + 1, count) for v in value]
    raise TypeError(f"returned a {type(value).__name__}")


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def _seed_everything() -> None:
    random.seed(0)
    try:
        import numpy as np

        np.random.seed(0)
    except ImportError:
        pass


def _solve(channel: _Channel, job: dict) -> None:
    filename = "<solution>"
    signal.signal(signal.SIGALRM, _alarm)
    _seed_everything()
    try:
        signal.setitimer(signal.ITIMER_REAL, job["load_timeout"])
        fn = _load(job["src"], job["function"], filename)
        signal.setitimer(signal.ITIMER_REAL, 0)
        guards.loaded[0] = True
    except _Timeout:
        channel.tell({"op": "error", "outcome": "timeout", "message": "loading took too long"})
        return
    except BaseException as exc:  # noqa: BLE001 - the program failing is a result
        signal.setitimer(signal.ITIMER_REAL, 0)
        channel.tell({"op": "error", "outcome": "error", "message": _describe(exc, filename)})
        return
    channel.tell({"op": "ready"})
    # The inputs arrive only now: no program holds them while it loads (docs/security.md,
    # "Time bounds").
    inputs = protocol.recv_inputs(channel._sock)
    limit = job["instance_timeout"]
    for index, args in zip(job["indices"], inputs, strict=True):
        start = time.perf_counter()
        try:
            signal.setitimer(signal.ITIMER_REAL, limit)
            output = fn(*args)
            signal.setitimer(signal.ITIMER_REAL, 0)
            seconds = time.perf_counter() - start
            message = {"op": "instance", "i": index, "output": plain(output), "seconds": seconds}
        except _Timeout:
            message = {"op": "instance", "i": index, "outcome": "timeout", "seconds": limit}
        except BaseException as exc:  # noqa: BLE001
            signal.setitimer(signal.ITIMER_REAL, 0)
            message = {
                "op": "instance",
                "i": index,
                "outcome": "error",
                "message": _describe(exc, filename),
                "seconds": time.perf_counter() - start,
            }
        try:
            channel.tell(message)
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. an int of 5,000 digits
            failed = f"the output could not be sent: {type(exc).__name__}: {exc}"[:500]
            channel.tell({"op": "instance", "i": index, "outcome": "error", "message": failed})
    channel.tell({"op": "done"})


class _Recorded:
    """Setting an attribute after construction is recorded (and changes nothing that counts)."""

    _frozen = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            guards.note("tamper", f"set {type(self).__name__}.{name} = {value!r}"[:300])
        object.__setattr__(self, name, value)


class UtilityProxy(_Recorded):
    """`utility` as improvers see it. Its attributes are copies; the parent counts calls."""

    def __init__(self, channel: _Channel, text: str, budget: int) -> None:
        self._channel = channel
        self.str = text
        self.budget = budget
        self._frozen = True

    def __call__(self, solution: Any, *args: Any, **kwargs: Any) -> float:
        if args or kwargs:
            self._channel.tell(
                {"op": "event", "kind": "utility_extra_args", "detail": repr((args, kwargs))[:500]}
            )
        if not isinstance(solution, str):
            solution = ""
        reply = self._channel.call({"op": "utility", "src": solution})
        return float(reply.get("value", 0.0))


class LanguageModelProxy(_Recorded):
    """`language_model` as improvers see it: `prompt` and `batch_prompt` go to the parent."""

    def __init__(self, channel: _Channel, budget: int, max_responses_per_call: int) -> None:
        self._channel = channel
        self.budget = budget
        self.max_responses_per_call = max_responses_per_call
        self._frozen = True

    def _ask(self, expertise: Any, messages: list[Any], temperature: Any) -> list[str]:
        reply = self._channel.call(
            {
                "op": "lm",
                "system": str(expertise),
                "messages": [str(m) for m in messages],
                "temperature": None if temperature is None else float(temperature),
            }
        )
        if reply.get("ok"):
            return [str(r) for r in reply["responses"]]
        if reply.get("error") == "budget":
            raise BudgetExhausted(reply.get("message", "language model budget exhausted"))
        raise LanguageModelError(reply.get("message", "the language model call failed"))

    def prompt(
        self, expertise: str, message: str, n_responses: int = 1, temperature: float | None = None
    ) -> list[str]:
        n = max(1, int(n_responses))
        return self._ask(expertise, [message] * n, temperature)

    def batch_prompt(
        self, expertise: str, message_batch: list[str] | str, temperature: float | None = None
    ) -> list[str]:
        if isinstance(message_batch, str):
            message_batch = [message_batch]
        return self._ask(expertise, list(message_batch), temperature)


guards.protected.extend([UtilityProxy, LanguageModelProxy, _Recorded, _Channel])


def _helpers_module() -> types.ModuleType:
    helpers = types.ModuleType("helpers")
    helpers.extract_code = extract_code  # type: ignore[attr-defined]  # a module made here
    return helpers


def _improve(channel: _Channel, job: dict) -> None:
    filename = "<improver>"
    sys.modules["helpers"] = _helpers_module()
    _seed_everything()
    utility = UtilityProxy(channel, job["utility_str"], job["utility_budget"])
    language_model = LanguageModelProxy(channel, job["lm_budget"], job["max_responses_per_call"])
    try:
        fn = _load(job["src"], "improve_algorithm", filename)
        guards.loaded[0] = True
        result = fn(job["initial_solution"], utility, language_model)
    except BaseException as exc:  # noqa: BLE001
        channel.tell({"op": "error", "outcome": "error", "message": _describe(exc, filename)})
        return
    if not isinstance(result, str):
        channel.tell(
            {
                "op": "error",
                "outcome": "error",
                "message": f"improve_algorithm returned a {type(result).__name__}, not a str",
            }
        )
        return
    channel.tell({"op": "result", "value": result})


def _warm_up_job() -> bytes:
    import numpy as np

    arrays = [(np.zeros((100, 10), dtype=np.int64), np.zeros(100)) for _ in range(8)]
    return pickle.dumps({"instances": arrays, "pad": bytes(1 << 18)}, pickle.HIGHEST_PROTOCOL)


_WARM_UP_JOB = _warm_up_job()
"""Built once in the fork server, before any worker exists."""


def warm_up() -> None:
    """Before the job arrives, do once what every job does first (fault in the allocator's
    memory, unpickle arrays, compile, encode a reply), so the job does not wait for it.

    Trusted code only, run while the worker is idle: it leaves the worker as fresh as before.
    """
    pickle.loads(_WARM_UP_JOB)
    exec(compile("def f(a):\n    return [a]\n", "<warm-up>", "exec"), {})
    protocol.encode({"op": "instance", "i": 0, "output": [0, 1.5, "x"], "seconds": 0.0})


def serve(fd: int) -> None:
    """Run the one job that arrives on socket `fd`."""
    sock = socket.socket(fileno=fd)
    channel = _Channel(sock)
    warm_up()
    job = protocol.recv_job(sock)
    guards.armed[0] = True
    if job["kind"] == "solve":
        _solve(channel, job)
    else:
        _improve(channel, job)
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
