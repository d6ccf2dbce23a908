"""The executor interface and the local executor.

An executor decides where independent pieces of work run. It offers two things:

- `map(fn, items)`: call `fn` on every item, several at once, in orchestrator threads,
  and return the results in item order. `fn` may write records and call the model: it
  runs in the orchestrator, where the run's store, budgets and backend live.
- `sandbox(spec)`: the sandbox that runs model-written programs. Locally it is the warm
  fork server on this machine; under Ray, solutions and improver workers run in a
  selftaught sandbox on Ray's nodes while their calls are brokered here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, Self, TypeVar

from selftaught.errors import ConfigError
from selftaught.sandbox import Sandbox, SandboxLike, SandboxSpec

T = TypeVar("T")
R = TypeVar("R")

RAY_INSTALL_HINT = "pip install 'selftaught[ray]'"


class Executor(Protocol):
    """Where independent work runs: `local` (this machine) or `ray` (a Ray cluster)."""

    name: str
    max_workers: int
    """How many items `map` runs at once unless told otherwise."""

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, max_workers: int | None = None
    ) -> list[R]:
        """`[fn(item) for item in items]`, several at once; the first error is raised."""
        ...

    def sandbox(self, spec: SandboxSpec | None = None) -> SandboxLike:
        """A sandbox set by `spec` whose programs run where this executor runs work; the
        spec's `run_bounds` are what its workers may use together (per fork server: under
        Ray, per Ray worker)."""
        ...

    def close(self) -> None:
        """Release what the executor started (a local Ray instance, remote sandboxes)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def thread_map(
    fn: Callable[[T], R], items: Iterable[T], *, max_workers: int, prefix: str = "executor"
) -> list[R]:
    """Run `fn` over `items` in a pool of its own, so nested maps never starve each other."""
    work = list(items)
    if not work:
        return []
    workers = max(1, min(max_workers, len(work)))
    if workers == 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix) as pool:
        futures = [pool.submit(fn, item) for item in work]
        return [f.result() for f in futures]


class LocalExecutor:
    """Threads in the orchestrator over the warm fork server on this machine."""

    name = "local"

    def __init__(self, *, max_workers: int = 2) -> None:
        self.max_workers = max(1, max_workers)

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, max_workers: int | None = None
    ) -> list[R]:
        return thread_map(fn, items, max_workers=max_workers or self.max_workers)

    def sandbox(self, spec: SandboxSpec | None = None) -> Sandbox:
        return Sandbox(spec)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_ray() -> None:
    """Raise a one-line `UserError` with the install command if Ray is missing."""
    # Found, not imported: importing Ray is slow and fixes settings it reads at import.
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(f"the ray executor needs Ray, which is not installed: {RAY_INSTALL_HINT}")
