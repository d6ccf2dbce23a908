"""Resource limits and isolation applied to a worker, from inside the fork server."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
from dataclasses import asdict, dataclass

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one worker may use. Wall-clock limits are enforced by the orchestrator."""

    memory_mb: int = 2048
    """Address-space limit (RLIMIT_AS)."""
    cpu_seconds: int = 60
    """CPU-time limit (RLIMIT_CPU); the kernel kills the worker past it."""
    open_files: int = 64
    file_size_mb: int = 16
    processes: int = 64
    """Processes and threads of the sandbox user (RLIMIT_NPROC; only binds when not root)."""

    def to_dict(self) -> dict:
        return asdict(self)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def isolate_network() -> str:
    """Move this process into a network namespace of its own, with no interfaces up.

    Returns the mode obtained: `netns` (as root), `userns+netns` (unprivileged user
    namespace), or `none` when the platform allows neither.
    """
    libc = _libc()
    if os.geteuid() == 0 and libc.unshare(CLONE_NEWNET) == 0:
        return "netns"
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        try:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{gid} {gid} 1")
        except OSError:
            pass
        return "userns+netns"
    return "none"


def apply(limits: Limits, *, drop_to: int | None) -> None:
    """Set rlimits and drop privileges in a freshly forked worker."""
    mb = 1024 * 1024
    settings = [
        (resource.RLIMIT_AS, limits.memory_mb * mb),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
        (resource.RLIMIT_CORE, 0),
    ]
    if drop_to is not None:
        settings.append((resource.RLIMIT_NPROC, limits.processes))
    for which, value in settings:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            soft, hard = resource.getrlimit(which)
            if hard == resource.RLIM_INFINITY or value <= hard:
                raise
            resource.setrlimit(which, (hard, hard))
    if drop_to is not None:
        os.setgroups([])
        os.setgid(drop_to)
        os.setuid(drop_to)
    _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
