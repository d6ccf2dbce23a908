"""Choosing an executor by name. Kept apart from `base` so that `ray_executor` can build
on `base` without `base` needing `ray_executor` back."""

from __future__ import annotations

from selftaught.errors import ConfigError
from selftaught.executors.base import Executor, LocalExecutor, require_ray

EXECUTORS = ("local", "ray")


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
