"""What a worker must not read or import, because it holds or derives answers.

A worker needs the sandbox code, numpy and the standard library; it needs no task code.
Hidden from it (Landlock leaves them out of what it may read, and its audit hooks refuse
to open or import them, recording an `answer_access` event):

  - the parts of the selftaught package that make, hold or score instances, or hold
    records and settings: `ORCHESTRATION` (their compiled `__pycache__` files too);
  - the top-level package of every installed task (entry point group `selftaught.tasks`);
  - the paths registered in this process with `hide`: user task files, run directories
    and the per-user instance key, as they are loaded or created. A fork server hides
    what was registered before it started; these paths are usually outside what a worker
    may read anyway (its reads are limited to the Python installation and system
    libraries), so the registration matters where one sits inside that;
  - the paths a run's `SandboxSpec.hidden` names (`assembly.hidden_for`): its whole
    folder of run directories, its own run directory, the run it replays and the
    per-user key. The spec travels with the work, so a Ray node's sandbox hides them too,
    and they are hidden whether or not they exist yet when the sandbox starts.
"""

from __future__ import annotations

import glob
import importlib.metadata
import importlib.util
import os

ORCHESTRATION = (
    "tasks",
    "stop",
    "store",
    "cli",
    "report",
    "executors",
    "api",
    "assembly.py",
    "progress.py",
    "config.py",
    "__main__.py",
    "stats.py",
    # the rules that flag reward hacking: a worker that could read them could write
    # around them (it needs program/extract.py and program/check.py only)
    "program/analysis.py",
)
"""Subpackages and modules of selftaught that no worker imports (sandbox/, lm/ and
program/'s parsing and checking stay)."""

HIDDEN_MODULES = tuple(
    "selftaught." + n.removesuffix(".py").replace("/", ".") for n in ORCHESTRATION
)

TASK_GROUP = "selftaught.tasks"

_registered: dict[str, bool] = {}


def hide(path: str | os.PathLike[str], *, name_it: bool = False) -> None:
    """Keep `path` (a file or a directory) from the workers of fork servers started later.

    With `name_it`, a worker's attempt to read it is recorded as `answer_access` even where
    it lies outside what a worker may read anyway (task files, key files); otherwise it is
    passed on only when it lies inside (run directories, of which a test makes hundreds).
    """
    full = os.path.realpath(path)
    _registered[full] = _registered.get(full, False) or name_it


def registered(roots: list[str]) -> list[str]:
    """The registered paths to hide from workers that may read beneath `roots`."""
    from selftaught.sandbox.limits import may_read

    return sorted(p for p, named in _registered.items() if named or may_read(p, roots, []))


def _with_bytecode(path: str) -> list[str]:
    """`path`, and for a module file the compiled copies beside it in `__pycache__`."""
    if not path.endswith(".py"):
        return [path]
    folder, name = os.path.split(path)
    pattern = os.path.join(folder, "__pycache__", f"{name[:-3]}.*.pyc")
    return [path, *sorted(glob.glob(pattern))]


def _module_location(name: str) -> str | None:
    """Where a top-level module or package lives, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        locations = list(spec.submodule_search_locations)
        return locations[0] if locations else None
    return spec.origin if spec.origin and os.path.isabs(spec.origin) else None


def installed_task_modules() -> list[str]:
    """Top-level module names of the installed tasks (never selftaught itself)."""
    names = set()
    for ep in importlib.metadata.entry_points(group=TASK_GROUP):
        top = ep.value.split(":")[0].strip().split(".")[0]
        if top and top != "selftaught":
            names.add(top)
    return sorted(names)


def hidden_paths(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every path a worker must not read: see the module docstring."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # selftaught/
    paths = []
    for name in ORCHESTRATION:
        paths += _with_bytecode(os.path.join(package, name))
    for name in installed_task_modules():
        location = _module_location(name)
        if location:
            paths += _with_bytecode(os.path.realpath(location))
    found = {p for p in paths if os.path.exists(p)}
    return sorted(found | set(_around_roots([os.path.realpath(p) for p in extra])))


def _around_roots(paths: list[str]) -> list[str]:
    """`paths`, each kept whether or not it exists yet (Landlock then leaves it out of
    its parent's rules, so what is made there later is not readable either; the audit
    hooks judge a path by its name). A path that holds a folder workers must read (a
    read root, e.g. a project folder holding the package's source) is replaced by its
    entries that hold none, so the workers keep their own code."""
    from selftaught.sandbox.limits import read_roots

    roots = read_roots()[0]

    def holds_root(path: str) -> bool:
        return any(r == path or r.startswith(path.rstrip("/") + "/") for r in roots)

    out: list[str] = []
    todo = list(paths)
    while todo:
        path = todo.pop()
        if not holds_root(path):
            out.append(path)
        elif path not in roots and os.path.isdir(path):
            todo += [entry.path for entry in os.scandir(path)]
    return out


def under_any(path: str, tops: list[str] | tuple[str, ...]) -> bool:
    """Whether `path` is one of `tops` or lies beneath one."""
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in tops)


def outermost(paths: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`paths` resolved, without those that lie beneath another (hidden with it)."""
    full = sorted({os.path.realpath(p) for p in paths})
    return tuple(p for p in full if not under_any(p, [q for q in full if q != p]))


def hidden_modules() -> list[str]:
    """Module names a worker may not import (a prefix covers its submodules)."""
    return [*HIDDEN_MODULES, *installed_task_modules(), "selftaught_user_task_"]
