"""Running programs in sandbox workers: the program failing is a result, not an exception.

`Sandbox.solve` runs a solution on task inputs and returns its outputs; it never sees the
answers. `Sandbox.improve` runs an improver whose `utility` and `language_model` calls come
back here to be counted, served and recorded by a `Broker`.
"""

from __future__ import annotations

import enum
import signal
import time
from typing import Any, Literal

from selftaught.sandbox import protocol
from selftaught.sandbox.cgroup import RunBounds
from selftaught.sandbox.forkserver import CONFINE_FAILED
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
        self.solution_limits = spec.solution_limits
        self.improver_limits = spec.improver_limits
        run_bounds = spec.run_bounds
        if run_cgroup and run_bounds is None:
            run_bounds = RunBounds.for_workers(
                DEFAULT_WORKERS,
                max(self.solution_limits.memory_mb, self.improver_limits.memory_mb),
                max(self.solution_limits.processes, self.improver_limits.processes),
            )
        self.server = ForkServer(
            isolate_network=spec.isolate_network,
            drop_privileges=spec.drop_privileges,
            confine=confine,
            audit_hooks=audit_hooks,
            spares=spares,
            python=python,
            python_path=python_path,
            user=user,
            run_bounds=run_bounds if run_cgroup else None,
        )
        self.server.keep_spares(self.solution_limits)
        # Improvers start rarely and run long: one spare is plenty.
        self.server.keep_spares(self.improver_limits, min(spares, 1))

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
        instances go on in a new worker.
        """
        start = time.perf_counter()
        results: dict[int, InstanceResult] = {}
        events: list[dict] = []
        pending = list(range(len(instances)))
        cpu: float | None = 0.0
        while pending:
            worker = self.server.spawn(self.solution_limits)
            cpu_before = process_cpu_seconds(worker.pid)
            try:
                failure = self._solve_in(
                    worker,
                    src,
                    function,
                    instances,
                    pending,
                    results,
                    events,
                    instance_timeout=instance_timeout,
                    load_timeout=load_timeout,
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
            if ending == "exit":
                outcome, message = _outcome_of_exit(status)
            else:
                outcome = ending
            if stage == "load":
                if not results:
                    return SolveResult(
                        outcome, message, [], time.perf_counter() - start, events, cpu
                    )
                for i in pending:
                    results[i] = InstanceResult(outcome, message=message)
                pending = []
            elif stage == "died" and pending:
                results[pending[0]] = InstanceResult(outcome, message=message)
                pending = pending[1:]
        ordered = [results[i] for i in range(len(instances))]
        return SolveResult("ok", "", ordered, time.perf_counter() - start, events, cpu)

    def _solve_in(
        self,
        worker: Worker,
        src: str,
        function: str,
        instances: list[tuple],
        pending: list[int],
        results: dict[int, InstanceResult],
        events: list[dict],
        *,
        instance_timeout: float,
        load_timeout: float,
    ) -> tuple[Stage, Outcome | Literal["exit"], str] | None:
        """Feed pending instances to one worker. None when all were answered, else
        (stage, outcome, message): stage `load`, `died` (mid-instance) or `skipped`
        (an instance timed out and was recorded; the rest need a new worker)."""
        job = {
            "kind": "solve",
            "src": src,
            "function": function,
            "indices": pending,
            "instances": [tuple(instances[i]) for i in pending],
            "instance_timeout": instance_timeout,
            "load_timeout": load_timeout,
        }
        try:
            protocol.send_job(worker.sock, job)
        except OSError:  # the worker is already gone (e.g. it could not be confined)
            return "load", "exit", ""
        msg = self._recv(worker, load_timeout + GRACE, events)
        if msg is NoMessage.TIMEOUT:
            return "load", "timeout", "loading the program took too long"
        if msg is NoMessage.GONE:
            return "load", "exit", ""
        if msg.get("op") != "ready":
            message = str(msg.get("message", ""))
            outcome = msg.get("outcome", "error")
            outcome = _classify_error(message) if outcome == "error" else outcome
            return (
                "load",
                outcome if outcome in ("error", "memory", "timeout") else "error",
                message,
            )
        for expected in pending:
            t0 = time.perf_counter()
            msg = self._recv(worker, instance_timeout + GRACE, events)
            waited = time.perf_counter() - t0
            if msg is NoMessage.TIMEOUT:
                results[expected] = InstanceResult(
                    "timeout", seconds=waited, message="killed after the time limit"
                )
                return "skipped", "timeout", ""
            if msg is NoMessage.GONE:
                return "died", "exit", ""
            if msg.get("op") == "error":
                results[expected] = InstanceResult(
                    "error", seconds=waited, message=str(msg.get("message", ""))
                )
                return "skipped", "error", ""
            if msg.get("op") != "instance" or msg.get("i") != expected:
                return "died", "error", "the worker broke the protocol"
            results[expected] = self._instance(msg, instance_timeout, waited)
        return None

    @staticmethod
    def _instance(msg: dict, limit: float, waited: float) -> InstanceResult:
        seconds = protocol.finite_or_none(msg.get("seconds")) or 0.0
        # The worker's own clock could be tampered with; the orchestrator's cannot.
        seconds = max(seconds, min(waited, limit + GRACE))
        outcome = msg.get("outcome", "ok")
        if outcome == "ok" and seconds > limit:
            return InstanceResult("timeout", seconds=seconds, message="over the time limit")
        if outcome == "error":
            message = str(msg.get("message", ""))
            return InstanceResult(_classify_error(message), seconds=seconds, message=message)
        if outcome == "timeout":
            return InstanceResult("timeout", seconds=seconds, message="over the time limit")
        return InstanceResult("ok", output=msg.get("output"), seconds=seconds)

    @staticmethod
    def _recv(worker: Worker, timeout: float, events: list[dict]) -> dict[str, Any] | NoMessage:
        """The next message, or why there is none."""
        try:
            msg = worker.inbox.recv(timeout=max(timeout, 0.001))
        except TimeoutError:
            return NoMessage.TIMEOUT
        except protocol.TooLarge as exc:
            events.append({"kind": "oversized_message", "detail": str(exc)})
            return {"op": "error", "outcome": "error", "message": f"output too large: {exc}"}
        except (protocol.ProtocolError, OSError):
            return NoMessage.GONE
        if not isinstance(msg, dict):
            return NoMessage.GONE
        events.extend(e for e in msg.pop("events", []) if isinstance(e, dict))
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
    ) -> ImproveResult:
        """Run `improve_algorithm(initial_solution, utility, language_model)` within
        `budgets` (a run's `Budgets`: utility calls, model calls, samples per call).

        `timeout` counts the improver's own time: time spent serving its model and
        utility calls in the orchestrator is not charged to it.
        """
        start = time.perf_counter()
        events: list[dict] = []
        worker = self.server.spawn(self.improver_limits)
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
            remaining = timeout
            while True:
                t0 = time.perf_counter()
                msg = self._recv(worker, remaining, events)
                remaining -= time.perf_counter() - t0
                if msg is NoMessage.TIMEOUT:
                    result = ImproveResult(
                        "timeout", f"no result within {timeout:g} s of its own time"
                    )
                    break
                if msg is NoMessage.GONE:
                    worker.sock.close()
                    result = ImproveResult(
                        *_outcome_of_exit(worker.server.wait(worker.pid, timeout=5.0))
                    )
                    break
                op = msg.get("op")
                if op == "result" and isinstance(msg.get("value"), str):
                    result = ImproveResult("ok", value=msg["value"])
                    break
                if op == "error":
                    message = str(msg.get("message", ""))
                    result = ImproveResult(_classify_error(message), message)
                    break
                if op == "utility":
                    src_ = msg.get("src")
                    value = broker.utility(src_ if isinstance(src_, str) else "")
                    protocol.send(worker.sock, {"value": value})
                elif op == "lm":
                    messages = msg.get("messages")
                    if not isinstance(messages, list):
                        messages = []
                    reply = broker.language_model(
                        str(msg.get("system", "")),
                        [str(m) for m in messages],
                        protocol.finite_or_none(msg.get("temperature")),
                    )
                    protocol.send(worker.sock, reply)
                elif op == "event":
                    events.append(
                        {
                            "kind": str(msg.get("kind", "event")),
                            "detail": str(msg.get("detail", "")),
                        }
                    )
                else:
                    result = ImproveResult("error", "the worker broke the protocol")
                    break
        except OSError as exc:
            result = ImproveResult("killed", f"lost the worker: {exc}")
        finally:
            worker.close(need_status=False)
        result.seconds = time.perf_counter() - start
        result.events = events
        return result
