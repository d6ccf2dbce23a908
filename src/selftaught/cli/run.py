"""`selftaught run`: STOP on a task suite, with live progress and a table at the end."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from selftaught import __version__
from selftaught.cli import app
from selftaught.cli.progress import LiveProgress
from selftaught.cli.tasks import run_bounds
from selftaught.config import RunConfig, load_config
from selftaught.executors import check_executor, make_executor
from selftaught.lm.cache import CACHE_FILE
from selftaught.lm.errors import RunHalted
from selftaught.lm.registry import check_model_string, make_backend
from selftaught.report.table import iteration_table
from selftaught.sandbox import Limits, Sandbox
from selftaught.stop import RunContext, run_stop
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.resume import ResumeState
from selftaught.store import SCHEMA_VERSION, RunDir
from selftaught.tasks import check_seed, get_task


def _git_commit() -> str | None:
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


def _overrides(**flags: Any) -> dict[str, Any]:
    budgets = {
        k: flags.pop(k)
        for k in ["lm_calls", "samples_per_call", "utility_calls", "max_tokens"]
        if flags.get(k) is not None
    }
    out = {k: v for k, v in flags.items() if v is not None and k in RunConfig.model_fields}
    lm = {
        k: flags.pop(k)
        for k in ["base_url", "api_key_env", "concurrency", "cache", "max_run_tokens"]
        + ["max_run_cost"]
        if flags.get(k) is not None
    }
    if lm:
        out["lm"] = lm
    if budgets:
        out["budgets"] = budgets
    return out


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file.")] = None,
    preset: Annotated[str | None, typer.Option(help="Settings preset: default or paper.")] = None,
    model: Annotated[str | None, typer.Option(help="Model string, e.g. local:smollm2.")] = None,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Task of the suite (repeatable).")
    ] = None,
    iterations: Annotated[int | None, typer.Option(help="Self-improvement iterations.")] = None,
    runs: Annotated[int | None, typer.Option(help="Improver runs per task per evaluation.")] = None,
    lm_calls: Annotated[int | None, typer.Option(help="Model calls per improver run.")] = None,
    samples_per_call: Annotated[int | None, typer.Option(help="Samples per model call.")] = None,
    utility_calls: Annotated[int | None, typer.Option(help="Utility calls per run.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Completion tokens per sample.")] = None,
    adoption: Annotated[str | None, typer.Option(help="Adoption rule: improved or paper.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    parallel: Annotated[int | None, typer.Option(help="Improver runs at once.")] = None,
    executor: Annotated[
        str | None, typer.Option(help="Where sandboxed work runs: local or ray.")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster: auto or ray://host:port (default: start a local Ray)."),
    ] = None,
    improver: Annotated[
        str | None,
        typer.Option(help="Starting improver: seed, greedy, a .py file or RUN_DIR:ITER."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="recursive (STOP) or non-recursive (the seed improver proposes)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Run name.")] = None,
    output: Annotated[str | None, typer.Option(help="Folder of run directories.")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Variable holding the API key (default OPENAI_API_KEY).")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Model requests in flight.")] = None,
    cache: Annotated[
        bool | None, typer.Option("--cache/--no-cache", help="Response cache in the run dir.")
    ] = None,
    max_run_tokens: Annotated[
        int | None, typer.Option(help="Stop the run cleanly after this many tokens.")
    ] = None,
    max_run_cost: Annotated[
        str | None, typer.Option(help="Stop the run cleanly after this many dollars.")
    ] = None,
) -> None:
    """Run STOP: improve the improver on the task suite, and record everything."""
    cfg = load_config(
        preset=preset,
        file=config,
        overrides=_overrides(
            model=model,
            tasks=task or None,
            iterations=iterations,
            runs=runs,
            lm_calls=lm_calls,
            samples_per_call=samples_per_call,
            utility_calls=utility_calls,
            max_tokens=max_tokens,
            adoption=adoption,
            seed=seed,
            parallel=parallel,
            executor=executor,
            ray_address=ray_address,
            improver=improver,
            mode=mode,
            name=name,
            output=output,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            cache=cache,
            max_run_tokens=max_run_tokens,
            max_run_cost=max_run_cost,
        ),
    )
    check_model_string(cfg.model, cfg.lm)
    check_executor(cfg.executor, cfg.ray_address)
    user_tasks = [t for t in (get_task(n) for n in cfg.tasks) if getattr(t, "origin", None)]
    if user_tasks:  # a user's task file must score its own seed solution before work starts
        with Sandbox() as sandbox:
            for t in user_tasks:
                check_seed(t, sandbox)
    start_improver = resolve_improver(cfg.improver, keep_input=cfg.keep_input)
    execute(cfg, start_improver, Console(stderr=True))


def execute(
    cfg: RunConfig,
    start_improver: str,
    console: Console,
    *,
    run_dir: RunDir | None = None,
    resume: ResumeState | None = None,
) -> RunDir:
    """Make the run directory (or continue `run_dir`), run STOP, print the table."""
    if run_dir is None:
        run_dir = RunDir.create(Path(cfg.output), cfg.name)
        run_dir.write_config(cfg.model_dump(mode="json"))
        store = run_dir.open_store()
        store.set_meta("schema_version", SCHEMA_VERSION)
        store.set_meta("created", dt.datetime.now(dt.UTC).isoformat())
        store.set_meta("selftaught_version", __version__)
        store.set_meta("git_commit", _git_commit())
        store.set_meta("config", cfg.model_dump(mode="json"))
    else:
        store = run_dir.open_store()
    store.set_meta("status", "running")
    store.set_meta("pid", os.getpid())
    console.print(f"run directory: {run_dir.path}", highlight=False)
    console.print(f"loading model {cfg.model} ...", highlight=False)
    backend = make_backend(cfg.model, cfg.lm, cache_path=run_dir.path / CACHE_FILE)
    sb = cfg.sandbox
    limits = {"memory_mb": sb.memory_mb}
    status = "failed"
    try:
        if cfg.executor != "local":
            console.print(f"starting the {cfg.executor} executor ...", highlight=False)
        with (
            make_executor(
                cfg.executor, max_workers=cfg.parallel, address=cfg.ray_address
            ) as executor,
            executor.sandbox(
                solution_limits=Limits(cpu_seconds=sb.solution_cpu_seconds, **limits),
                improver_limits=Limits(cpu_seconds=sb.improver_cpu_seconds, **limits),
                isolate_network=sb.isolate_network,
                drop_privileges=sb.drop_privileges,
                run_bounds=run_bounds(cfg),
            ) as sandbox,
        ):
            store.set_meta("sandbox_network", sandbox.network_mode)
            store.set_meta("sandbox_privileges", sandbox.privileges)
            store.set_meta("sandbox_containment", getattr(sandbox, "containment", None))
            if sandbox.network_mode == "none":
                console.print(
                    "warning: no network namespace on this platform; network access from "
                    "sandboxed code is blocked by audit hooks only",
                    highlight=False,
                )
            with LiveProgress(console, iterations=cfg.iterations) as progress:
                ctx = RunContext(cfg, backend, sandbox, store, progress, executor)
                try:
                    run_stop(ctx, start_improver, run_dir, resume=resume)
                    status = "finished"
                except KeyboardInterrupt:
                    status = "stopped"
                    raise
                except RunHalted as exc:
                    status = exc.status
                    console.print(f"run {status}: {exc}", highlight=False)
    finally:
        store.set_meta("status", status)
        rows = store.iterations()
        if rows:
            out = Console()
            if not out.is_terminal:
                out = Console(width=120)
            out.print(iteration_table(rows, title=f"STOP run {run_dir.path.name}"))
            calls = store.query(
                "SELECT COALESCE(SUM(samples),0) s, COALESCE(SUM(usable),0) u FROM model_calls"
            )[0]
            if calls["s"]:
                console.print(
                    f"responses with usable code: {calls['u']}/{calls['s']} "
                    f"({calls['u'] / calls['s']:.0%})",
                    highlight=False,
                )
        console.print(f"records: {run_dir.path}", highlight=False)
        usage = store.run_usage()
        store.set_meta("usage", {**usage, "cost": str(usage["cost"])})
        store.close()
        close_backend = getattr(backend, "close", None)
        if callable(close_backend):
            close_backend()
        from selftaught.report.build import report_after_run

        report_after_run(run_dir.path, console)
        if status != "finished":  # also on Ctrl-C, which leaves through here
            console.print(f"continue with: selftaught resume {run_dir.path}", highlight=False)
    if status == "failed":
        raise typer.Exit(1)
    return run_dir
