"""The one place that builds a run: config checks, run directory, records, model backend,
executor and sandbox, and the run context that carries them down.

Every entry point goes through `assemble`: the library's `run`, `resume`, `improve`,
`score` and `transfer`, and through them every command of the command line, including
`sandbox-experiment`. What each caller differs in is a few arguments (a new run directory
or an existing one or a temporary one; whether it calls the model; whether it runs code).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.config import RunConfig, recorded_config
from selftaught.lm.base import Backend, Reply, Request
from selftaught.sandbox import ImproveResult, SandboxLike, SolveResult
from selftaught.stop.context import Progress, RunContext
from selftaught.store import SCHEMA_VERSION, RunDir, Store
from selftaught.tasks import keys

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


def sandbox_spec(cfg: RunConfig) -> Any:
    """The `SandboxSpec` of a run of `cfg`: its `[sandbox]` limits and run bounds."""
    from selftaught.sandbox import SandboxSpec

    return SandboxSpec.from_settings(
        cfg.sandbox, parallel=cfg.parallel, improver_cpu_seconds=cfg.improver_cpu_seconds
    )


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
) -> Iterator[Assembly]:
    """Build everything a run needs, yield it, and close it all again.

    - `record`: make a new run directory `<cfg.output>/<timestamp>-<record>` with the
      resolved config and a records header; `run_dir`: continue that run directory;
      neither: a temporary directory, removed on exit (nothing is kept).
    - `uses_model`: make the model backend of `cfg.model` (its response cache in the run
      directory when recorded); otherwise a backend that refuses every call.
    - `uses_sandbox`: start the executor of `cfg` and a sandbox with `cfg.sandbox`'s limits.
    - The instance key (`tasks.keys`): a new run (`kind` `run`) draws its own, or takes the
      pinned or replayed one, and keeps it in `instance.key`; a continued run reads it back;
      every other kind uses the pinned key or this user's. Records hold only its source and
      fingerprint (`meta` `instance_key`), and no config written down holds a pinned key.

    Bad input (an unknown model or executor, an unusable output folder) raises
    `UserError` before anything is created (`checked`: the caller already ran
    `check_settings`). A recorded run's `status` is `running` while the block runs and how
    it ended afterwards; its usage totals are written on exit.
    """
    from selftaught.executors import make_executor

    say: Note = note or (lambda kind, line: None)
    if not checked:
        check_settings(cfg, uses_model=uses_model, uses_sandbox=uses_sandbox)
    with contextlib.ExitStack() as stack:
        recorded = record is not None or run_dir is not None
        if run_dir is not None:
            rd = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
            rd.lock()  # one process per run directory (store/faults.py)
            stack.callback(rd.unlock)
            kept = rd.path / keys.KEY_FILE  # a run keeps its own; other kinds use the user's
            instance_key = (
                keys.read_key(kept) if kind == "run" or kept.is_file()
                else keys.for_one_off(cfg.instance_key)
            )  # fmt: skip
            store = rd.open_store()
        elif record is not None:
            if kind == "run":
                instance_key = keys.for_new_run(cfg.instance_key, cfg.model)
            else:
                instance_key = keys.for_one_off(cfg.instance_key)
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
            instance_key = keys.for_one_off(cfg.instance_key)
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="selftaught-"))
            rd = RunDir.create(Path(tmp), "oneoff")
            store = rd.open_store()
            store.set_meta("config", recorded_config(cfg))
            store.set_meta("instance_key", instance_key.describe())
        assembly: Assembly | None = None
        backend: Backend | None = None
        try:
            if recorded:
                store.set_meta("status", "running")
                store.set_meta("pid", os.getpid())  # lets `selftaught runs` tell a killed run
                say("run_dir", f"run directory: {rd.path}")
            if uses_model:
                from selftaught.lm.cache import CACHE_FILE
                from selftaught.lm.registry import make_backend

                say("model", f"loading model {cfg.model} ...")
                cache = rd.path / CACHE_FILE if recorded else None
                backend = make_backend(cfg.model, cfg.lm, cache_path=cache)
            else:
                backend = NoModel()
            if cfg.executor != "local":
                say("executor", f"starting the {cfg.executor} executor ...")
            executor = stack.enter_context(
                make_executor(cfg.executor, max_workers=cfg.parallel, address=cfg.ray_address)
            )
            sandbox: SandboxLike = NoSandbox()
            if uses_sandbox:
                sandbox = stack.enter_context(executor.sandbox(sandbox_spec(cfg)))
                if recorded:
                    store.set_meta("sandbox_network", sandbox.network_mode)
                    store.set_meta("sandbox_privileges", sandbox.privileges)
                    store.set_meta("sandbox_containment", sandbox.containment)
                if sandbox.network_mode == "none":
                    say(
                        "warning",
                        "warning: no network namespace on this platform; network access from "
                        "sandboxed code is blocked by audit hooks only",
                    )
            ctx = RunContext(
                cfg,
                backend,
                sandbox,
                store,
                progress or Progress(),
                executor,
                instance_key,
            )
            assembly = Assembly(cfg, rd, store, ctx, recorded)
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
            if backend is not None:
                backend.close()
