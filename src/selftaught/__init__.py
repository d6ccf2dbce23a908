"""selftaught: STOP, the Self-Taught Optimizer, sandboxed and recorded.

The library (docs/api.md)::

    import selftaught
    result = selftaught.improve(my_function, my_task, model="openai:...")
    run = selftaught.run(model="echo", tasks=["lpn"], iterations=1)

Names are imported on first use, so `import selftaught` (and the command line) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from selftaught.version import __version__

_NAMES: dict[str, str] = {
    # functions
    "improve": "selftaught.api.solving",
    "run": "selftaught.api.running",
    "resume": "selftaught.api.running",
    "score": "selftaught.api.solving",
    "transfer": "selftaught.api.solving",
    "open_run": "selftaught.api.records",
    "experiment": "selftaught.experiment",
    "task": "selftaught.tasks.functional",
    # tasks
    "Task": "selftaught.tasks.base",
    "SpeedTask": "selftaught.tasks.speed",
    "speed_score": "selftaught.tasks.speed",
    # results
    "ImproveResult": "selftaught.api.results",
    "RunResult": "selftaught.api.results",
    "ScoreResult": "selftaught.api.results",
    "Candidate": "selftaught.api.results",
    "Usage": "selftaught.api.results",
    "RecordedRun": "selftaught.api.records",
    "TransferResult": "selftaught.api.results",
    "RunConfig": "selftaught.config",
    # progress
    "Progress": "selftaught.progress",
    "RichProgress": "selftaught.progress",
    "NotebookProgress": "selftaught.progress",
    # errors
    "SelftaughtError": "selftaught.errors",
    "UserError": "selftaught.errors",
    "ConfigError": "selftaught.errors",
    "TaskError": "selftaught.errors",
    "ProgramError": "selftaught.errors",
    "RunDirError": "selftaught.errors",
}

__all__ = [
    "__version__",
    "improve",
    "run",
    "resume",
    "score",
    "transfer",
    "open_run",
    "experiment",
    "task",
    "Task",
    "SpeedTask",
    "speed_score",
    "ImproveResult",
    "RunResult",
    "ScoreResult",
    "Candidate",
    "Usage",
    "RecordedRun",
    "TransferResult",
    "RunConfig",
    "Progress",
    "RichProgress",
    "NotebookProgress",
    "SelftaughtError",
    "UserError",
    "ConfigError",
    "TaskError",
    "ProgramError",
    "RunDirError",
]


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'selftaught' has no attribute {name!r}")
    value = importlib.import_module(module)
    if module != f"selftaught.{name}":  # `experiment` is a package that is also callable
        value = getattr(value, name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))


if TYPE_CHECKING:  # for type checkers and editors; not run
    from selftaught import experiment as experiment
    from selftaught.api.records import RecordedRun, open_run
    from selftaught.api.results import (
        Candidate,
        ImproveResult,
        RunResult,
        ScoreResult,
        TransferResult,
        Usage,
    )
    from selftaught.api.running import resume, run
    from selftaught.api.solving import improve, score, transfer
    from selftaught.config import RunConfig
    from selftaught.errors import (
        ConfigError,
        ProgramError,
        RunDirError,
        SelftaughtError,
        TaskError,
        UserError,
    )
    from selftaught.progress import NotebookProgress, Progress, RichProgress
    from selftaught.tasks.base import Task
    from selftaught.tasks.functional import task
    from selftaught.tasks.speed import SpeedTask, speed_score
