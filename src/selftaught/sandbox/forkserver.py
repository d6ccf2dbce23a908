"""The fork server: a clean, warm process that forks one worker per job.

It is started with a scrubbed environment, imports numpy and the worker code, moves
itself into a network namespace with nothing in it, and never runs untrusted code
itself. Each job's worker is forked from it (warm, and fresh: it shares nothing with
earlier jobs), becomes a session leader so its whole process group can be killed, gets
its limits, drops privileges, and talks to the orchestrator over its own socket. The
orchestrator asks for workers ahead of need (spares), so a worker may wait, confined and
idle, for its job; it has run nothing until the job arrives.

Control messages (SOCK_SEQPACKET, one JSON object per packet):
  orchestrator -> server: {"job": id, "limits": {...}, "uid": uid} with one fd
  server -> orchestrator: {"op": "started", "job": id, "pid": pid, "scratch": path}
                          {"op": "failed", "job": id}  (no process could be forked)
                          {"op": "exit", "pid": pid, "code": c, "signal": s, "cpu": seconds}

Only the orchestrator talks to the server, and no untrusted code ever runs in it: a
worker is forked from it, leaves its loop and drops its state before it is confined.
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
from dataclasses import dataclass

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

SLOTS = 256
"""Scratch mount points the fork server keeps (`_Server.slots`)."""
"""Exit code of a worker that could not apply the confinement the server promised."""


def _close_all_but(keep: set[int]) -> None:
    low = 3
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, 65536)


@dataclass
class _Job:
    """All a new worker takes from the fork server: its own job and the confinement that
    every worker gets. Nothing of the server's loop or of any other worker is in it."""

    job_fd: int
    limits: dict
    uid: int | None
    scratch: str | None
    scratch_fd: int | None
    modes: dict
    cgroup_procs: list[int]
    reads: dict
    read_fds: list[tuple[int, bool]]
    shared_fd: int


def _become_worker(jobs: list[_Job]) -> None:
    """Confine this freshly forked process and run its one job (taken out of `jobs`, so
    that once it is dropped below no frame or object of the worker holds it)."""
    from selftaught.sandbox import limits, worker

    job = jobs.pop()
    try:  # into the run's cgroup before anything is allocated ("0": the writer itself)
        for fd in job.cgroup_procs:
            os.write(fd, b"0")
    except OSError:
        os._exit(CONFINE_FAILED)
    if job.scratch is None or job.scratch_fd is None:
        os._exit(CONFINE_FAILED)  # the server could not make its scratch directory
    os.setsid()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = {job.job_fd, job.scratch_fd, job.shared_fd, *(fd for fd, _ in job.read_fds)}
    _close_all_but(keep)
    os.chdir(job.scratch)
    try:
        limits.apply(
            limits.Limits(**job.limits),
            drop_to=job.uid,
            scratch_fd=job.scratch_fd,
            devnull_fd=0,
            landlock_abi=job.modes["landlock"],
            use_seccomp=job.modes["seccomp"],
            read_fds=job.read_fds,
            shared_fd=job.shared_fd,
        )
    except OSError:
        os._exit(CONFINE_FAILED)
    os.close(job.scratch_fd)
    for fd in [fd for fd, _ in job.read_fds] + ([job.shared_fd] if job.shared_fd >= 0 else []):
        os.close(fd)
    reads, network, job_fd = job.reads, job.modes["network"], job.job_fd
    hooks = job.modes["audit_hooks"]
    del job
    gc.collect()
    worker.install_guards(network, enabled=hooks, reads=reads)
    del reads
    worker.serve(job_fd)


class _Server:
    """The fork server's state and loop. A worker leaves the loop by returning from
    `serve` (never by running inside it), so once the server object is dropped nothing of
    its state (the live workers, their scratch paths, the settings) is reachable from the
    worker: no frame, no object."""

    def __init__(self, ctrl: socket.socket) -> None:
        self.ctrl = ctrl
        self.pid = os.getpid()
        settings = json.loads(ctrl.recv(1 << 20))
        self.base = os.getcwd()

        from selftaught.sandbox import hidden, limits, seccomp

        # Workers run as `nobody` only if it can still import this Python installation (it
        # may live under /root, which nobody else can enter).
        root = os.geteuid() == 0
        drop = settings.get("drop_privileges", True) and root and limits.python_readable_by_others()
        privileges = "nobody" if drop else ("root" if root else "user")
        self.uid = limits.NOBODY if drop else None

        # What workers may read (Landlock below, and the audit hooks, which also hold where
        # Landlock is missing): the Python installation minus task code and other answers.
        hide = hidden.hidden_paths(settings.get("hidden", []))
        roots, excluded = limits.read_roots(hide)
        # Workers get digests of the paths they may not read, never the paths (guards.py).
        from selftaught.sandbox.guards import digests

        self.reads = {"roots": roots, "excluded": digests(excluded), "hidden": digests(hide)}
        self.reads["modules"] = hidden.hidden_modules()
        confine = settings.get("confine", True)
        network = limits.isolate_network() if settings.get("isolate_network", True) else "none"
        scratch_mode = limits.private_scratch(self.base) if confine else "dir"

        import importlib

        for name in [*PRELOAD, *settings.get("preload", [])]:
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        # A worker's lazy imports look only where it may read (no refusals to record).
        sys.path[:] = [p for p in sys.path if p and limits.may_read(p, roots, excluded)]
        # ... and nothing names the folders it may not read (the orchestrator's own path).
        os.environ["PYTHONPATH"] = os.pathsep.join(sys.path)
        for entry in [e for e in sys.path_importer_cache if e not in sys.path]:
            del sys.path_importer_cache[entry]

        abi, self.shared_fd = limits.shared_ruleset(self.base, hide) if confine else (0, -1)
        # Done once here, not in each worker: after the namespaces above (a new user
        # namespace starts with a full bounding set), inherited by every worker.
        limits.drop_bounding_set()
        if confine and seccomp.supported():
            seccomp.prepare()
        self.modes = {
            "network": network,
            "scratch": scratch_mode,
            "landlock": abi,
            "seccomp": confine and seccomp.supported(),
            "audit_hooks": settings.get("audit_hooks", True),
        }
        self.read_fds = limits.worker_read_fds(roots, self.base) if abi else []
        self.cgroup_procs = list(settings.get("cgroup", {}).get("procs", []))
        # Per-worker pids groups (cgroup v1): each live worker gets one of its own in place
        # of the run's pids group (the last of `cgroup_procs`), so that no worker can take
        # the threads the others need; past them, a worker counts against the run's only.
        self.free_groups: list[int] = list(settings.get("cgroup", {}).get("workers", []))
        self.groups: dict[int, int] = {}
        self.cgroup_events = (settings.get("cgroup", {}).get("events") or [None])[0]
        self.counted_oom = _oom_kills(self.cgroup_events)
        self.children: dict[int, str] = {}
        # The scratch base always holds the same SLOTS mount points, made now and reused,
        # so nothing a worker sees of it (its link count, the inodes in use) tells how many
        # workers are alive. Past SLOTS live workers, more are made (and removed).
        self.slots: set[str] = set()
        self.free_slots: list[str] = []
        if scratch_mode == "tmpfs":
            for _ in range(SLOTS):
                slot = os.path.join(self.base, secrets.token_hex(16))
                os.mkdir(slot, 0o700)
                self.slots.add(slot)
                self.free_slots.append(slot)
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # Workers then never write to (so never copy) the pages of what was preloaded.
        gc.collect()
        gc.freeze()
        hello = {"op": "hello", "pid": os.getpid(), "privileges": privileges, **self.modes}
        hello["uid"] = self.uid
        self.send(hello)

    def send(self, msg: dict) -> None:
        self.ctrl.send(json.dumps(msg).encode())

    def serve(self) -> _Job | None:
        """Fork workers until the orchestrator hangs up (None); in a worker, its job."""
        while True:
            ready, _, _ = select.select([self.ctrl.fileno(), self.wake_r], [], [])
            if self.wake_r in ready:
                self._reap_exited()
            if self.ctrl.fileno() in ready:
                data, fds, _, _ = socket.recv_fds(self.ctrl, 65536, 1)
                if not data:
                    return None
                if fds:
                    job = self._start(json.loads(data), fds[0])
                    if job is not None:
                        return job

    def _reap_exited(self) -> None:
        try:
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            scratch = self.children.pop(pid, None)
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            oom = False
            if sig == signal.SIGKILL and _oom_kills(self.cgroup_events) > self.counted_oom:
                self.counted_oom += 1  # the kernel killed it: the run's memory is full
                oom = True
            exit_msg = {"op": "exit", "pid": pid, "code": code, "signal": sig, "oom": oom}
            exit_msg["cpu"] = usage.ru_utime + usage.ru_stime  # for speed tasks
            self.send(exit_msg)
            group = self.groups.pop(pid, None)
            if group is not None:
                self.free_groups.append(group)
            if scratch:
                self._release(scratch)

    def _scratch(self, limits: dict, uid: int | None) -> tuple[str, int] | None:
        """A fresh scratch directory for one worker (its own tmpfs on one of the `slots`
        where the platform allows), or None if none could be made (the worker then
        refuses its job)."""
        from selftaught.sandbox.limits import Limits, mount_scratch

        tmpfs = self.modes["scratch"] == "tmpfs"
        path = self.free_slots.pop() if tmpfs and self.free_slots else ""
        try:
            if not path:
                path = os.path.join(self.base, secrets.token_hex(16))
                os.mkdir(path, 0o700)
            if tmpfs:
                mount_scratch(path, Limits(**limits), uid)
            elif uid is not None:
                os.chown(path, uid, uid)
            return path, os.open(path, os.O_PATH | os.O_DIRECTORY)
        except (OSError, TypeError, ValueError):
            self._release(path)
            return None

    def _release(self, scratch: str) -> None:
        """A worker's scratch is gone with its files; a slot is ready for the next one."""
        if scratch in self.slots:
            from selftaught.sandbox.limits import unmount_scratch

            unmount_scratch(scratch)  # its tmpfs, files and all; the slot itself is empty
            self.free_slots.append(scratch)
        elif scratch:
            _remove(scratch)

    def _start(self, header: dict, job_fd: int) -> _Job | None:
        """Fork the worker of one request; in the worker, its job. Whatever fails here
        fails that worker only (it exits with CONFINE_FAILED), never the server."""
        made = self._scratch(header.get("limits", {}), header.get("uid"))
        scratch, scratch_fd = made if made else (None, None)
        group = self.free_groups.pop() if self.free_groups and self.cgroup_procs else None
        procs = self.cgroup_procs if group is None else [*self.cgroup_procs[:-1], group]
        try:
            pid = os.fork()
        except OSError:
            pid = -1
        if pid == 0:
            self.ctrl.detach()  # the descriptor is closed with the rest, never twice
            return _Job(
                job_fd,
                header.get("limits", {}),
                header.get("uid"),
                scratch,
                scratch_fd,
                self.modes,
                procs,
                self.reads,
                self.read_fds,
                self.shared_fd,
            )
        os.close(job_fd)
        if scratch_fd is not None:
            os.close(scratch_fd)
        if pid < 0:
            if group is not None:
                self.free_groups.append(group)
            if scratch:
                self._release(scratch)
            time.sleep(0.05)  # the machine is out of processes: do not spin
            self.send({"op": "failed", "job": header.get("job")})
            return None
        self.children[pid] = scratch or ""
        if group is not None:
            self.groups[pid] = group
        self.send({"op": "started", "job": header.get("job"), "pid": pid, "scratch": scratch})
        return None

    def shutdown(self) -> None:
        for pid in self.children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap(self.children)


def main() -> None:
    server = _Server(socket.socket(fileno=int(sys.argv[1])))
    try:
        job = server.serve()
    except BaseException:
        if os.getpid() == server.pid:
            server.shutdown()
        raise
    if job is None:
        server.shutdown()
        return
    jobs, job = [job], None
    # A worker: the server's state goes (nothing refers to it once `server` is dropped),
    # and so does this frame's reference to the job, which `_become_worker` takes over.
    del server
    try:
        _become_worker(jobs)
    finally:
        os._exit(0)


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
    from selftaught.sandbox.limits import unmount_scratch

    unmount_scratch(scratch)  # its tmpfs, files and all (nothing to do for a plain dir)
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
