"""Task names to tasks."""

from __future__ import annotations

import difflib

from selftaught.errors import UserError
from selftaught.tasks.base import Task
from selftaught.tasks.lpn import LearningParityWithNoise

TASKS: dict[str, type[Task]] = {
    "lpn": LearningParityWithNoise,
}


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name is a user error with a suggestion."""
    if name in TASKS:
        return TASKS[name]()
    close = difflib.get_close_matches(name, list(TASKS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UserError(f"unknown task {name!r}{hint}; known tasks: {', '.join(sorted(TASKS))}")
