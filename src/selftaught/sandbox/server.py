"""The orchestrator's handle on the fork server: start it, ask it for workers, kill them.

Workers are forked ahead of need: for each set of limits the client keeps a few spares
that are already confined and waiting for their job, and asks for a replacement as soon
as one is handed out. A spare has run nothing (its job has not been sent), so it is as
fresh as a worker forked on demand; what it saves is the fork and the confinement on the
caller's clock.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from selftaught.sandbox import cgroup, hidden
from selftaught.sandbox.cgroup import RunBounds, RunCgroup
from selftaught.sandbox.forkserver import CONFINE_FAILED
from selftaught.sandbox.limits import Limits, read_roots
from selftaught.sandbox.protocol import Inbox

# Variables a worker may see. Everything else (API keys, tokens, proxies) stays out.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED")


def scrubbed_env(python_path: list[str] | None = None) -> dict[str, str]:
    """The fork server's environment; `python_path` replaces this process's `sys.path`."""
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    path = sys.path if python_path is None else python_path
    env.update(
        {
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in path if p),
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
    oom: bool = False
    """Killed by the kernel because the run's cgroup was out of memory."""
    cpu_seconds: float | None = None
    """CPU time of the whole worker (user + system, all threads), from its rusage."""


@dataclass
class Worker:
    """A running worker: the socket to talk to it and the pid of its process group."""

    sock: socket.socket
    pid: int
    scratch: str
    server: ForkServer
    key: str = ""
    """The limits it was started with (`ForkServer._key`)."""
    _done: bool = field(default=False, repr=False)
    inbox: Inbox = field(init=False, repr=False)
    """What the worker sent, read in chunks (use this, not `sock`, to receive)."""

    def __post_init__(self) -> None:
        self.inbox = Inbox(self.sock)

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
        self.server.released(self)
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
        spares: int = 2,
        python: str | None = None,
        python_path: list[str] | None = None,
        user: int | None = None,
        run_bounds: RunBounds | None = None,
        hide: tuple[str, ...] = (),
    ) -> None:
        """`spares`: workers kept forked and confined, per set of limits, ahead of need.

        To test other modes on one machine: `python` runs the fork server on another
        interpreter (with `python_path` as its PYTHONPATH instead of this `sys.path`), and
        `user` (root only) starts it as that unprivileged uid, as a normal user would.
        `run_bounds`: put every worker in one cgroup with these limits, where the machine
        allows it (`run_mode` says what was obtained). `hide`: paths no worker may read,
        besides those registered in this process (`hidden.hide`).
        """
        self.spares = max(0, spares)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._base = tempfile.mkdtemp(prefix="selftaught-sandbox-")
        as_user: dict = {}
        if user is not None:
            os.chown(self._base, user, user)
            as_user = {"user": user, "group": user, "extra_groups": []}
        self.cgroup: RunCgroup | None = None
        self.run_mode = "unbounded"
        cgroup_fds: dict = {}
        if run_bounds is not None:
            made = cgroup.create(run_bounds)
            if isinstance(made, str):
                self.run_mode = "none"
            else:
                self.cgroup, self.run_mode = made, made.summary
                procs, events, workers = made.open_for_server()
                cgroup_fds = {"procs": procs, "events": [events], "workers": workers}
        if python is not None and python_path is None:
            python_path = [os.path.dirname(os.path.dirname(os.path.dirname(__file__)))]
        self._proc = subprocess.Popen(
            [python or sys.executable, "-m", "selftaught.sandbox.forkserver", str(theirs.fileno())],
            pass_fds=[theirs.fileno(), *(fd for fds in cgroup_fds.values() for fd in fds)],
            env=scrubbed_env(python_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self._base,
            **as_user,
        )
        theirs.close()
        if self.cgroup is not None:
            self.cgroup.close_server_fds()
        self._ctrl = ours
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._exits: dict[int, Exit] = {}
        self._live: set[int] = set()
        self._forgotten: set[int] = set()
        self._ids = itertools.count(1)
        self._closed = False
        # Per limits key: its limits, how many spares to keep, the ready spares, the
        # workers requested but not started, and the callers waiting in spawn().
        self._limits: dict[str, Limits] = {}
        self._targets: dict[str, int] = {}
        self._spares: dict[str, deque[Worker]] = {}
        self._inflight: dict[str, int] = {}
        self._busy: dict[str, int] = {}  # workers handed out and not yet closed
        self._waiting: dict[str, int] = {}
        self._requests: dict[int, tuple[str, socket.socket]] = {}
        self._idle: dict[int, str] = {}
        self._confine_failed: set[int] = set()
        settings = {
            "isolate_network": isolate_network,
            "preload": preload or [],
            "confine": confine,
            "audit_hooks": audit_hooks,
            "drop_privileges": drop_privileges,
            "cgroup": cgroup_fds,
            "hidden": sorted({*hidden.registered(read_roots()[0]), *map(os.path.realpath, hide)}),
        }
        try:
            ours.send(json.dumps(settings).encode())
        except OSError:  # it exited at once: `_started` says so on first use
            pass
        # The server imports numpy and confines itself while this process goes on with
        # its own set-up (a run's records, its model): its hello is awaited in a thread,
        # which then starts the spares; the first use waits for it.
        self._hello: dict | None = None
        self._failed = False
        self._hello_lock = threading.Lock()
        threading.Thread(target=self._await_quietly, name="forkserver-hello", daemon=True).start()

    def _await_quietly(self) -> None:
        try:
            self._started()
        except (RuntimeError, OSError):  # the first use raises it again
            pass

    def _started(self) -> dict:
        """The fork server's hello, waited for on first use (then its threads start). A
        server that never says hello raises RuntimeError, and is cleaned up."""
        with self._hello_lock:
            if self._hello is not None:
                return self._hello
            if self._failed:
                raise RuntimeError("the sandbox fork server did not start")
            try:
                self._ctrl.settimeout(60)
                hello = json.loads(self._ctrl.recv(65536) or b"{}")
                self._ctrl.settimeout(None)
            except (OSError, ValueError):  # it exited at once, never answered, or was closed
                hello = {}
            if hello.get("op") != "hello" and self._closed:  # closed before it said hello
                self._failed = True
                raise RuntimeError("the sandbox fork server stopped")
            if hello.get("op") != "hello":
                self._proc.kill()
                self._proc.wait()
                self._ctrl.close()
                if self.cgroup is not None:
                    self.cgroup.remove()
                    self.cgroup = None
                shutil.rmtree(self._base, ignore_errors=True)
                self._failed = True
                with self._cond:
                    self._closed = True
                raise RuntimeError("the sandbox fork server did not start")
            self._hello = hello
            self._reader = threading.Thread(
                target=self._read, name="forkserver-reader", daemon=True
            )
            self._reader.start()
            self._refiller = threading.Thread(
                target=self._refill, name="forkserver-refill", daemon=True
            )
            self._refiller.start()
            return hello

    @property
    def network(self) -> str:
        """Network isolation of the workers: `netns`, `userns+netns` or `none`."""
        return str(self._started()["network"])

    @property
    def scratch_mode(self) -> str:
        """`tmpfs` (each worker's own) or `dir`."""
        return str(self._started().get("scratch", "dir"))

    @property
    def landlock(self) -> int:
        """The Landlock ABI workers are confined with; 0 for none."""
        return int(self._started().get("landlock", 0))

    @property
    def seccomp(self) -> bool:
        return bool(self._started().get("seccomp", False))

    @property
    def pid(self) -> int:
        return int(self._started()["pid"])

    @property
    def uid(self) -> int | None:
        """The uid workers run as (decided by the fork server for its interpreter and
        user); None: the fork server's own."""
        uid = self._started().get("uid")
        return None if uid is None else int(uid)

    @property
    def privileges(self) -> str:
        """Who workers run as: `nobody`, `root` or `user`."""
        return str(self._started().get("privileges", "user"))

    def _read(self) -> None:
        while True:
            try:
                data = self._ctrl.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self._stopped()
                return
            msg = json.loads(data)
            with self._cond:
                if msg["op"] == "failed":  # nothing was forked: ask again (the refill)
                    request = self._requests.pop(msg["job"], None)
                    if request is not None:
                        self._inflight[request[0]] -= 1
                        request[1].close()
                    self._cond.notify_all()
                    continue
                pid = msg["pid"]
                if msg["op"] == "started":
                    self._live.add(pid)
                    request = self._requests.pop(msg["job"], None)
                    if request is None:  # started after close()
                        self.kill(pid)
                        self._forgotten.add(pid)
                        continue
                    key, sock = request
                    self._inflight[key] -= 1
                    worker = Worker(sock, pid, msg["scratch"], self, key)
                    self._spares[key].append(worker)
                    self._idle[pid] = key
                    self._cond.notify_all()
                elif msg["op"] == "exit":
                    self._live.discard(pid)
                    spare = self._idle.get(pid)
                    if spare is not None and msg["code"] == CONFINE_FAILED:
                        # Handed out as it is, so the caller's job gets the error outcome
                        # (as with a worker forked on demand) instead of a fork loop here.
                        self._confine_failed.add(pid)
                    elif spare is not None:
                        self._drop_spare(spare, pid)
                        self._cond.notify_all()
                        continue
                    if pid in self._forgotten:
                        self._forgotten.discard(pid)
                        continue
                    cpu = msg.get("cpu")
                    cpu = float(cpu) if isinstance(cpu, int | float) else None
                    self._exits[pid] = Exit(msg["code"], msg["signal"], bool(msg.get("oom")), cpu)
                    self._cond.notify_all()

    def _stopped(self) -> None:
        """The fork server is gone (or closing): no worker will start, spares are killed."""
        self._closed = True
        for spares in self._spares.values():
            for worker in spares:
                worker.sock.close()
                self.kill(worker.pid)
            spares.clear()
        self._idle.clear()
        for _, sock in self._requests.values():
            sock.close()
        self._requests.clear()
        self._cond.notify_all()

    def _drop_spare(self, key: str, pid: int) -> None:
        """An idle spare died or is unusable: never hand it out (the refill replaces it)."""
        self._idle.pop(pid, None)
        spares = self._spares[key]
        for worker in spares:
            if worker.pid == pid:
                spares.remove(worker)
                worker.sock.close()
                break

    def released(self, worker: Worker) -> None:
        """A worker handed out by `spawn` is done with (its spares may be refilled now)."""
        with self._cond:
            if worker.key in self._busy:
                self._busy[worker.key] -= 1
                self._cond.notify_all()

    def _deficits(self) -> dict[str, int]:
        """Spares to request now, per limits key: up to its target plus one per waiting
        caller. While workers of a key are busy its target drops by as many (to one at
        least), so that a spare taken is replaced when its evaluation ends rather than
        while it runs: forking and confining the replacement took the cores from the
        evaluation (docs/performance.md). Callers waiting, or no spare left, refill now."""
        deficits = {}
        for key, target in self._targets.items():
            if self._busy[key] > 0 and not self._waiting[key]:
                target = min(target, max(1, target - self._busy[key]))
            n = target + self._waiting[key] - len(self._spares[key]) - self._inflight[key]
            if n > 0:
                deficits[key] = n
        return deficits

    def _refill(self) -> None:
        """Keep each key's spares (plus one per waiting caller) requested from the server."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._deficits())
                if self._closed:
                    return
                requests = []
                for key, n in self._deficits().items():
                    self._inflight[key] += n
                    for _ in range(n):
                        job = next(self._ids)
                        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                        self._requests[job] = (key, ours)
                        requests.append((job, key, theirs))
            for job, key, theirs in requests:
                header = {"job": job, "limits": self._limits[key].to_dict(), "uid": self.uid}
                try:
                    with self._send_lock:
                        socket.send_fds(
                            self._ctrl, [json.dumps(header).encode()], [theirs.fileno()]
                        )
                except OSError:
                    with self._cond:
                        self._stopped()
                finally:
                    theirs.close()

    def _key(self, limits: Limits) -> str:
        key = json.dumps(limits.to_dict(), sort_keys=True)
        if key not in self._targets:
            self._limits[key] = limits
            self._targets[key] = self.spares
            self._spares[key] = deque()
            self._inflight[key] = 0
            self._waiting[key] = 0
            self._busy[key] = 0
        return key

    def keep_spares(self, limits: Limits, count: int | None = None) -> None:
        """Keep `count` (default: `spares`) workers with these limits ready from now on."""
        with self._cond:
            key = self._key(limits)
            self._targets[key] = self.spares if count is None else max(0, count)
            self._cond.notify_all()

    def _usable(self, worker: Worker) -> bool:
        if worker.pid in self._confine_failed:
            return True
        if worker.pid not in self._live:
            return False
        # A spare sends nothing before its job: anything readable means it died or hung up.
        poller = select.poll()
        poller.register(worker.sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        return not poller.poll(0)

    def spawn(self, limits: Limits, *, timeout: float = 30.0) -> Worker:
        """A fresh worker with its own scratch directory, waiting for its job.

        A ready spare if there is one (a replacement is forked at once), else the next
        worker the fork server starts for these limits.
        """
        deadline = time.monotonic() + timeout
        if not self._closed:
            self._started()
        with self._cond:
            if self._closed:
                raise RuntimeError("the sandbox fork server stopped")
            key = self._key(limits)
            self._waiting[key] += 1
            try:
                while True:
                    if self._closed:
                        raise RuntimeError("the sandbox fork server stopped")
                    spares = self._spares[key]
                    if spares:
                        worker = spares.popleft()
                        self._idle.pop(worker.pid, None)
                        if self._usable(worker):
                            self._confine_failed.discard(worker.pid)
                            self._busy[key] += 1
                            return worker
                        worker.sock.close()
                        self.kill(worker.pid)
                        if self._exits.pop(worker.pid, None) is None:
                            self._forgotten.add(worker.pid)
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RuntimeError("the sandbox fork server started no worker in time")
                    self._cond.notify_all()
                    self._cond.wait(left)
            finally:
                self._waiting[key] -= 1
                self._cond.notify_all()

    @property
    def stopped(self) -> bool:
        """The fork server is gone (it died, or was closed): it starts no more workers."""
        return self._closed

    def idle_spares(self) -> dict[str, list[int]]:
        """Pids of the spares ready now, per limits key (for tests and diagnostics)."""
        with self._cond:
            return {key: [w.pid for w in spares] for key, spares in self._spares.items()}

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
        """Kill the spares, stop the fork server (it kills and reaps its workers)."""
        with self._cond:
            self._stopped()
        try:
            try:
                self._ctrl.shutdown(socket.SHUT_RDWR)  # ends a wait for the hello too
            except OSError:
                pass
            with self._hello_lock:  # that wait is over (and cleaned up after a failure)
                self._ctrl.close()
        finally:
            try:  # longer than the fork server's own wait for its workers
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self.cgroup is not None:
                self.cgroup.remove()
            try:
                os.chmod(self._base, 0o700)
            except OSError:
                pass
            shutil.rmtree(self._base, ignore_errors=True)
