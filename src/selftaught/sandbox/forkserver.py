"""The fork server: a clean, warm process that forks one worker per job.

It is started with a scrubbed environment, imports numpy and the worker code, moves
itself into a network namespace with nothing in it, and never runs untrusted code
itself. Each job's worker is forked from it (warm, and fresh: it shares nothing with
earlier jobs), becomes a session leader so its whole process group can be killed, gets
its limits, drops privileges, and talks to the orchestrator over its own socket. The
orchestrator asks for workers ahead of need (spares), so a worker may wait, confined and
idle, for its job; it has run nothing until the job arrives.

Control messages (SOCK_SEQPACKET, one JSON object per packet):
  orchestrator -> server: {"job": id, "scratch": path, "limits": {...}} with one fd
  server -> orchestrator: {"op": "started", "job": id, "pid": pid}
                          {"op": "exit", "pid": pid, "code": c, "signal": s, "cpu": seconds}
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import select
import shutil
import signal
import socket
import sys
import time

PRELOAD = [
    "numpy",
    "numpy.random",
    "numpy.linalg",
    "numpy.fft",
    "selftaught.sandbox.worker",
    "random",
    "math",
    "itertools",
    "functools",
    "collections",
    "heapq",
    "bisect",
    "re",
    "time",
    "typing",
    "dataclasses",
    "copy",
    "statistics",
    "operator",
    "string",
    "json",
    "concurrent.futures",
    # Lazily imported by socket.getaddrinfo (host names are IDNA-encoded) before its audit
    # event: were it not loaded, a failed import could hide a connection attempt.
    "encodings.idna",
]
"""Imported once in the fork server, so workers start with them loaded."""


CONFINE_FAILED = 70
"""Exit code of a worker that could not apply the confinement the server promised."""


def _close_all_but(keep: set[int]) -> None:
    low = 3
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, 65536)


def _child(
    job_fd: int,
    header: dict,
    scratch: str,
    scratch_fd: int,
    modes: dict,
    cgroup_procs: list[int],
    reads: dict,
) -> None:
    from selftaught.sandbox import limits, worker

    try:  # into the run's cgroup before anything is allocated ("0": the writer itself)
        for fd in cgroup_procs:
            os.write(fd, b"0")
    except OSError:
        os._exit(CONFINE_FAILED)
    os.setsid()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    _close_all_but({job_fd, scratch_fd})
    os.chdir(scratch)
    try:
        limits.apply(
            limits.Limits(**header["limits"]),
            drop_to=header.get("uid"),
            scratch_fd=scratch_fd,
            devnull_fd=0,
            landlock_abi=modes["landlock"],
            use_seccomp=modes["seccomp"],
        )
    except OSError:
        os._exit(CONFINE_FAILED)
    os.close(scratch_fd)
    worker.install_guards(modes["network"], enabled=modes["audit_hooks"], reads=reads)
    worker.serve(job_fd)


def main() -> None:
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    settings = json.loads(ctrl.recv(65536))
    base = os.getcwd()

    from selftaught.sandbox import hidden, limits, seccomp

    # Workers run as `nobody` only if it can still import this Python installation (it
    # may live under /root, which nobody else can enter).
    root = os.geteuid() == 0
    drop = settings.get("drop_privileges", True) and root and limits.python_readable_by_others()
    privileges = "nobody" if drop else ("root" if root else "user")

    # What workers may read (Landlock below, and the audit hooks, which also hold where
    # Landlock is missing): the Python installation minus task code and other answers.
    hide = hidden.hidden_paths(settings.get("hidden", []))
    roots, excluded = limits.read_roots(hide)
    reads = {"roots": roots, "excluded": excluded, "hidden": hide}
    reads["modules"] = hidden.hidden_modules()
    network = limits.isolate_network() if settings.get("isolate_network", True) else "none"
    scratch_mode = limits.private_scratch(base) if settings.get("confine", True) else "dir"

    import importlib

    for name in [*PRELOAD, *settings.get("preload", [])]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    # Workers then never write to (so never copy) the pages of what was preloaded.
    gc.collect()
    gc.freeze()

    confine = settings.get("confine", True)
    modes = {
        "network": network,
        "scratch": scratch_mode,
        "landlock": limits.confine_server(base, hide) if confine else 0,
        "seccomp": confine and seccomp.supported(),
        "audit_hooks": settings.get("audit_hooks", True),
    }
    cgroup_procs = list(settings.get("cgroup", {}).get("procs", []))
    cgroup_events = (settings.get("cgroup", {}).get("events") or [None])[0]
    counted_oom = [_oom_kills(cgroup_events)]
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    hello = {"op": "hello", "pid": os.getpid(), "privileges": privileges, **modes}
    hello["uid"] = limits.NOBODY if drop else None
    ctrl.send(json.dumps(hello).encode())
    children: dict[int, str] = {}
    try:
        while True:
            ready, _, _ = select.select([ctrl.fileno(), wake_r], [], [])
            if wake_r in ready:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                while children:
                    try:
                        pid, status, usage = os.wait4(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    scratch = children.pop(pid, None)
                    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
                    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
                    oom = False
                    if sig == signal.SIGKILL and _oom_kills(cgroup_events) > counted_oom[0]:
                        counted_oom[0] += 1  # the kernel killed it: the run's memory is full
                        oom = True
                    exit_msg = {"op": "exit", "pid": pid, "code": code, "signal": sig, "oom": oom}
                    exit_msg["cpu"] = usage.ru_utime + usage.ru_stime  # for speed tasks
                    ctrl.send(json.dumps(exit_msg).encode())
                    if scratch:
                        _remove(scratch)
            if ctrl.fileno() in ready:
                data, fds, _, _ = socket.recv_fds(ctrl, 65536, 1)
                if not data:
                    break
                header = json.loads(data)
                if not fds:
                    continue
                job_fd = fds[0]
                scratch = os.path.join(base, secrets.token_hex(16))
                os.mkdir(scratch, 0o700)
                if header.get("uid") is not None:
                    os.chown(scratch, header["uid"], header["uid"])
                scratch_fd = os.open(scratch, os.O_PATH | os.O_DIRECTORY)
                pid = os.fork()
                if pid == 0:
                    try:
                        _child(job_fd, header, scratch, scratch_fd, modes, cgroup_procs, reads)
                    finally:
                        os._exit(0)
                os.close(job_fd)
                os.close(scratch_fd)
                children[pid] = scratch
                ctrl.send(
                    json.dumps(
                        {"op": "started", "job": header["job"], "pid": pid, "scratch": scratch}
                    ).encode()
                )
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap(children)


def _oom_kills(fd: int | None) -> int:
    """Workers the kernel has killed for the run's cgroup (read through a descriptor
    opened before the fork server confined itself)."""
    if fd is None:
        return 0
    from selftaught.sandbox.cgroup import oom_kills

    try:
        return oom_kills(os.pread(fd, 4096, 0).decode())
    except OSError:
        return 0


def _remove(scratch: str) -> None:
    try:
        os.rmdir(scratch)  # most workers leave their directory empty
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)


def _reap(children: dict[int, str], timeout: float = 5.0) -> None:
    """Wait for killed workers, so none outlives the server (a worker cannot fork)."""
    deadline = time.monotonic() + timeout
    while children and time.monotonic() < deadline:
        for pid in list(children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.pop(pid)
        if children:
            time.sleep(0.001)


if __name__ == "__main__":
    main()
