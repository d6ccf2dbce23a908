"""The executor interface and the local executor.

An executor decides where independent pieces of work run. It offers two things:

- `map(fn, items)`: call `fn` on every item, several at once, in orchestrator threads,
  and return the results in item order. `fn` may write records and call the model: it
  runs in the orchestrator, where the run's store, budgets and backend live.
- `sandbox(...)`: the sandbox that runs model-written programs. Locally it is the warm
  fork server on this machine; under Ray, solutions and improver workers run in a
  selftaught sandbox on Ray's nodes while their calls are brokered here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from selftaught.errors import ConfigError
from selftaught.sandbox import Broker, ImproveResult, Limits, Sandbox, SolveResult
from selftaught.sandbox.cgroup import RunBounds

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")
RAY_INSTALL_HINT = "pip install 'selftaught[ray]'"


class SandboxLike(Protocol):
    """What the run needs from a sandbox (`selftaught.sandbox.Sandbox` is one)."""

    network_mode: str
    privileges: str

    def solve(
        self,
        src: str,
        *,
        function: str,
        instances: list[tuple],
        instance_timeout: float,
        load_timeout: float = 5.0,
    ) -> SolveResult: ...

    def improve(
        self,
        src: str,
        *,
        initial_solution: str,
        utility_str: str,
        utility_budget: int,
        lm_budget: int,
        max_responses_per_call: int,
        broker: Broker,
        timeout: float,
    ) -> ImproveResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...


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

    def sandbox(
        self,
        *,
        solution_limits: Limits | None = None,
        improver_limits: Limits | None = None,
        isolate_network: bool = True,
        drop_privileges: bool = True,
        run_bounds: RunBounds | None = None,
    ) -> SandboxLike:
        """A sandbox whose programs run where this executor runs work; `run_bounds` are
        what its workers may use together (per fork server: under Ray, per Ray worker)."""
        ...

    def close(self) -> None:
        """Release what the executor started (a local Ray instance, remote sandboxes)."""
        ...

    def __enter__(self) -> Executor: ...

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

    def sandbox(
        self,
        *,
        solution_limits: Limits | None = None,
        improver_limits: Limits | None = None,
        isolate_network: bool = True,
        drop_privileges: bool = True,
        run_bounds: RunBounds | None = None,
    ) -> Sandbox:
        return Sandbox(
            solution_limits=solution_limits,
            improver_limits=improver_limits,
            isolate_network=isolate_network,
            drop_privileges=drop_privileges,
            run_bounds=run_bounds,
        )

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


def check_executor(name: str, address: str | None = None) -> None:
    """Validate an executor choice cheaply (no Ray started), for the command line."""
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
    if address and name != "ray":
        raise ConfigError("--ray-address is only used with --executor ray")
    if name == "ray":
        require_ray()


def make_executor(
    name: str = "local", *, max_workers: int = 2, address: str | None = None
) -> Executor:
    """`local` or `ray`. With `ray` and no address, a local Ray instance is started
    (bound to 127.0.0.1); `auto` or `ray://host:port` joins an existing cluster."""
    check_executor(name, address)
    if name == "ray":
        from selftaught.executors.ray_executor import RayExecutor

        return RayExecutor(address=address, max_workers=max_workers)
    return LocalExecutor(max_workers=max_workers)
