"""Where evaluations run: `local` (threads over the warm fork server on this machine) or
`ray` (the same sandboxed work on a Ray cluster; `pip install 'selftaught[ray]'`).

Importing this package does not import Ray.
"""

from selftaught.executors.base import (
    EXECUTORS,
    Executor,
    LocalExecutor,
    SandboxLike,
    check_executor,
    make_executor,
    require_ray,
    thread_map,
)

__all__ = [
    "EXECUTORS",
    "Executor",
    "LocalExecutor",
    "SandboxLike",
    "check_executor",
    "make_executor",
    "require_ray",
    "thread_map",
]
