"""What the public functions accept: programs, tasks and settings in their several forms."""

from __future__ import annotations

import inspect
import textwrap
import types
from pathlib import Path
from typing import Any

from selftaught.config import RunConfig, load_config, merge
from selftaught.errors import ConfigError, UserError
from selftaught.tasks.base import Task

BUDGET_KEYS = ("lm_calls", "samples_per_call", "utility_calls", "max_tokens", "temperature")
LM_KEYS = (
    "base_url",
    "api_key_env",
    "concurrency",
    "cache",
    "max_run_tokens",
    "max_run_cost",
)

Program = str | Path | types.FunctionType
"""A program: its source text, a path to a .py file, or a Python function (its source)."""


def read_program(path: Path, what: str) -> str:
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise UserError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} file {path}: {exc}") from None


def looks_like_source(text: str) -> bool:
    return "\n" in text.strip() or text.lstrip().startswith(("def ", "import ", "from "))


def program_source(program: Program, what: str = "solution") -> tuple[str, str]:
    """`(source, label)`: the label names the program in messages (its path or name)."""
    if isinstance(program, types.FunctionType):
        try:
            return textwrap.dedent(inspect.getsource(program)), f"{program.__name__}()"
        except (OSError, TypeError) as exc:
            raise UserError(f"cannot read the source of {program.__name__}(): {exc}") from None
    if isinstance(program, Path):
        return read_program(program, what), str(program)
    if isinstance(program, str):
        if looks_like_source(program):
            return program, what
        return read_program(Path(program), what), program
    raise UserError(
        f"a {what} must be source text, a path or a function, not {type(program).__name__}"
    )


def resolve_task(task: str | Path | Task | type[Task] | types.ModuleType) -> Task:
    """A task by name or file (as on the command line), or a Python object: a `Task`
    instance or subclass, or a module with the task's parts. Objects are checked like task
    files and become known by their name, so a run's config can name them."""
    from selftaught.tasks.loader import task_from_object
    from selftaught.tasks.registry import TASKS, get_task, register_task

    if isinstance(task, str):
        return get_task(task)
    if isinstance(task, Path):
        return get_task(str(task))
    if isinstance(task, Task) and task.origin:
        register_task(task)
        return task
    name = getattr(task, "name", None) or getattr(task, "__name__", "task")
    if name in TASKS and (task is TASKS[name] or type(task) is TASKS[name]):
        return get_task(name)
    checked = task_from_object(task, default_name=str(name), where=f"task {name!r}")
    register_task(checked)
    return checked


def make_config(
    config: RunConfig | dict | str | Path | None = None,
    *,
    preset: str | None = None,
    **settings: Any,
) -> RunConfig:
    """A checked `RunConfig`: a preset, then `config` (a `RunConfig`, a dict or a TOML
    file), then `settings` (any `RunConfig` field; budget and model options may also be
    given flat, e.g. `lm_calls=2`, `base_url=...`). Settings that are None are ignored.
    Tasks may be Python objects (see `resolve_task`)."""
    overrides: dict[str, Any] = {}
    for key, value in settings.items():
        if value is None:
            continue
        if key in BUDGET_KEYS:
            overrides.setdefault("budgets", {})[key] = value
        elif key in LM_KEYS:
            overrides.setdefault("lm", {})[key] = value
        elif key in RunConfig.model_fields:
            overrides[key] = value
        else:
            raise ConfigError(f"invalid config: {key}: not a setting")
    if "tasks" in overrides:
        tasks = overrides["tasks"]
        tasks = [tasks] if isinstance(tasks, str | Task) or not _is_list(tasks) else tasks
        overrides["tasks"] = [t if isinstance(t, str) else resolve_task(t).name for t in tasks]
    if isinstance(config, RunConfig):
        base = config.model_dump(mode="json")
        return load_config(preset=preset, overrides=merge(base, overrides))
    if isinstance(config, dict):
        return load_config(preset=preset, overrides=merge(dict(config), overrides))
    file = Path(config) if config is not None else None
    return load_config(preset=preset, file=file, overrides=overrides)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)
