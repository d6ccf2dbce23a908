"""Where evaluations run: `local` (threads over the warm fork server on this machine) or
`ray` (the same sandboxed work on a Ray cluster; `pip install 'selftaught[ray]'`).

Importing this package does not import Ray.
"""

from selftaught.executors.base import Executor, LocalExecutor, require_ray, thread_map
from selftaught.executors.make import EXECUTORS, check_executor, make_executor

__all__ = [
    "EXECUTORS",
    "Executor",
    "LocalExecutor",
    "check_executor",
    "make_executor",
    "require_ray",
    "thread_map",
]
