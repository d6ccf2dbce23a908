"""`run` and `resume`: a whole STOP run, recorded in a run directory."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.api.inputs import make_config
from selftaught.api.results import RunResult, Usage
from selftaught.assembly import Assembly, assemble, check_settings
from selftaught.config import RunConfig
from selftaught.errors import RunDirError
from selftaught.stop.context import Progress
from selftaught.store import RunDir
from selftaught.store.reads import read_meta
from selftaught.store.schema import check_version
from selftaught.tasks import keys


def snapshot(asm: Assembly) -> RunResult:
    """The run's rows, improvers and usage, read while its records are open."""
    store = asm.store
    rows = [r.as_dict() for r in store.iterations()]
    usage = store.usage()
    improvers = {r["iteration"]: store.program(r["improver_hash"]) for r in rows}
    return RunResult(
        asm.path,
        "running",
        rows,
        {k: v for k, v in improvers.items() if v is not None},
        Usage(
            usage.calls,
            usage.samples,
            usage.tokens,
            (usage.cost or Decimal(0)) if usage.priced else None,
        ),
        usage.samples,
        usage.usable,
    )


def run_loop(
    cfg: RunConfig,
    start_improver: str,
    progress: Progress,
    *,
    run_dir: RunDir | None = None,
) -> RunResult:
    """Assemble the run (new, or `run_dir` continued from its last completed iteration),
    run STOP, record how it ended, show the end (`progress.finished`) and write the
    report."""
    from selftaught.errors import RunHalted
    from selftaught.report import warm
    from selftaught.stop.loop import run_stop
    from selftaught.stop.resume import load_state

    ended: dict[str, Any] = {}
    warm.start()  # the report's libraries load while the sandbox starts and the run runs
    try:
        with assemble(
            cfg,
            record=None if run_dir is not None else cfg.name,
            run_dir=run_dir,
            progress=progress,
            note=progress.note,
            checked=True,
        ) as asm:
            ended["asm"] = asm
            state = None
            if run_dir is not None:  # locked by assemble before anything changes
                state = load_state(asm.store)
                removed = asm.store.discard_from(state.next_iteration)
                progress.note(
                    "info",
                    f"resuming at iteration {state.next_iteration} "
                    f"({removed} records of the unfinished iteration replaced)",
                )
            progress.start(cfg.iterations)
            try:
                run_stop(asm.context, start_improver, asm.run_dir, resume=state)
            except RunHalted as exc:
                asm.status = exc.status
                ended["exit_code"] = exc.exit_code
                progress.note("halted", f"run {exc.status}: {exc}")
            finally:
                progress.stop()
                ended["result"] = snapshot(asm)
    finally:
        result: RunResult | None = ended.get("result")
        if result is not None:
            result.status = _recorded_status(result.run_dir)
            result.exit_code = ended.get("exit_code", 0)
            progress.finished(result)
            from selftaught.report.build import report_after_run

            report_after_run(result.run_dir, _Console(progress, "report"))
            if result.status != "finished":  # also on Ctrl-C, which leaves through here
                progress.note("resume", f"continue with: selftaught resume {result.run_dir}")
    assert result is not None
    return result


class _Console:
    """`console.print` for helpers that print, as `progress.note(kind, line)`."""

    def __init__(self, progress: Progress, kind: str) -> None:
        self.progress, self.kind = progress, kind

    def print(self, line: str, **_: Any) -> None:
        self.progress.note(self.kind, line)


def _recorded_status(path: Path) -> str:
    return str(read_meta(path).get("status", "unknown"))


def check_run_dir(path: Path) -> Mapping[str, Any]:
    """The meta header of a run directory this version can continue; anything else (not
    a directory, not a run, another records schema) is a `RunDirError`."""
    path = Path(path)
    records = path / RunDir.RECORDS
    if not path.is_dir():
        raise RunDirError(f"not a directory: {path}")
    if not records.is_file() or not (path / RunDir.CONFIG).is_file():
        raise RunDirError(f"not a run directory (no {RunDir.RECORDS} and {RunDir.CONFIG}): {path}")
    meta = read_meta(path)
    check_version(meta.schema_version, path)
    return meta


def run(
    config: RunConfig | dict | str | Path | None = None,
    /,
    *,
    preset: str | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> RunResult:
    """Run STOP: score the starting improver, then improve it `iterations` times on the
    task suite, recording everything in a new run directory.

    `config` is a `RunConfig`, a dict or a TOML file; `preset` is `default` or `paper`;
    `settings` are any config fields (`model="echo"`, `tasks=["lpn"]`, `iterations=2`,
    budget fields like `lm_calls=1` flat or as `budgets={...}`). Tasks may be Python
    objects (`selftaught.task(...)` or `Task`). Shows nothing unless `progress` is given.
    Bad input raises a `UserError` before any work starts.
    """
    from selftaught.stop.improvers import resolve_improver

    cfg = make_config(config, preset=preset, **settings)
    check_settings(cfg)
    start_improver = resolve_improver(cfg.improver, keep_input=cfg.keep_input)
    progress = progress or Progress()
    if cfg.adoption == "paired" and cfg.iterations and cfg.runs * len(cfg.tasks) < 2:
        progress.note(
            "warning",
            "warning: paired adoption needs at least 2 improver runs to measure noise; with"
            " one, no new improver is adopted (raise --runs or use --adoption improved)",
        )
    return run_loop(cfg, start_improver, progress)


def resume(
    run_dir: str | Path,
    *,
    max_run_tokens: int | None = None,
    max_run_cost: str | float | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Continue a stopped, killed or crashed run from its last completed iteration (the
    unfinished one is run again; its model calls come back from the run's cache). A run
    that has finished is returned as recorded. The caps raise the run's spending caps."""
    from selftaught.config import load_config
    from selftaught.lm.registry import check_model_string
    from selftaught.stop.improvers import resolve_improver

    path = Path(run_dir)
    progress = progress or Progress()
    meta = check_run_dir(path)
    caps = {
        k: v
        for k, v in {"max_run_tokens": max_run_tokens, "max_run_cost": max_run_cost}.items()
        if v is not None
    }
    if "max_run_cost" in caps:
        caps["max_run_cost"] = str(caps["max_run_cost"])
    cfg = load_config(file=path / RunDir.CONFIG, overrides={"lm": caps} if caps else None)
    check_model_string(cfg.model, cfg.lm)
    rd = RunDir(path)
    if meta.get("status") == "finished":
        progress.note("info", f"{path} has already finished; nothing to do.")
        return _finished_result(rd)
    if not (path / keys.KEY_FILE).is_file():
        raise RunDirError(
            f"{path} has no {keys.KEY_FILE} (recorded before secret instances, or the file "
            "was removed): its instances cannot be made again; start a new run"
        )
    saved = rd.improver_path(0)
    if saved.is_file():  # the starting improver as the run saw it
        start_improver = saved.read_text()
    else:
        start_improver = resolve_improver(cfg.improver, keep_input=cfg.keep_input)
    return run_loop(cfg, start_improver, progress, run_dir=rd)


def _finished_result(rd: RunDir) -> RunResult:
    from selftaught.api.records import open_run

    recorded = open_run(rd.path)
    return RunResult(
        rd.path,
        "finished",
        recorded.rows,
        recorded.improvers,
        recorded.usage,
        recorded.samples,
        recorded.usable,
    )
