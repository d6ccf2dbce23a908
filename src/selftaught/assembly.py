"""The one place that builds a run: config checks, run directory, records, model backend,
executor and sandbox, and the run context that carries them down.

Every entry point goes through `assemble`: the library's `run`, `resume`, `improve`,
`score` and `transfer`, and through them every command of the command line, including
`sandbox-experiment`; `analyze --confirm` makes its model with `model_backend`. What each
caller differs in is a few arguments (a new run directory or an existing one or a
temporary one; whether it calls the model; whether it runs code). A `RunContext` has no
defaults of its own: tests and benchmarks build theirs here too (with a `Shared` to keep
one warm sandbox per distinct spec across many runs), so they run with a real run's limits.

What a run's workers may not read is decided here too (`hidden_for`): its whole folder
of run directories, its own run directory, the runs a `replay:` model reads, and the
per-user instance key, carried in the sandbox spec to every node.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.config import RunConfig, load_config, recorded_config
from selftaught.errors import UserError
from selftaught.executors import Executor
from selftaught.lm.base import Backend, Reply, Request
from selftaught.sandbox import ImproveResult, SandboxLike, SandboxSpec, SolveResult
from selftaught.stop.context import Progress, RunContext
from selftaught.store import SCHEMA_VERSION, RunDir, Store
from selftaught.tasks import keys
from selftaught.tasks.base import Task

Note = Callable[[str, str], None]
"""Receives `(kind, line)` for the lines a command may show while a run is assembled:
kinds `run_dir`, `model`, `executor` and `warning`."""


@dataclass
class Assembly:
    """What `assemble` built. Set `status` to record how the run ended (default: finished,
    or `stopped` / `failed` when the block is left by Ctrl-C / an exception)."""

    config: RunConfig
    run_dir: RunDir
    store: Store
    context: RunContext
    recorded: bool
    spec: SandboxSpec | None = None
    """The spec its sandbox was built from (None: it runs no programs)."""
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.run_dir.path


class NoModel(Backend):
    """Backend for work that never calls the model (scoring)."""

    name = "none"

    def complete(self, request: Request) -> Reply:
        raise RuntimeError("this command does not call the language model")


class NoSandbox:
    """Sandbox for work that runs no program (the sandbox experiment only parses them)."""

    network_mode = "none"
    privileges = "none"
    containment = None

    def solve(self, src: str, **kwargs: Any) -> SolveResult:
        raise RuntimeError("this command runs no programs")

    def improve(self, src: str, **kwargs: Any) -> ImproveResult:
        raise RuntimeError("this command runs no programs")

    def close(self) -> None:
        pass

    def __enter__(self) -> NoSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _write_header(store: Store, cfg: RunConfig, kind: str, meta: dict[str, Any]) -> None:
    from selftaught.version import __version__

    store.set_meta("schema_version", SCHEMA_VERSION)
    store.set_meta("created", dt.datetime.now(dt.UTC).isoformat())
    store.set_meta("selftaught_version", __version__)
    store.set_meta("git_commit", git_commit())
    store.set_meta("kind", kind)
    for key, value in meta.items():
        store.set_meta(key, value)
    store.set_meta("config", recorded_config(cfg))


def hidden_for(cfg: RunConfig, run_dir: Path | None = None) -> tuple[str, ...]:
    """What no worker of a run of `cfg` may read (`SandboxSpec.hidden`), whether or not
    it exists yet: the folder of run directories (`cfg.output`: every run in it, the ones
    made later too), the run's own directory wherever it lies, every run a `replay:` model
    reads (they hold its key), the per-user instance key, and what this process has
    registered (`hidden.hide`: user task files; a Ray node knows none of them)."""
    from selftaught.lm.replay import replayed_runs
    from selftaught.sandbox import hidden
    from selftaught.sandbox.limits import read_roots

    paths = [Path(cfg.output).expanduser(), keys.user_key_path().parent]
    paths += replayed_runs(cfg.model)
    if run_dir is not None:
        paths.append(Path(run_dir))
    registered = hidden.registered(read_roots()[0])
    return hidden.outermost([os.path.abspath(p) for p in paths] + registered)


def sandbox_spec(cfg: RunConfig, run_dir: Path | None = None) -> SandboxSpec:
    """The `SandboxSpec` of a run of `cfg` (in `run_dir`): its `[sandbox]` limits, run
    bounds and the paths its workers may not read (`hidden_for`)."""
    return SandboxSpec.from_settings(
        cfg.sandbox,
        parallel=cfg.parallel,
        improver_cpu_seconds=cfg.improver_cpu_seconds,
        hidden=hidden_for(cfg, run_dir),
    )


def model_backend(cfg: RunConfig, cache_path: Path | None = None) -> Backend:
    """The model backend of `cfg.model` with `cfg.lm`'s options (a response cache at
    `cache_path`, if given): how every command makes its model."""
    from selftaught.lm.registry import make_backend

    return make_backend(cfg.model, cfg.lm, cache_path=cache_path)


class Shared:
    """Executors and started sandboxes kept across several assemblies (tests, benchmarks,
    a notebook making many runs), closed with it. Each assembly still gets the executor
    of its config (`executor`, `parallel`, `ray_address`) and the sandbox of its own spec
    (`sandbox_spec`): a new spec gets a sandbox of its own, never another's limits."""

    def __init__(self) -> None:
        self._executors: dict[tuple, Executor] = {}
        self._sandboxes: dict[tuple, SandboxLike] = {}
        self._lock = threading.Lock()

    def executor(self, cfg: RunConfig) -> Executor:
        from selftaught.executors import make_executor

        key = (cfg.executor, cfg.parallel, cfg.ray_address)
        with self._lock:
            if key not in self._executors:
                self._executors[key] = make_executor(
                    cfg.executor, max_workers=cfg.parallel, address=cfg.ray_address
                )
            return self._executors[key]

    def sandbox(self, cfg: RunConfig, spec: SandboxSpec) -> SandboxLike:
        executor = self.executor(cfg)
        key = (cfg.executor, cfg.ray_address, spec)
        with self._lock:
            if key not in self._sandboxes:
                self._sandboxes[key] = executor.sandbox(spec)
            return self._sandboxes[key]

    def close(self) -> None:
        with self._lock:
            sandboxes, self._sandboxes = list(self._sandboxes.values()), {}
            executors, self._executors = list(self._executors.values()), {}
        for sandbox in sandboxes:
            sandbox.close()
        for executor in executors:
            executor.close()

    def __enter__(self) -> Shared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_user_tasks(
    cfg: RunConfig, tasks: list[Task] | None, key: keys.InstanceKey
) -> list[Task]:
    """The user tasks among `tasks` (default: those `cfg.tasks` names, loaded now: a task
    file is hidden from sandboxes started later), each with every instance the run will
    use made under `key`, within the time a task gets for that (`check_instances`)."""
    from selftaught.tasks import get_task
    from selftaught.tasks.loader import check_instances

    chosen = tasks if tasks is not None else [get_task(n) for n in cfg.tasks]
    mine = [t for t in chosen if t.origin]
    for task in mine:
        check_instances(task, key)
    return mine


def _status_on_exit(exc: BaseException | None, chosen: str | None) -> str:
    if exc is None:
        return chosen or "finished"
    if isinstance(exc, KeyboardInterrupt):
        return "stopped"
    from selftaught.errors import RunHalted

    if isinstance(exc, RunHalted):
        return exc.status
    return "failed"


def check_settings(cfg: RunConfig, *, uses_model: bool = True, uses_sandbox: bool = True) -> None:
    """Fail early, before anything is created, on a model or executor that cannot work."""
    from selftaught.executors import check_executor
    from selftaught.lm.registry import check_model_string

    if uses_model:
        check_model_string(cfg.model, cfg.lm)
    if uses_sandbox:
        check_executor(cfg.executor, cfg.ray_address)


@contextlib.contextmanager
def assemble(
    cfg: RunConfig,
    *,
    record: str | None = None,
    run_dir: RunDir | Path | None = None,
    kind: str = "run",
    uses_model: bool = True,
    uses_sandbox: bool = True,
    progress: Progress | None = None,
    note: Note | None = None,
    meta: dict[str, Any] | None = None,
    checked: bool = False,
    backend: Backend | None = None,
    shared: Shared | None = None,
    tasks: list[Task] | None = None,
) -> Iterator[Assembly]:
    """Build everything a run needs, yield it, and close it all again.

    - `record`: make a new run directory `<cfg.output>/<timestamp>-<record>` with the
      resolved config and a records header; `run_dir`: continue that run directory (locked
      before anything else is done); neither: a temporary directory, removed on exit.
    - `uses_model`: make the model backend of `cfg.model` (its response cache in the run
      directory when recorded), or use `backend` (a test's scripted model, a notebook's
      own; its caller closes it); otherwise a backend that refuses every call.
    - `uses_sandbox`: start the executor of `cfg` and a sandbox of `sandbox_spec(cfg)`:
      `cfg.sandbox`'s limits, and the run's paths hidden from its workers. With `shared`,
      both come from (and stay with) it, one per distinct config and spec.
    - The instance key (`tasks.keys`): a new run (`kind` `run`) draws its own, or takes the
      pinned or replayed one, and keeps it in `instance.key`; a continued run reads it back;
      every other kind uses the pinned key or this user's. Records hold only its source and
      fingerprint (`meta` `instance_key`), and no config written down holds a pinned key.
    - User tasks (those with an `origin`) among `tasks` (default: the tasks `cfg.tasks`
      names): every instance the run will use is made under its key within the time a
      task gets for it, and the seed solution must score on the first, in the run's own
      sandbox, before a new run directory is made.

    Bad input (an unknown model or executor, an unusable output folder, a user task that
    fails its checks) raises `UserError` before a new run directory is created
    (`checked`: the caller already ran `check_settings`). A recorded run's `status` is
    `running` while the block runs and how it ended afterwards; its usage totals are
    written on exit.
    """
    from selftaught.executors import make_executor
    from selftaught.tasks import check_seed

    say: Note = note or (lambda kind, line: None)
    if not checked:
        check_settings(cfg, uses_model=uses_model and backend is None, uses_sandbox=uses_sandbox)
    with contextlib.ExitStack() as stack:
        recorded = record is not None or run_dir is not None
        rd: RunDir | None = None
        if run_dir is not None:
            rd = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
            rd.lock()  # one process per run directory (store/faults.py)
            stack.callback(rd.unlock)
            kept = rd.path / keys.KEY_FILE  # a run keeps its own; other kinds use the user's
            instance_key = (
                keys.read_key(kept) if kind == "run" or kept.is_file()
                else keys.for_one_off(cfg.instance_key)
            )  # fmt: skip
        elif record is not None and kind == "run":
            instance_key = keys.for_new_run(cfg.instance_key, cfg.model)
        else:
            instance_key = keys.for_one_off(cfg.instance_key)
        user_tasks = _check_user_tasks(cfg, tasks, instance_key) if uses_sandbox else []
        if not recorded:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="selftaught-"))
            rd = RunDir.create(Path(tmp), "oneoff")
        if cfg.executor != "local":
            say("executor", f"starting the {cfg.executor} executor ...")
        if shared is not None:
            executor = shared.executor(cfg)
        else:
            executor = stack.enter_context(
                make_executor(cfg.executor, max_workers=cfg.parallel, address=cfg.ray_address)
            )
        sandbox: SandboxLike = NoSandbox()
        spec: SandboxSpec | None = None
        if uses_sandbox:
            spec = sandbox_spec(cfg, rd.path if rd is not None else None)
            if shared is not None:
                sandbox = shared.sandbox(cfg, spec)
            else:
                sandbox = stack.enter_context(executor.sandbox(spec))
            for task in user_tasks:
                check_seed(task, sandbox, instance_key)
        if rd is None:  # a new run: created only now that its inputs are checked
            assert record is not None
            rd = RunDir.create(Path(cfg.output), record)
            rd.lock()
            stack.callback(rd.unlock)
            if kind == "run":
                keys.write_key(rd.path / keys.KEY_FILE, instance_key)
            rd.write_config(recorded_config(cfg))
            store = rd.open_store()
            _write_header(
                store, cfg, kind, {**(meta or {}), "instance_key": instance_key.describe()}
            )
        else:
            store = rd.open_store()
            if not recorded:
                store.set_meta("config", recorded_config(cfg))
                store.set_meta("instance_key", instance_key.describe())
        assembly: Assembly | None = None
        made: Backend | None = None
        try:
            if recorded:
                store.set_meta("status", "running")
                store.set_meta("pid", os.getpid())  # lets `selftaught runs` tell a killed run
                say("run_dir", f"run directory: {rd.path}")
            if uses_model and backend is None:
                from selftaught.lm.cache import CACHE_FILE

                say("model", f"loading model {cfg.model} ...")
                made = model_backend(cfg, rd.path / CACHE_FILE if recorded else None)
            elif backend is None:
                made = NoModel()
            if uses_sandbox:
                if recorded:
                    store.set_meta("sandbox_network", sandbox.network_mode)
                    store.set_meta("sandbox_privileges", sandbox.privileges)
                    store.set_meta("sandbox_containment", sandbox.containment)
                if (sandbox.containment or {}).get("filesystem") == "audit-hooks":
                    say(
                        "warning",
                        "warning: no Landlock on this kernel; files are guarded only by "
                        "Python audit hooks, which a deliberate program can switch off "
                        "(docs/security.md, 'Per mode')",
                    )
                if sandbox.network_mode == "none":
                    say(
                        "warning",
                        "warning: no network namespace on this platform; network access from "
                        "sandboxed code is blocked by audit hooks only",
                    )
            model = backend if backend is not None else made
            assert model is not None
            ctx = RunContext(
                cfg,
                model,
                sandbox,
                store,
                progress or Progress(),
                executor,
                instance_key,
            )
            assembly = Assembly(cfg, rd, store, ctx, recorded, spec)
            yield assembly
        except BaseException as exc:
            if recorded:
                store.set_meta("status", _status_on_exit(exc, None))
            raise
        else:
            if recorded:
                store.set_meta(
                    "status", _status_on_exit(None, assembly.status if assembly else None)
                )
        finally:
            if recorded:
                usage = store.run_usage()
                store.set_meta("usage", {**usage, "cost": str(usage["cost"])})
            store.close()
            if made is not None:
                made.close()


def confirm_backend(config: dict[str, Any], model: str | None) -> Backend:
    """The model to ask: `model`, else the run's own (with the run's `[lm]` options), made
    as every command makes its model (`model_backend`), for `analyze --confirm`. No
    response cache: it would live in the run directory, which is not written to."""
    run_model = config.get("model")
    chosen = model or run_model
    if not isinstance(chosen, str) or not chosen:
        raise UserError("the run's config names no model: pass --model")
    if chosen.startswith("replay:"):
        # a recording holds no answers to these questions (and opening it read-only
        # could add -wal/-shm files to a run directory)
        raise UserError(f"--confirm needs a model that can answer questions, not {chosen}")
    overrides: dict[str, Any] = {"model": chosen}
    if chosen == run_model and isinstance(config.get("lm"), dict):
        overrides["lm"] = config["lm"]
    try:
        cfg = load_config(overrides=overrides)
    except UserError:  # the run's [lm] options no longer load: the model's defaults
        cfg = load_config(overrides={"model": chosen})
    check_settings(cfg, uses_sandbox=False)
    return model_backend(cfg)
