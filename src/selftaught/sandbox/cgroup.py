"""One cgroup per sandbox: all its workers together get a memory and a process limit.

Per-worker rlimits leave N parallel workers free to use N times the memory and threads,
and the scratch tmpfs (which counts against RAM) besides. Where the machine allows it,
the orchestrator makes a cgroup for its fork server's workers: with cgroup v1, one in the
`memory` and one in the `pids` hierarchy (root); with cgroup v2, one in a subtree this user
may write to that has the `memory` and `pids` controllers (root, or a delegated subtree).
Each worker moves itself in right after the fork, through descriptors the fork server
opened before it confined itself. Memory a worker touches, tmpfs pages it writes
included, is charged to the group; when the group is full the kernel kills the largest
worker in it (the fork server and the orchestrator are outside), which is recorded as the
outcome `memory`. Groups are named `selftaught-<orchestrator pid>-<random>`; those whose
orchestrator is gone are removed when the next one is made.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field

PREFIX = "selftaught-"
WORKER_GROUPS = 32
"""Per-worker pids groups made under a run's (cgroup v1): one for each live worker, up to
this many at once; a worker past them counts against the run's group only."""
SCRATCH_MB = 64
"""The size of each worker's scratch tmpfs (`limits.Limits.scratch_mb`, the default); what
a worker writes there is charged to the group."""


@dataclass(frozen=True)
class RunBounds:
    """What all workers of one sandbox may use together."""

    memory_mb: int
    """Memory (RAM, page cache and tmpfs pages) of all workers together."""
    pids: int
    """Processes and threads of all workers together."""
    worker_pids: int = 0
    """Processes and threads of each worker on its own (a group of its own under the run's,
    so that no worker takes the threads the others need); 0: none."""

    @classmethod
    def for_workers(cls, workers: int, memory_mb: int, processes: int = 64) -> RunBounds:
        """Room for `workers` workers at their own limits, each with its scratch tmpfs full,
        but at most three quarters of the memory this machine (or the enclosing cgroup)
        has."""
        memory = workers * (memory_mb + SCRATCH_MB)
        return cls(memory_mb=min(memory, machine_mb() * 3 // 4), pids=workers * processes)


def bounds_for(
    *, parallel: int, memory_mb: int, run_memory_mb: int | None, run_pids: int | None
) -> RunBounds:
    """A run's bounds from its config: `parallel` improver runs, each with a solution
    worker, and three spares; what the config sets overrides the default."""
    default = RunBounds.for_workers(2 * parallel + 3, memory_mb)
    return RunBounds(run_memory_mb or default.memory_mb, run_pids or default.pids)


def machine_mb() -> int:
    """Physical memory, or the limit of the cgroup this process is in if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    for path in own_dirs("memory"):
        for name in ("memory.limit_in_bytes", "memory.max"):
            try:
                with open(os.path.join(path, name)) as f:
                    value = f.read().strip()
            except OSError:
                continue
            if value.isdigit():
                total = min(total, int(value) // 2**20)
    return total


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root in the hierarchy, fs type, super options) of cgroup mounts."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) >= 5 and len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], fields[3], extra[0], set(extra[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """Controller (or "" for cgroup v2) -> this process's cgroup path."""
    paths = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    paths[c] = path
    except (OSError, ValueError):
        pass
    return paths


def _join(mount: str, root: str, path: str) -> str:
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return os.path.normpath(os.path.join(mount, path.lstrip("/")))


def own_dirs(controller: str) -> list[str]:
    """The directories of this process's own cgroup for `controller` ("" for v2)."""
    own = _own_paths()
    dirs = []
    for mount, root, fstype, options in _mounts():
        if fstype == "cgroup" and controller in options and controller in own:
            dirs.append(_join(mount, root, own[controller]))
        elif fstype == "cgroup2" and "" in own:
            dirs.append(_join(mount, root, own[""]))
    return dirs


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def remove_stale(parent: str) -> None:
    """Remove the groups of orchestrators that are gone (e.g. after a crash)."""
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for name in entries:
        if not name.startswith(PREFIX):
            continue
        try:
            pid = int(name[len(PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
            continue  # its orchestrator is alive
        except ValueError:
            pass
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        _empty_and_remove(os.path.join(parent, name))


def _empty_and_remove(group: str, patience: float = 2.0) -> None:
    """Kill what is left in a dead orchestrator's group (workers or a fork server of a
    crashed run that did not notice it go), then remove the group (its per-worker groups
    first)."""
    try:
        children = [e.path for e in os.scandir(group) if e.is_dir(follow_symlinks=False)]
    except OSError:
        children = []
    for child in children:
        _empty_and_remove(child, patience)
    deadline = time.monotonic() + patience
    while True:
        try:
            os.rmdir(group)  # fails while a process is in it
            return
        except OSError:
            pass
        try:
            with open(os.path.join(group, "cgroup.procs")) as f:
                left = [int(p) for p in f.read().split()]
        except (OSError, ValueError):
            return
        if time.monotonic() > deadline:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


@dataclass
class RunCgroup:
    """A cgroup (or a pair, with cgroup v1) holding the workers of one fork server."""

    version: str
    bounds: RunBounds
    dirs: list[str]
    procs: list[str]
    """The `cgroup.procs` files a worker writes itself into."""
    events: str
    """The file whose `oom_kill` line counts the workers the kernel killed."""
    peak_file: str
    worker_procs: list[str] = field(default_factory=list)
    """The `cgroup.procs` files of the per-worker groups (`RunBounds.worker_pids`): a
    worker writes itself into one of these instead of the run's own pids group."""
    _fds: list[int] = field(default_factory=list, repr=False)

    @property
    def summary(self) -> str:
        return f"cgroup-{self.version}:memory={self.bounds.memory_mb}M,pids={self.bounds.pids}"

    def open_for_server(self) -> tuple[list[int], int, list[int]]:
        """Descriptors for the fork server: the procs files (write), the events file, and
        the per-worker groups' procs files (write)."""
        procs = [os.open(p, os.O_WRONLY | os.O_CLOEXEC) for p in self.procs]
        events = os.open(self.events, os.O_RDONLY | os.O_CLOEXEC)
        workers = [os.open(p, os.O_WRONLY | os.O_CLOEXEC) for p in self.worker_procs]
        self._fds = [*procs, events, *workers]
        return procs, events, workers

    def close_server_fds(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def peak_bytes(self) -> int:
        """The highest memory use of the group so far."""
        return int(_read(self.peak_file).split()[0])

    def oom_kills(self) -> int:
        return oom_kills(_read(self.events))

    def remove(self) -> None:
        """Remove the group (its workers are gone: the fork server reaped them)."""
        for path in [os.path.dirname(p) for p in self.worker_procs] + self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    import time

                    time.sleep(0.02)


def oom_kills(events: str) -> int:
    for line in events.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


def _name() -> str:
    return f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"


def _create_v1(bounds: RunBounds) -> RunCgroup | str:
    memory, pids = own_dirs("memory")[:1], own_dirs("pids")[:1]
    mounts = {fstype for _, _, fstype, _ in _mounts()}
    if not memory or not pids or "cgroup" not in mounts:
        return ""
    made: list[str] = []
    name = _name()
    try:
        for parent in (memory[0], pids[0]):
            remove_stale(parent)
            os.mkdir(os.path.join(parent, name))
            made.append(os.path.join(parent, name))
        mem_dir, pids_dir = made
        limit = str(bounds.memory_mb * 2**20)
        _write(os.path.join(mem_dir, "memory.limit_in_bytes"), limit)
        if os.path.exists(os.path.join(mem_dir, "memory.memsw.limit_in_bytes")):
            _write(os.path.join(mem_dir, "memory.memsw.limit_in_bytes"), limit)
        _write(os.path.join(pids_dir, "pids.max"), str(bounds.pids))
        workers = []
        for i in range(WORKER_GROUPS if bounds.worker_pids else 0):
            group = os.path.join(pids_dir, f"w{i}")
            os.mkdir(group)
            made.append(group)
            _write(os.path.join(group, "pids.max"), str(bounds.worker_pids))
            workers.append(os.path.join(group, "cgroup.procs"))
    except OSError as exc:
        for path in reversed(made):
            try:
                os.rmdir(path)
            except OSError:
                pass
        return f"cgroup v1: {exc.strerror or exc}"
    return RunCgroup(
        "v1",
        bounds,
        [mem_dir, pids_dir],
        [os.path.join(d, "cgroup.procs") for d in (mem_dir, pids_dir)],
        os.path.join(mem_dir, "memory.oom_control"),
        os.path.join(mem_dir, "memory.max_usage_in_bytes"),
        workers,
    )


def _create_v2(bounds: RunBounds) -> RunCgroup | str:
    dirs = own_dirs("")
    if not dirs:
        return ""
    own = dirs[0]
    reason = "cgroup v2: no writable subtree with the memory and pids controllers"
    for parent in (own, os.path.dirname(own)):
        try:
            enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
            if not {"memory", "pids"} <= enabled:
                _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
        except OSError:
            continue
        remove_stale(parent)
        path = os.path.join(parent, _name())
        try:
            os.mkdir(path)
        except OSError:
            continue
        try:
            _write(os.path.join(path, "memory.max"), str(bounds.memory_mb * 2**20))
            if os.path.exists(os.path.join(path, "memory.swap.max")):
                _write(os.path.join(path, "memory.swap.max"), "0")
            _write(os.path.join(path, "pids.max"), str(bounds.pids))
        except OSError as exc:
            os.rmdir(path)
            reason = f"cgroup v2: {exc.strerror or exc}"
            continue
        peak = os.path.join(path, "memory.peak")
        return RunCgroup(
            "v2",
            bounds,
            [path],
            [os.path.join(path, "cgroup.procs")],
            os.path.join(path, "memory.events"),
            peak if os.path.exists(peak) else os.path.join(path, "memory.current"),
        )
    return reason


_WARNED: list[bool] = []


def create(bounds: RunBounds) -> RunCgroup | str:
    """A group for one fork server's workers, or why there is none. The first time there
    is none, one line on stderr says so."""
    result: RunCgroup | str = "" if sys.platform != "linux" else _create_v1(bounds)
    if isinstance(result, str):
        v2 = _create_v2(bounds) if sys.platform == "linux" else ""
        result = v2 if isinstance(v2, RunCgroup) else (result or v2)
    if isinstance(result, str):
        result = result or "no cgroup memory and pids controllers"
        if not _WARNED:
            _WARNED.append(True)
            print(
                f"selftaught: workers are limited one by one, not per run ({result})",
                file=sys.stderr,
            )
    return result
