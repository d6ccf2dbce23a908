"""How a run's sandbox is set (`SandboxSpec`, built once from the config) and what a run
needs of a sandbox (`SandboxLike`: the local `Sandbox` and Ray's `RaySandbox` are both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self

from selftaught.sandbox.cgroup import RunBounds, bounds_for
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.results import Broker, ImproveResult, SolveResult

SOLUTION_CPU_SECONDS = 60
"""Default CPU-time limit of one solution worker."""
IMPROVER_CPU_SECONDS = 300
"""Default CPU-time limit of one improver worker (its own computation)."""


@dataclass(frozen=True)
class SandboxSpec:
    """Everything that sets a run's sandbox; frozen and picklable, so the same sandbox can
    be built on any node (Ray's remote side builds its own from this)."""

    solution_limits: Limits = Limits(cpu_seconds=SOLUTION_CPU_SECONDS)
    improver_limits: Limits = Limits(cpu_seconds=IMPROVER_CPU_SECONDS)
    isolate_network: bool = True
    """Workers get a network namespace with no interfaces (where the platform allows)."""
    drop_privileges: bool = True
    """When running as root, workers run as `nobody`."""
    run_bounds: RunBounds | None = None
    """What all workers may use together; None: room for `DEFAULT_WORKERS` workers."""
    hidden: tuple[str, ...] = ()
    """Paths no worker may read, besides the ones every sandbox hides (`hidden.py`): the
    run's folder of run directories, its own run directory, a replayed run, the per-user
    instance key. Absolute; a path that does not exist yet is hidden once it does (on
    every node: Ray's sandboxes are built from this spec)."""

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        parallel: int,
        improver_cpu_seconds: int | None = None,
        hidden: tuple[str, ...] = (),
    ) -> SandboxSpec:
        """The spec of a run's `[sandbox]` settings (`config.SandboxSettings`) with
        `parallel` improver runs at once. `improver_cpu_seconds` is the run's resolved
        limit (`RunConfig.improver_cpu_seconds`); unset, the settings' or the default.
        `hidden`: the run's own paths to hide from workers (`assembly.hidden_for`)."""
        return cls(
            solution_limits=Limits(
                cpu_seconds=settings.solution_cpu_seconds, memory_mb=settings.memory_mb
            ),
            improver_limits=Limits(
                cpu_seconds=improver_cpu_seconds
                or settings.improver_cpu_seconds
                or IMPROVER_CPU_SECONDS,
                memory_mb=settings.memory_mb,
            ),
            isolate_network=settings.isolate_network,
            drop_privileges=settings.drop_privileges,
            run_bounds=bounds_for(
                parallel=parallel,
                memory_mb=settings.memory_mb,
                run_memory_mb=settings.run_memory_mb,
                run_pids=settings.run_pids,
            ),
            hidden=tuple(hidden),
        )


class ImproverBudgets(Protocol):
    """What one improver run may spend (`config.Budgets` is one)."""

    lm_calls: int
    samples_per_call: int
    utility_calls: int


class SandboxLike(Protocol):
    """What a run needs from a sandbox (`Sandbox` and the Ray executor's `RaySandbox`)."""

    @property
    def network_mode(self) -> str: ...

    @property
    def privileges(self) -> str: ...

    @property
    def containment(self) -> dict[str, str] | None:
        """How its workers are confined, one entry per mechanism (recorded in a run's
        header); None where it is not known here (each Ray node confines its own)."""
        ...

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
        budgets: ImproverBudgets,
        broker: Broker,
        timeout: float,
        charge_utility_time: bool = True,
    ) -> ImproveResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
