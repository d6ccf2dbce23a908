"""The Ray executor: programs run in selftaught sandboxes on Ray's nodes; the broker,
the model and the records stay in the orchestrator.

- A solution evaluation is a Ray task (one CPU) that runs `Sandbox.solve` in a warm
  sandbox of its worker process. It is a pure function of its inputs, so Ray retries it
  when its worker dies, and only the attempt that finishes reaches the records.
- An improver worker runs in an `ImproverHost` actor (one per node, no CPU reserved:
  improvers mostly wait for their calls). Every `utility` and `language_model` call it
  makes is handed back here, to the run's broker, which counts, serves and records it.
  When a host dies mid-run, the run starts again on a restarted host, and the calls the
  lost attempt already made are answered from a replay log: not counted or recorded
  again, and no new model call is made for them.
- Model calls therefore all leave from this process, through the run's one backend, and
  share its concurrency limit and rate-limit backoff, however many nodes there are.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from selftaught.errors import ConfigError
from selftaught.executors.base import require_ray, thread_map
from selftaught.executors.remote import ImproverHost, solve_task
from selftaught.sandbox import Broker, ImproveResult, SandboxSpec, SolveResult

HOST_PATIENCE = 120.0
"""Seconds an improver run waits, in all, for improver hosts that are restarting
(`ActorUnavailableError`) before such failures count as lost attempts."""

DEFAULT_OBJECT_STORE_MB = 200
"""Object-store size of a local Ray instance: our objects are programs and small inputs."""


def init_local_ray(
    *, num_cpus: int | None = None, object_store_mb: int = DEFAULT_OBJECT_STORE_MB
) -> None:
    """Start a local Ray instance bound to 127.0.0.1, without dashboard or usage stats."""
    # Ray resolves 127.0.0.1 to the machine's outward address unless told it runs
    # on one machine only; it reads this when first imported.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    already_imported = "ray" in sys.modules
    import ray

    if already_imported:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        object_store_memory=object_store_mb * 1024 * 1024,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level=logging.WARNING,
    )


CLIENT_START_ATTEMPTS = 4
"""Connection attempts through Ray Client when the cluster's per-client server dies as it
starts (a known, intermittent Ray fault: ray-project/ray#63202, a few per cent of
connections; seen here as `Starting Ray client server failed`)."""

_CLIENT_START_FAILED = ("Starting Ray client server failed", "Initialization failure from server")


def connect_ray(
    address: str,
    *,
    attempts: int = CLIENT_START_ATTEMPTS,
    wait: float = 1.0,
    init: Callable[..., Any] | None = None,
) -> None:
    """Connect to an existing Ray cluster; a `ray://` connection whose server-side session
    failed to start is tried again (a fresh session each time). Any other failure, or the
    last attempt's, is one `ConfigError`."""
    import ray

    init = init or ray.init
    for attempt in range(1, attempts + 1):
        try:
            init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            return
        except (ConnectionError, ValueError, RuntimeError) as exc:
            transient = any(m in str(exc) for m in _CLIENT_START_FAILED)
            if not transient or attempt == attempts:
                raise ConfigError(f"cannot connect to Ray at {address}: {exc}") from None
            if ray.is_initialized():
                ray.shutdown()
            time.sleep(wait * attempt)


class _RunLost(Exception):
    """The host was restarted in the middle of a run (its node was lost) and no longer
    knows it: retried like a host that died."""


def _retryable() -> tuple[type[BaseException], ...]:
    from ray import exceptions as rx

    return (
        rx.RayActorError,
        rx.WorkerCrashedError,
        rx.ObjectLostError,
        rx.NodeDiedError,
        _RunLost,
    )


class _Replay:
    """The broker for one attempt of an improver run: calls a lost attempt already made
    are answered from the log; new ones go to the run's broker (which counts them)."""

    def __init__(self, broker: Broker, log: list[tuple[str, Any]]) -> None:
        self.broker = broker
        self.log = log
        self.position = 0
        self.replayed = 0

    def serve(self, op: str, args: dict[str, Any]) -> Any:
        key = op + json.dumps(args, sort_keys=True)
        i, self.position = self.position, self.position + 1
        if i < len(self.log) and self.log[i][0] == key:
            self.replayed += 1
            return self.log[i][1]
        del self.log[i:]  # the attempt went another way: the rest of the log is moot
        if op == "utility":
            reply: Any = self.broker.utility(str(args.get("src", "")))
        else:
            reply = self.broker.language_model(
                str(args.get("system", "")),
                [str(m) for m in args.get("messages", [])],
                args.get("temperature"),
            )
        self.log.append((key, reply))
        return reply


class RaySandbox:
    """`Sandbox.solve` and `Sandbox.improve`, run on a Ray cluster."""

    def __init__(self, spec: SandboxSpec | None = None, *, retries: int = 3) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray = ray
        self.retries = retries
        self._spec = spec or SandboxSpec()
        self._solve = ray.remote(solve_task).options(num_cpus=1, max_retries=retries)
        host_class = ray.remote(ImproverHost)
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        # Actor handles: Ray's annotations do not follow `.remote` through a handle's methods.
        self.hosts: list[Any] = [
            host_class.options(
                num_cpus=0,
                max_concurrency=1024,
                max_restarts=-1,
                max_task_retries=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=True),
            ).remote(self._spec)
            for node in nodes
        ]
        infos = ray.get([h.info.remote() for h in self.hosts])
        self.network_mode = ",".join(sorted({i["network"] for i in infos}))
        self.privileges = ",".join(sorted({i["privileges"] for i in infos}))
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self.containment: dict[str, str] | None = None
        """Not known here: each Ray node confines its own workers."""

    def solve(
        self,
        src: str,
        *,
        function: str,
        instances: list[tuple],
        instance_timeout: float,
        load_timeout: float = 5.0,
    ) -> SolveResult:
        kwargs = {
            "function": function,
            "instances": instances,
            "instance_timeout": instance_timeout,
            "load_timeout": load_timeout,
        }
        try:
            return self._ray.get(self._solve.remote(self._spec, src, kwargs))
        except _retryable() as exc:
            return SolveResult(
                "killed",
                f"the Ray worker died {self.retries + 1} times ({type(exc).__name__})",
            )

    def _host(self, avoid: Any = None) -> Any:
        """The next host in turn; not `avoid` (the one that just failed) if there is another:
        a host whose node was lost is restarting, and its run should not wait for it."""
        with self._lock:
            host = self.hosts[next(self._turn) % len(self.hosts)]
            if host is avoid and len(self.hosts) > 1:
                host = self.hosts[next(self._turn) % len(self.hosts)]
            return host

    def improve(self, src: str, *, broker: Broker, **kwargs: Any) -> ImproveResult:
        log: list[tuple[str, Any]] = []
        notes: list[dict] = []
        host = None
        attempt, waited = 1, 0.0
        while attempt <= self.retries + 1:
            replay = _Replay(broker, log)
            host, run_id = self._host(avoid=host), uuid.uuid4().hex
            try:
                msg = self._ray.get(host.start.remote(run_id, src, kwargs))
                while msg[0] not in ("done", "lost"):
                    reply = replay.serve(msg[0], msg[1])
                    msg = self._ray.get(host.step.remote(run_id, reply))
                if msg[0] == "lost":
                    raise _RunLost(msg[1])
            except BaseException as exc:
                if not isinstance(exc, _retryable()):
                    host.abandon.remote(run_id)  # its worker must not wait for us
                    raise
                notes.append(
                    {
                        "kind": "ray_retry",
                        "detail": f"attempt {attempt}: the Ray worker hosting the improver "
                        f"died ({type(exc).__name__}) after {replay.position} calls",
                    }
                )
                # A host that is restarting (its node lost) is unavailable for a while,
                # longer on a loaded cluster: wait for it rather than spend the attempts.
                if type(exc).__name__ == "ActorUnavailableError" and waited < HOST_PATIENCE:
                    time.sleep(1.0)
                    waited += 1.0
                    continue
                time.sleep(min(0.25 * 2**attempt, 5.0))  # let Ray restart the host
                attempt += 1
                continue
            result: ImproveResult = msg[1]
            if replay.replayed:
                notes.append({"kind": "ray_replay", "detail": f"{replay.replayed} calls replayed"})
            result.events = notes + list(result.events)
            return result
        return ImproveResult(
            "killed",
            f"the Ray worker hosting the improver died {self.retries + 1} times",
            events=notes,
        )

    def close(self) -> None:
        for host in self.hosts:
            try:
                self._ray.kill(host)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.hosts = []

    def __enter__(self) -> RaySandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RayExecutor:
    """Runs the run's sandboxed work on Ray; orchestration stays in this process."""

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        max_workers: int = 2,
        retries: int = 3,
        num_cpus: int | None = None,
    ) -> None:
        require_ray()
        import ray

        self.max_workers = max(1, max_workers)
        self.retries = retries
        self._owns_ray = False
        if not ray.is_initialized():
            if address is None:
                init_local_ray(num_cpus=num_cpus)
            else:
                connect_ray(address)
            self._owns_ray = True

    def map(
        self, fn: Callable[[Any], Any], items: Iterable[Any], *, max_workers: int | None = None
    ) -> list[Any]:
        return thread_map(fn, items, max_workers=max_workers or self.max_workers)

    def sandbox(self, spec: SandboxSpec | None = None) -> RaySandbox:
        return RaySandbox(spec, retries=self.retries)

    def close(self) -> None:
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
