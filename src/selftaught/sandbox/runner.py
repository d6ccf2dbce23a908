"""Running programs in sandbox workers: the program failing is a result, not an exception.

`Sandbox.solve` runs a solution on task inputs and returns its outputs; it never sees the
answers. `Sandbox.improve` runs an improver whose `utility` and `language_model` calls come
back here to be counted, served and recorded by a `Broker`.
"""

from __future__ import annotations

import dataclasses
import enum
import pickle
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from selftaught.sandbox import protocol
from selftaught.sandbox.cgroup import RunBounds
from selftaught.sandbox.forkserver import CONFINE_FAILED
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.results import (
    Broker,
    ImproveResult,
    InstanceResult,
    Outcome,
    SolveResult,
)
from selftaught.sandbox.server import Exit, ForkServer, Worker
from selftaught.sandbox.spec import ImproverBudgets, SandboxSpec

DEFAULT_WORKERS = 7
"""Workers a sandbox's run bounds make room for unless told: two improver runs at once
(`parallel` = 2), each with a solution worker, plus the spares (two and one)."""

GRACE = 1.0
"""Seconds past a worker's own limit before the orchestrator kills it."""

MAX_HUNG = 3
"""Hung instances in a row (each costs a kill and a fresh worker that loads the program
again) after which an evaluation records the rest as not run."""

MAX_RESTARTS = 3
"""Restarts of a fork server that died, in a row, before the sandbox gives up."""

MAX_EVENTS = 200
"""Worker-reported events kept per job; the rest are counted in one `events_dropped`."""

MAX_OUTPUT_BYTES = 64 * 1024 * 1024
"""Most bytes of outputs one evaluation may send, all its instances together (one message
is held to `protocol.MAX_MESSAGE` and `protocol.MAX_ITEMS`); past it the worker is killed
and the rest of its instances are errors."""

MAX_OUTPUT_VALUES = 2_000_000
"""Most values in the outputs of one evaluation, all its instances together: what they cost
the orchestrator's memory until they are scored (tens of MB)."""

MAX_TEXT = 2000
"""Characters kept of a message a worker sends with an error (cut on receipt)."""

MAX_PICKLED_INPUTS = 16
"""Sets of instance inputs whose pickle a sandbox keeps (a run's splits of its tasks)."""


def solve_bound(instances: int, instance_timeout: float, load_timeout: float) -> float:
    """Most wall-clock seconds one evaluation may take, whatever its program does: one
    load, every instance at its limit, and a grace period for each worker it may need."""
    return load_timeout + instances * instance_timeout + (MAX_HUNG + 1) * GRACE


@dataclass
class Violation:
    """A message that broke the protocol; the worker has been killed."""

    message: str


class _Claims:
    """The events of one job: what its worker reported about itself (claims, capped at
    `MAX_EVENTS`) and what the orchestrator observed. docs/security.md, "Events"."""

    def __init__(self) -> None:
        self._events: list[dict] = []
        self._claimed = 0
        self._dropped = 0
        self.output_bytes = 0
        """Bytes of instance outputs received for this job so far (`MAX_OUTPUT_BYTES`)."""
        self.output_values = 0
        """Values (an upper bound: commas) of those outputs (`MAX_OUTPUT_VALUES`)."""

    def claimed(self, events: list[dict]) -> None:
        room = max(0, MAX_EVENTS - self._claimed)
        kept = events[:room]
        self._claimed += len(kept)
        self._dropped += len(events) - len(kept)
        self._events.extend(
            {"kind": e["kind"], "detail": e["detail"][: protocol.MAX_DETAIL], "source": "worker"}
            for e in kept
        )

    def observed(self, kind: str, detail: str) -> None:
        self._events.append({"kind": kind, "detail": detail[:1000], "source": "orchestrator"})

    def all(self) -> list[dict]:
        if self._dropped:
            self.observed(
                "events_dropped",
                f"{self._dropped} more events reported by the worker past {MAX_EVENTS}",
            )
            self._dropped = 0
        return self._events


Stage = Literal["load", "died", "skipped"]
"""Where feeding instances to one worker stopped (`Sandbox._solve_in`)."""


class NoMessage(enum.Enum):
    """Why a worker sent no message: the wait ran out, or the worker is gone (it died or
    broke the protocol)."""

    TIMEOUT = "timeout"
    GONE = "gone"


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) of another process, from the kernel's
    per-process CPU clock; None where there is no such clock or the process is gone."""
    try:  # Linux's clock id for a process's CPU clock: MAKE_PROCESS_CPUCLOCK(pid, SCHED)
        return time.clock_gettime_ns(((~pid) << 3) | 2) / 1e9
    except (OSError, OverflowError, AttributeError):
        return None


def _outcome_of_exit(status: Exit | None) -> tuple[Outcome, str]:
    if status is None:
        return "killed", "the worker vanished"
    if status.oom:
        return "memory", "killed by the kernel: the run's workers reached their memory limit"
    if status.code == CONFINE_FAILED:
        return "error", "the sandbox could not confine the worker; the program did not run"
    if status.signal == signal.SIGXCPU:
        return "timeout", "CPU-time limit reached"
    if status.signal == signal.SIGKILL:
        return "killed", "killed (SIGKILL)"
    if status.signal is not None:
        return "killed", f"killed by signal {signal.Signals(status.signal).name}"
    return "killed", f"the program ended the worker (exit code {status.code})"


def _classify_error(message: str) -> Outcome:
    return "memory" if message.startswith("MemoryError") else "error"


class Sandbox:
    """Runs solutions and improvers in fresh workers forked from a warm fork server."""

    def __init__(
        self,
        spec: SandboxSpec | None = None,
        *,
        confine: bool = True,
        audit_hooks: bool = True,
        spares: int = 2,
        python: str | None = None,
        python_path: list[str] | None = None,
        user: int | None = None,
        run_cgroup: bool = True,
    ) -> None:
        """`spec`: limits, isolation and run bounds (default `SandboxSpec()`).
        `confine=False` skips Landlock, seccomp and the scratch tmpfs; `audit_hooks=False`
        leaves only the kernel's confinement (to test that it holds on its own). `spares`
        workers per kind (solution, improver) are kept forked and confined ahead of need;
        0 forks each worker on demand. `python`, `python_path` and `user`: see
        `ForkServer` (for tests of the other modes). The spec's `run_bounds`: what all
        workers may use together (default: room for `DEFAULT_WORKERS` at their own limits), enforced
        by a cgroup where the machine allows it; `run_cgroup=False` makes none."""
        spec = spec or SandboxSpec()
        self.spec = spec
        self.restarts = 0
        """Times the fork server died and was started again."""
        self._closing = False
        self._restart_lock = threading.Lock()
        self._pickles: OrderedDict[tuple[int, ...], tuple[list[tuple], bytes]] = OrderedDict()
        self._pickles_lock = threading.Lock()
        self.solution_limits = spec.solution_limits
        self.improver_limits = spec.improver_limits
        run_bounds = spec.run_bounds
        processes = max(self.solution_limits.processes, self.improver_limits.processes)
        if run_cgroup and run_bounds is None:
            run_bounds = RunBounds.for_workers(
                DEFAULT_WORKERS,
                max(self.solution_limits.memory_mb, self.improver_limits.memory_mb),
                processes,
            )
        bounds = run_bounds if run_cgroup else None
        if bounds is not None and not bounds.worker_pids:  # each worker at its own limit too
            bounds = dataclasses.replace(bounds, worker_pids=processes)

        def start() -> ForkServer:
            return self._configured(
                ForkServer(
                    isolate_network=spec.isolate_network,
                    drop_privileges=spec.drop_privileges,
                    confine=confine,
                    audit_hooks=audit_hooks,
                    spares=spares,
                    python=python,
                    python_path=python_path,
                    user=user,
                    run_bounds=bounds,
                    hide=tuple(spec.hidden),
                )
            )

        self._start_server = start
        self.server = self._start_server()

    def _configured(self, server: ForkServer) -> ForkServer:
        server.keep_spares(self.solution_limits)
        # Improvers start rarely and run long: one spare is plenty.
        server.keep_spares(self.improver_limits, min(server.spares, 1))
        return server

    @property
    def network_mode(self) -> str:
        """`netns`, `userns+netns`, or `none` (audit hooks only)."""
        return self.server.network

    @property
    def privileges(self) -> str:
        """Who workers run as: `nobody`, `root` (could not drop) or `user`."""
        return self.server.privileges

    @property
    def containment(self) -> dict[str, str]:
        """What confines workers on this machine, to record with a run (docs/security.md)."""
        server = self.server
        return {
            "network": server.network,
            "filesystem": f"landlock-abi{server.landlock}" if server.landlock else "audit-hooks",
            "scratch": server.scratch_mode,
            "syscalls": "seccomp" if server.seccomp else "none",
            "processes": "single-process" if server.seccomp else "rlimit-nproc",
            "privileges": server.privileges + ("-nocaps" if server.privileges == "root" else ""),
            "run": server.run_mode,
        }

    @property
    def containment_summary(self) -> str:
        """`containment` as one line, e.g. `network=netns filesystem=landlock-abi7 ...`."""
        return " ".join(f"{k}={v}" for k, v in self.containment.items())

    def close(self) -> None:
        self._closing = True
        self.server.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- solutions -------------------------------------------------------------------

    def solve(
        self,
        src: str,
        *,
        function: str,
        instances: list[tuple],
        instance_timeout: float,
        load_timeout: float = 5.0,
    ) -> SolveResult:
        """Run `function(*args)` for each instance's inputs, each under its time limit.

        An instance that hangs or kills its worker is recorded as such, and the remaining
        instances go on in a new worker. Bounded in time whatever the program does: after
        `MAX_HUNG` hung instances in a row (a load that hangs counts as one) the rest are
        recorded as not run, and no evaluation takes longer than `solve_bound` seconds.
        """
        start = time.perf_counter()
        deadline = time.monotonic() + solve_bound(len(instances), instance_timeout, load_timeout)
        results: dict[int, InstanceResult] = {}
        claims = _Claims()
        pending = list(range(len(instances)))
        cpu: float | None = 0.0
        hung = 0
        while pending:
            if claims.output_bytes > MAX_OUTPUT_BYTES or claims.output_values > MAX_OUTPUT_VALUES:
                why = "not run: the outputs exceed the evaluation's bound in all"
                for i in pending:
                    results[i] = InstanceResult("error", message=why)
                break
            if hung >= MAX_HUNG or time.monotonic() >= deadline:
                why = (
                    f"not run: {hung} instances in a row hung"
                    if hung >= MAX_HUNG
                    else "not run: the evaluation's time ran out"
                )
                claims.observed("hung_instances", f"{why} ({len(pending)} left)")
                for i in pending:
                    results[i] = InstanceResult("timeout", message=why)
                break
            worker = self._spawn(self.solution_limits, claims)
            cpu_before = process_cpu_seconds(worker.pid)
            try:
                failure = self._solve_in(
                    worker,
                    src,
                    function,
                    instances,
                    pending,
                    results,
                    claims,
                    instance_timeout=instance_timeout,
                    load_timeout=load_timeout,
                    deadline=deadline,
                )
            except BaseException:
                worker.close()
                raise
            cpu_after = process_cpu_seconds(worker.pid)
            # Gone already (it exits after its last answer): its exit rusage has the time.
            status = worker.close(need_status=failure is not None or cpu_after is None)
            if cpu_after is None and status is not None:
                cpu_after = status.cpu_seconds
            if cpu is not None and cpu_before is not None and cpu_after is not None:
                cpu += cpu_after - cpu_before
            else:
                cpu = None
            pending = [i for i in pending if i not in results]
            if failure is None:
                continue
            stage, ending, message = failure
            hung = hung + 1 if ending == "timeout" else 0
            if ending == "exit":
                outcome, message = _outcome_of_exit(status)
            else:
                outcome = ending
            if stage == "load":
                if not results:
                    return SolveResult(
                        outcome, message, [], time.perf_counter() - start, claims.all(), cpu
                    )
                for i in pending:
                    results[i] = InstanceResult(outcome, message=message)
                pending = []
            elif stage == "died" and pending:
                results[pending[0]] = InstanceResult(outcome, message=message)
                pending = pending[1:]
        ordered = [results[i] for i in range(len(instances))]
        return SolveResult("ok", "", ordered, time.perf_counter() - start, claims.all(), cpu)

    def _spawn(self, limits: Limits, claims: _Claims) -> Worker:
        """A worker from the fork server, restarting the server if it has died (recorded
        as the event `sandbox_restart` of the job that needed it). A server that dies
        `MAX_RESTARTS` times in a row is a broken machine, not a program: that raises."""
        for _ in range(MAX_RESTARTS + 1):
            if self.server.stopped and not self._closing:
                with self._restart_lock:
                    if self.server.stopped and not self._closing:
                        self.server.close()
                        self.server = self._start_server()
                        self.restarts += 1
                        claims.observed(
                            "sandbox_restart",
                            f"the fork server had stopped; restart {self.restarts}",
                        )
            try:
                return self.server.spawn(limits)
            except RuntimeError:
                if not self.server.stopped or self._closing:
                    raise
        raise RuntimeError(f"the sandbox fork server stopped {MAX_RESTARTS + 1} times in a row")

    def _solve_in(
        self,
        worker: Worker,
        src: str,
        function: str,
        instances: list[tuple],
        pending: list[int],
        results: dict[int, InstanceResult],
        claims: _Claims,
        *,
        instance_timeout: float,
        load_timeout: float,
        deadline: float,
    ) -> tuple[Stage, Outcome | Literal["exit"], str] | None:
        """Feed pending instances to one worker. None when all were answered, else
        (stage, outcome, message): stage `load`, `died` (mid-instance) or `skipped`
        (an instance timed out and was recorded; the rest need a new worker)."""
        job = {
            "kind": "solve",
            "src": src,
            "function": function,
            "indices": pending,
            "instance_timeout": instance_timeout,
            "load_timeout": load_timeout,
        }
        try:
            protocol.send_job(worker.sock, job)
        except OSError:  # the worker is already gone (e.g. it could not be confined)
            return "load", "exit", ""
        wait = min(load_timeout + GRACE, deadline - time.monotonic())
        msg = self._recv(worker, wait, claims, "solve")
        if msg is NoMessage.TIMEOUT:
            return "load", "timeout", "loading the program took too long"
        if msg is NoMessage.GONE:
            return "load", "exit", ""
        if isinstance(msg, Violation):
            return "load", "error", msg.message
        if msg["op"] != "ready":
            message = str(msg.get("message", ""))
            outcome = msg.get("outcome", "error")
            outcome = _classify_error(message) if outcome == "error" else outcome
            return (
                "load",
                outcome if outcome in ("error", "memory", "timeout") else "error",
                message,
            )
        try:
            protocol.send_inputs(worker.sock, self._pickled_inputs([instances[i] for i in pending]))
        except OSError:
            return "died", "exit", ""
        for expected in pending:
            t0 = time.perf_counter()
            wait = min(instance_timeout + GRACE, deadline - time.monotonic())
            msg = self._recv(worker, wait, claims, "solve")
            waited = time.perf_counter() - t0
            if msg is NoMessage.TIMEOUT:
                results[expected] = InstanceResult(
                    "timeout", seconds=waited, message="killed after the time limit"
                )
                return "skipped", "timeout", ""
            if msg is NoMessage.GONE:
                return "died", "exit", ""
            if isinstance(msg, Violation):
                return "died", "error", msg.message
            if msg["op"] == "error":
                results[expected] = InstanceResult(
                    "error", seconds=waited, message=str(msg.get("message", ""))
                )
                return "skipped", "error", ""
            if msg["op"] != "instance" or msg["i"] != expected:
                claims.observed("protocol", f"{msg['op']!r} where instance {expected} was due")
                return "died", "error", "the worker broke the protocol"
            results[expected] = self._instance(msg, instance_timeout, waited)
            claims.output_bytes += worker.inbox.last_size
            claims.output_values += worker.inbox.last_values
            if claims.output_bytes > MAX_OUTPUT_BYTES or claims.output_values > MAX_OUTPUT_VALUES:
                why = f"the outputs exceed {MAX_OUTPUT_BYTES} bytes or {MAX_OUTPUT_VALUES} values"
                claims.observed("oversized_message", f"{why} in all")
                worker.kill()
                return "died", "error", f"{why} in all"
        return None

    def _pickled_inputs(self, inputs: list[tuple]) -> bytes:
        """The pickle of these instance inputs, made once per set of input objects.

        An evaluation loop sends the same split's inputs with every job; pickling them
        (numpy arrays, one reduction each) cost more orchestrator time than anything else
        per evaluation. Keyed by the identity of the input tuples, which the entry keeps
        alive (so an id is never reused while cached): inputs are never changed in place
        once handed to `solve`."""
        key = tuple(map(id, inputs))
        with self._pickles_lock:
            entry = self._pickles.get(key)
            if entry is not None and all(a is b for a, b in zip(entry[0], inputs, strict=True)):
                self._pickles.move_to_end(key)
                return entry[1]
        blob = pickle.dumps([tuple(args) for args in inputs], protocol=pickle.HIGHEST_PROTOCOL)
        with self._pickles_lock:
            self._pickles[key] = (list(inputs), blob)
            while len(self._pickles) > MAX_PICKLED_INPUTS:
                self._pickles.popitem(last=False)
        return blob

    @staticmethod
    def _instance(msg: dict, limit: float, waited: float) -> InstanceResult:
        seconds = protocol.finite_or_none(msg.get("seconds")) or 0.0
        # The worker's own clock could be tampered with; the orchestrator's cannot.
        seconds = max(seconds, min(waited, limit + GRACE))
        outcome = msg.get("outcome", "ok")
        if outcome == "ok" and seconds > limit:
            return InstanceResult("timeout", seconds=seconds, message="over the time limit")
        if outcome == "error":
            message = str(msg.get("message", ""))[:MAX_TEXT]
            return InstanceResult(_classify_error(message), seconds=seconds, message=message)
        if outcome == "timeout":
            return InstanceResult("timeout", seconds=seconds, message="over the time limit")
        return InstanceResult("ok", output=msg.get("output"), seconds=seconds)

    @staticmethod
    def _recv(
        worker: Worker, timeout: float, claims: _Claims, kind: str
    ) -> dict[str, Any] | NoMessage | Violation:
        """The next message, checked against the protocol of a `kind` job, or why there is
        none. A message that breaks the protocol is recorded (event `protocol`) and ends
        the worker: the caller gets a `Violation` and must not talk to it again."""
        try:
            msg = worker.inbox.recv(timeout=max(timeout, 0.001), limit=protocol.MAX_LIMITS[kind])
            msg = protocol.check(msg, kind)
        except TimeoutError:
            return NoMessage.TIMEOUT
        except protocol.TooLarge as exc:
            claims.observed("oversized_message", str(exc))
            worker.kill()
            return Violation(f"output too large: {exc}")
        except protocol.ProtocolError as exc:
            if str(exc) == "connection closed":
                return NoMessage.GONE
            claims.observed("protocol", str(exc))
            worker.kill()
            return Violation(f"the worker broke the protocol: {exc}")
        except OSError:
            return NoMessage.GONE
        except Exception as exc:  # noqa: BLE001 - input the checks did not foresee is still the worker's
            claims.observed(
                "protocol", f"a message the checks could not read ({type(exc).__name__})"
            )
            worker.kill()
            return Violation("the worker broke the protocol: an unreadable message")
        claims.claimed(msg.pop("events", None) or [])
        if msg["op"] == "event":
            claims.claimed([{"kind": msg["kind"], "detail": msg.get("detail", "")}])
        if "message" in msg:
            msg["message"] = msg["message"][:MAX_TEXT]
        return msg

    # -- improvers -------------------------------------------------------------------

    def improve(
        self,
        src: str,
        *,
        initial_solution: str,
        utility_str: str,
        budgets: ImproverBudgets,
        broker: Broker,
        timeout: float,
        charge_utility_time: bool = True,
    ) -> ImproveResult:
        """Run `improve_algorithm(initial_solution, utility, language_model)` within
        `budgets` (a run's `Budgets`: utility calls, model calls, samples per call).

        One clock: `timeout` counts the improver's own time and, with
        `charge_utility_time`, the time of the evaluations its `utility` calls ask for
        (each bounded by `solve_bound`). Time spent waiting for the model is not charged
        (the model's speed is not the program's doing; the budget bounds its calls); nor,
        without `charge_utility_time`, is the utility's (a meta-utility, whose improver
        runs each have a clock of their own).
        """
        start = time.perf_counter()
        claims = _Claims()
        worker = self._spawn(self.improver_limits, claims)
        deadline = time.monotonic() + timeout
        try:
            job = {
                "kind": "improve",
                "src": src,
                "initial_solution": initial_solution,
                "utility_str": utility_str,
                "utility_budget": budgets.utility_calls,
                "lm_budget": budgets.lm_calls,
                "max_responses_per_call": budgets.samples_per_call,
            }
            try:
                protocol.send_job(worker.sock, job)
            except OSError:
                pass  # the worker is already gone; the next read reports how it ended
            while True:
                msg = self._recv(worker, deadline - time.monotonic(), claims, "improve")
                if msg is NoMessage.TIMEOUT or time.monotonic() >= deadline:
                    what = (
                        "its own time and its evaluations"
                        if charge_utility_time
                        else ("its own time")
                    )
                    result = ImproveResult("timeout", f"no result within {timeout:g} s of {what}")
                    break
                if msg is NoMessage.GONE:
                    worker.sock.close()
                    result = ImproveResult(
                        *_outcome_of_exit(worker.server.wait(worker.pid, timeout=5.0))
                    )
                    break
                if isinstance(msg, Violation):
                    result = ImproveResult("error", msg.message)
                    break
                op = msg["op"]
                if op == "result":
                    result = ImproveResult("ok", value=msg["value"])
                    break
                if op == "error":
                    message = str(msg.get("message", ""))
                    result = ImproveResult(_classify_error(message), message)
                    break
                t0 = time.monotonic()
                if op == "utility":
                    value = broker.utility(msg["src"])
                    if not charge_utility_time:
                        deadline += time.monotonic() - t0
                    protocol.send(worker.sock, {"value": value})
                elif op == "lm":
                    reply = broker.language_model(
                        msg.get("system", ""),
                        msg["messages"],
                        protocol.finite_or_none(msg.get("temperature")),
                    )
                    deadline += time.monotonic() - t0
                    protocol.send(worker.sock, reply)
        except OSError as exc:
            result = ImproveResult("killed", f"lost the worker: {exc}")
        finally:
            worker.close(need_status=False)
        result.seconds = time.perf_counter() - start
        result.events = claims.all()
        return result
