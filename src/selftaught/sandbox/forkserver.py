"""The fork server: a clean, warm process that forks one worker per job.

It is started with a scrubbed environment, imports numpy and the worker code, moves
itself into a network namespace with nothing in it, and never runs untrusted code
itself. Each job's worker is forked from it (warm, and fresh: it shares nothing with
earlier jobs), becomes a session leader so its whole process group can be killed, gets
its limits, drops privileges, and talks to the orchestrator over its own socket.

Control messages (SOCK_SEQPACKET, one JSON object per packet):
  orchestrator -> server: {"job": id, "scratch": path, "limits": {...}} with one fd
  server -> orchestrator: {"op": "started", "job": id, "pid": pid}
                          {"op": "exit", "pid": pid, "code": c, "signal": s}
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

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
]
"""Imported once in the fork server, so workers start with them loaded."""


def _child(job_fd: int, header: dict, keep: set[int]) -> None:
    from selftaught.sandbox import limits, worker

    os.setsid()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for fd in range(3, 1024):
        if fd != job_fd and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.chdir(header["scratch"])
    limits.apply(limits.Limits(**header["limits"]), drop_to=header.get("uid"))
    worker.install_guards(header.get("network", "none"))
    worker.serve(job_fd)


def main() -> None:
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    settings = json.loads(ctrl.recv(65536))

    from selftaught.sandbox import limits

    network = limits.isolate_network() if settings.get("isolate_network", True) else "none"

    import importlib

    for name in [*PRELOAD, *settings.get("preload", [])]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    ctrl.send(json.dumps({"op": "hello", "pid": os.getpid(), "network": network}).encode())
    children: set[int] = set()
    try:
        while True:
            ready, _, _ = select.select([ctrl, wake_r], [], [])
            if wake_r in ready:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                while children:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    children.discard(pid)
                    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
                    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
                    ctrl.send(
                        json.dumps({"op": "exit", "pid": pid, "code": code, "signal": sig}).encode()
                    )
            if ctrl in ready:
                data, fds, _, _ = socket.recv_fds(ctrl, 65536, 1)
                if not data:
                    break
                header = json.loads(data)
                header["network"] = network
                if not fds:
                    continue
                job_fd = fds[0]
                pid = os.fork()
                if pid == 0:
                    try:
                        _child(job_fd, header, keep=set())
                    finally:
                        os._exit(0)
                os.close(job_fd)
                children.add(pid)
                ctrl.send(json.dumps({"op": "started", "job": header["job"], "pid": pid}).encode())
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main()
