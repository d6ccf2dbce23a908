"""User tasks: a Python file or an installed package (entry point group `selftaught.tasks`).

A task module either defines a `Task` subclass (or instance) named `task` / `TASK`, or
defines the parts at module level (see docs/tasks.md):

    name, description, utility_text, seed_solution   (strings; name defaults to the file stem)
    make_instance(rng) -> (inputs tuple, answer)
    score(output, answer) -> float in [0, 1]
    function = "algorithm", arity (default: from the seed), n_validation = 20,
    n_heldout = 50, instance_timeout = 1.0                           (optional)

The task module is the user's own code and is imported in the orchestrator (like a
config file); the solutions it scores still run only in the sandbox.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import pickle
import signal
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from selftaught.errors import TaskError
from selftaught.program.check import check_program, required_arity
from selftaught.sandbox import hidden, protocol
from selftaught.tasks.base import Task
from selftaught.tasks.keys import InstanceKey, fresh

GROUP = "selftaught.tasks"
REQUIRED = ("description", "utility_text", "seed_solution", "make_instance", "score")
OPTIONAL = ("function", "arity", "n_validation", "n_heldout", "instance_timeout")


def entry_point_tasks() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}


def load_entry_point(ep: importlib.metadata.EntryPoint) -> Task:
    where = f"installed task {ep.name!r} ({ep.value})"
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - any import failure is the package's fault
        raise TaskError(f"{where} fails to import: {type(exc).__name__}: {exc}") from None
    return task_from_object(obj, default_name=ep.name, where=where)


def load_task_file(path: str) -> Task:
    file = Path(path)
    where = f"task file {path}"
    if not file.is_file():
        raise TaskError(f"{where} not found")
    hidden.hide(file, name_it=True)  # workers started from now on may not read it
    module_name = f"selftaught_user_task_{file.stem}_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise TaskError(f"{where} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is the file's fault
        sys.modules.pop(module_name, None)
        line = getattr(exc, "lineno", None)
        at = f" (line {line})" if line else ""
        raise TaskError(f"{where} fails to import{at}: {type(exc).__name__}: {exc}") from None
    return task_from_object(module, default_name=file.stem, where=where)


def task_from_object(obj: Any, *, default_name: str, where: str) -> Task:
    """A checked task from a module, a `Task` subclass or a `Task` instance."""
    if isinstance(obj, types.ModuleType):
        inner = getattr(obj, "task", None) or getattr(obj, "TASK", None)
        if inner is not None:
            return task_from_object(inner, default_name=default_name, where=where)
        parts = {k: getattr(obj, k) for k in (*REQUIRED, *OPTIONAL, "name") if hasattr(obj, k)}
        missing = [k for k in REQUIRED if k not in parts]
        if missing:
            raise TaskError(f"{where} does not define {', '.join(missing)}")
        task = _task_from_parts(parts, default_name)
    elif isinstance(obj, type) and issubclass(obj, Task):
        task = obj()
    elif isinstance(obj, Task):
        task = obj
    else:
        raise TaskError(f"{where} is neither a task module nor a Task subclass")
    check_task(task, where)
    task.origin = where
    return task


def _task_from_parts(parts: dict[str, Any], default_name: str) -> Task:
    attrs: dict[str, Any] = {k: v for k, v in parts.items() if k not in ("make_instance", "score")}
    attrs.setdefault("name", default_name)
    if "arity" not in attrs:
        attrs["arity"] = _arity_of(attrs["seed_solution"], attrs.get("function", "algorithm"))
    make_instance, score = parts["make_instance"], parts["score"]
    attrs["make_instance"] = lambda self, rng: make_instance(rng)
    attrs["score"] = lambda self, output, answer: score(output, answer)
    cls = type(f"UserTask_{attrs['name']}", (Task,), attrs)
    return cls()


def _arity_of(src: Any, function: str) -> int:
    """The arity of a task whose seed is `src`: how many arguments its function is called
    with (`program.check.required_arity`, the one rule); 0 where the seed does not define
    it, for `check_task` to report."""
    arity = required_arity(src, function)
    return 0 if arity is None else arity


def check_task(task: Task, where: str) -> None:
    """Everything about a task that can be checked without running its seed solution."""
    for attr, kind in [
        ("name", str),
        ("description", str),
        ("utility_text", str),
        ("seed_solution", str),
        ("function", str),
    ]:
        value = getattr(task, attr, None)
        if not isinstance(value, kind) or not value.strip():
            raise TaskError(f"{where}: {attr} must be a non-empty string")
    for attr in ("n_validation", "n_heldout"):
        value = getattr(task, attr, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TaskError(f"{where}: {attr} must be a positive int")
    timeout = getattr(task, "instance_timeout", None)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise TaskError(f"{where}: instance_timeout must be seconds in (0, 600]")
    problem = check_program(task.seed_solution, task.function, task.arity)
    if problem is not None:
        raise TaskError(f"{where}: seed_solution: {problem}")
    try:
        with _time_limit(MAKE_INSTANCES_SECONDS):
            made = task.make_instance(np.random.default_rng(0))
            again = task.make_instance(np.random.default_rng(0))
    except _TooSlow:
        raise TaskError(
            f"{where}: make_instance took over {MAKE_INSTANCES_SECONDS:g} s for one instance"
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise TaskError(f"{where}: make_instance fails: {type(exc).__name__}: {exc}") from None
    if not _same(made, again):
        raise TaskError(
            f"{where}: make_instance is not deterministic: the same seed gave two different "
            "instances; draw all randomness from its rng argument"
        )
    if not (isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], tuple)):
        raise TaskError(f"{where}: make_instance must return (inputs tuple, answer)")
    if len(made[0]) != task.arity:
        raise TaskError(
            f"{where}: make_instance gives {len(made[0])} inputs but "
            f"{task.function}() takes {task.arity}"
        )
    try:
        protocol.encode(list(made[0]))
    except (TypeError, ValueError) as exc:
        raise TaskError(
            f"{where}: instance inputs must be numbers, strings, lists or numpy arrays ({exc})"
        ) from None


def check_instances(task: Task, key: InstanceKey) -> None:
    """Make every instance of a user task that a run under `key` will use (validation
    and held-out), under one time limit, before the run starts: a run must not hang in the
    middle of its first evaluation on an instance that never comes. They stay cached on
    the task (`Task.instances`), so the run uses exactly these. Built-in tasks are
    trusted and skipped."""
    where = task.origin
    if where is None:
        return
    try:
        with _time_limit(MAKE_INSTANCES_SECONDS):
            for split in ("validation", "heldout"):
                task.instances(split, key)
    except _TooSlow:
        raise TaskError(
            f"{where}: make_instance took over {MAKE_INSTANCES_SECONDS:g} s to make the "
            f"task's {task.n_validation + task.n_heldout} instances; make it faster or "
            "ask for fewer (n_validation, n_heldout)"
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise TaskError(f"{where}: make_instance fails: {type(exc).__name__}: {exc}") from None


MAKE_INSTANCES_SECONDS = 60.0
"""Time a user task gets to make all the instances a run uses (validation and held-out,
under the run's key), checked when the run is assembled (in the main thread)."""


class _TooSlow(BaseException):  # noqa: N818 - a BaseException: the task's code cannot catch it
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (SIGALRM: main thread on POSIX only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def alarm(signum: int, frame: object) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _same(a: Any, b: Any) -> bool:
    """Whether two instances are the same value, arrays included."""
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:  # noqa: BLE001 - an unpicklable instance: compare what repr shows
        return repr(a) == repr(b)


def check_seed(task: Task, sandbox: Any, key: InstanceKey | None = None) -> None:
    """For a user task: its seed solution must run in the sandbox on the first validation
    instance (under `key`; default a throwaway key), and `score` must give a float in
    [0, 1] for what it returned. Built-in tasks (no `origin`) are trusted and skipped; a
    task that passed under `key` is not run again."""
    where = task.origin
    if where is None:
        return
    key = key or fresh()
    passed = task.__dict__.setdefault("_seed_passed", set())
    if key.secret in passed:
        return
    instance = task.instances("validation", key)[0]
    result = sandbox.solve(
        task.seed_solution,
        function=task.function,
        instances=[instance.inputs],
        instance_timeout=task.instance_timeout,
    )
    if result.outcome != "ok":
        raise TaskError(f"{where}: the seed solution fails to load: {result.message}")
    first = result.instances[0]
    if first.outcome != "ok":
        reason = first.message.splitlines()[-1] if first.message else first.outcome
        raise TaskError(
            f"{where}: the seed solution fails on instance 0 ({first.outcome}): {reason}"
        )
    try:
        value = task.score(first.output, instance.answer)
    except Exception as exc:  # noqa: BLE001
        raise TaskError(
            f"{where}: score() raises on the seed solution's output: {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TaskError(f"{where}: score() must return a float, not {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise TaskError(
            f"{where}: score() gave {value!r} for the seed solution; it must be in [0, 1]"
        )
    passed.add(key.secret)
