"""Task names to tasks: built-in names, task files and installed entry points."""

from __future__ import annotations

import difflib

from selftaught.errors import TaskError
from selftaught.tasks.base import Task
from selftaught.tasks.grid import StringGridDistance
from selftaught.tasks.lis import FastLongestIncreasingSubsequence
from selftaught.tasks.loader import entry_point_tasks, load_entry_point, load_task_file
from selftaught.tasks.lpn import LearningParityWithNoise
from selftaught.tasks.maxcut import MaxCut
from selftaught.tasks.parity import ParityWithoutNoise
from selftaught.tasks.qap import ModifiedQuadraticAssignment
from selftaught.tasks.sat import ThreeSat

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        LearningParityWithNoise,
        ParityWithoutNoise,
        ThreeSat,
        MaxCut,
        ModifiedQuadraticAssignment,
        StringGridDistance,
        FastLongestIncreasingSubsequence,
    )
}

TRANSFER_TASKS = ["grid", "qap", "3sat", "maxcut", "parity"]
"""The five transfer tasks of the paper's Table 1, in its order."""

_REGISTERED: dict[str, Task] = {}
"""Tasks given as Python objects to the library (`selftaught.task(...)`, a `Task`), by name,
so that a run's config can name them like any other task."""


def register_task(task: Task) -> None:
    """Make `task` (already checked) known by its name in this process."""
    _REGISTERED[task.name] = task


def looks_like_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def get_task(name: str) -> Task:
    """The task `name` names: a built-in task, a task file (`path/to/task.py`) or an
    installed task (entry point group `selftaught.tasks`). Anything else is a user error
    with a suggestion."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in TASKS:
        return TASKS[name]()
    if looks_like_path(name):
        return load_task_file(name)
    installed = entry_point_tasks()
    if name in installed:
        return load_entry_point(installed[name])
    known = sorted(set(TASKS) | set(installed))
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise TaskError(
        f"unknown task {name!r}{hint}; known tasks: {', '.join(known)} (or a task file .py)"
    )


def all_tasks() -> dict[str, str]:
    """Every task by name with its one-line description; installed tasks that fail to
    load are listed with the reason."""
    out = {name: cls.description for name, cls in TASKS.items()}
    for name, ep in entry_point_tasks().items():
        if name in out:
            continue
        try:
            out[name] = load_entry_point(ep).description
        except TaskError as exc:
            out[name] = f"(broken: {exc})"
    return out
