"""The orchestrator's handle on the fork server: start it, ask it for workers, kill them."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from selftaught.sandbox.limits import NOBODY, Limits

# Variables a worker may see. Everything else (API keys, tokens, proxies) stays out.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED")


def readable_by_others(path: str) -> bool:
    """Whether a user other than the owner can reach and list `path` (and its parents)."""
    import stat

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


def python_readable_by_others() -> bool:
    """Whether an unprivileged worker could import what this Python can."""
    import numpy

    roots = [sys.prefix, os.path.dirname(os.path.dirname(numpy.__file__))]
    roots.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return all(readable_by_others(r) for r in roots)


def scrubbed_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update(
        {
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
    )
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


@dataclass
class Exit:
    """How a worker process ended."""

    code: int | None
    signal: int | None


@dataclass
class Worker:
    """A running worker: the socket to talk to it and the pid of its process group."""

    sock: socket.socket
    pid: int
    scratch: str
    server: ForkServer
    _done: bool = field(default=False, repr=False)

    def kill(self) -> None:
        self.server.kill(self.pid)

    def close(self, *, need_status: bool = True) -> Exit | None:
        """Kill whatever is left of the worker; the fork server removes its scratch dir.

        Without `need_status` (the worker already reported its result) this does not wait
        for the worker's exit: the SIGKILL is enough, as a worker cannot start processes.
        """
        if self._done:
            return None
        self._done = True
        self.sock.close()
        self.server.kill(self.pid)
        if not need_status:
            self.server.forget(self.pid)
            return None
        return self.server.wait(self.pid, timeout=5.0)


class ForkServer:
    """Starts `selftaught.sandbox.forkserver` and hands out workers."""

    def __init__(
        self,
        *,
        isolate_network: bool = True,
        drop_privileges: bool = True,
        preload: list[str] | None = None,
        confine: bool = True,
        audit_hooks: bool = True,
    ) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._base = tempfile.mkdtemp(prefix="selftaught-sandbox-")
        # Workers run as `nobody` only if it can still import the Python installation
        # (here it may live under /root, which nobody else can enter).
        can_drop = drop_privileges and os.geteuid() == 0 and python_readable_by_others()
        self.uid = NOBODY if can_drop else None
        self.privileges = "nobody" if can_drop else ("root" if os.geteuid() == 0 else "user")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "selftaught.sandbox.forkserver", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=scrubbed_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self._base,
        )
        theirs.close()
        self._ctrl = ours
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._started: dict[int, Future[tuple[int, str]]] = {}
        self._exits: dict[int, Exit] = {}
        self._live: set[int] = set()
        self._forgotten: set[int] = set()
        self._ids = itertools.count(1)
        self._closed = False
        ours.send(
            json.dumps(
                {
                    "isolate_network": isolate_network,
                    "preload": preload or [],
                    "confine": confine,
                    "audit_hooks": audit_hooks,
                }
            ).encode()
        )
        ours.settimeout(60)
        hello = json.loads(ours.recv(65536) or b"{}")
        ours.settimeout(None)
        if hello.get("op") != "hello":
            raise RuntimeError("the sandbox fork server did not start")
        self.network: str = hello["network"]
        self.scratch_mode: str = hello.get("scratch", "dir")
        self.landlock: int = int(hello.get("landlock", 0))
        self.seccomp: bool = bool(hello.get("seccomp", False))
        self.pid: int = hello["pid"]
        self._reader = threading.Thread(target=self._read, name="forkserver-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self._ctrl.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self._closed = True
                    for fut in self._started.values():
                        if not fut.done():
                            fut.set_exception(RuntimeError("the sandbox fork server stopped"))
                    self._cond.notify_all()
                return
            msg = json.loads(data)
            with self._cond:
                if msg["op"] == "started":
                    self._live.add(msg["pid"])
                    self._started.pop(msg["job"]).set_result((msg["pid"], msg["scratch"]))
                elif msg["op"] == "exit":
                    self._live.discard(msg["pid"])
                    if msg["pid"] in self._forgotten:
                        self._forgotten.discard(msg["pid"])
                        continue
                    self._exits[msg["pid"]] = Exit(msg["code"], msg["signal"])
                    self._cond.notify_all()

    def spawn(self, limits: Limits) -> Worker:
        """A fresh worker with its own scratch directory, waiting for its job."""
        job = next(self._ids)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fut: Future[tuple[int, str]] = Future()
        header = {"job": job, "limits": limits.to_dict(), "uid": self.uid}
        with self._cond:
            if self._closed:
                raise RuntimeError("the sandbox fork server stopped")
            self._started[job] = fut
        with self._send_lock:
            socket.send_fds(self._ctrl, [json.dumps(header).encode()], [theirs.fileno()])
        theirs.close()
        pid, scratch = fut.result(timeout=30)
        return Worker(sock=ours, pid=pid, scratch=scratch, server=self)

    def kill(self, pid: int) -> None:
        """SIGKILL the worker's whole process group (it is a session leader)."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def forget(self, pid: int) -> None:
        """Nobody will wait for this worker's exit status."""
        with self._cond:
            if self._exits.pop(pid, None) is None:
                self._forgotten.add(pid)

    def wait(self, pid: int, *, timeout: float) -> Exit | None:
        with self._cond:
            self._cond.wait_for(lambda: pid in self._exits or self._closed, timeout=timeout)
            return self._exits.pop(pid, None)

    def close(self) -> None:
        try:
            self._ctrl.close()
        finally:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            try:
                os.chmod(self._base, 0o700)
            except OSError:
                pass
            shutil.rmtree(self._base, ignore_errors=True)
