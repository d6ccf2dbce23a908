"""`selftaught run`: STOP on a task suite, with live progress and a table at the end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from selftaught.cli import app, gc_freeze

if TYPE_CHECKING:
    from selftaught.stop.context import Progress


def command_progress() -> Progress:
    """`RichProgress` for `run` and `resume`: once the run table is shown, `gc_freeze`, so
    that no full collection walks every object while the report is drawn (0.03 s)."""
    from selftaught.progress import RichProgress  # here: it imports half of selftaught

    class _Ending(RichProgress):
        def finished(self, result: Any) -> None:
            super().finished(result)
            gc_freeze()

    return _Ending()


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
    adoption: Annotated[
        str | None, typer.Option(help="Adoption rule: paired, improved or paper.")
    ] = None,
    adoption_level: Annotated[
        float | None, typer.Option(help="Confidence level of the paired rule (default 0.9).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    instance_key: Annotated[
        str | None,
        typer.Option(help="Pin the instance key (shared benchmark); default: a secret one."),
    ] = None,
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
    from selftaught.api.running import run as run_stop

    result = run_stop(
        config,
        preset=preset,
        progress=command_progress(),
        model=model,
        tasks=task or None,
        iterations=iterations,
        runs=runs,
        lm_calls=lm_calls,
        samples_per_call=samples_per_call,
        utility_calls=utility_calls,
        max_tokens=max_tokens,
        adoption=adoption,
        adoption_level=adoption_level,
        seed=seed,
        instance_key=instance_key,
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
    )
    if result.status == "failed":
        raise typer.Exit(1)
    if result.exit_code:  # stopped by an outage or a full disk: resumable (75)
        raise typer.Exit(result.exit_code)
