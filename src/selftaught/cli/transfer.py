"""`selftaught transfer`: Table 1 of the paper as a command.

Records and the table land in a run directory `<output>/<timestamp>-transfer/`
(default `runs/`): `records.sqlite` (every model call and evaluation) and
`transfer.json` (the table as data). The command prints both paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from selftaught.cli import app
from selftaught.cli.tasks import EXECUTOR_HELP, INSTANCE_KEY_HELP, RAY_ADDRESS_HELP, records_line
from selftaught.text import printable

if TYPE_CHECKING:
    from selftaught.stop.transfer import TransferResult


def _pct(mean: float, se: float) -> str:
    return f"{100 * mean:.1f} ± {100 * se:.1f}"


def transfer_table(result: TransferResult) -> Table:
    """Per task: seed solution, then each improver's held-out meta-utility (%, ± SE)."""
    table = Table(
        title=Text(
            printable(
                f"Transfer: held-out utility (%), mean ± SE over {result.runs} runs, {result.model}"
            )
        )
    )
    table.add_column("task")
    table.add_column("seed solution", justify="right")
    for label in result.improvers:
        name = "seed improver" if label == "seed" else label
        table.add_column(escape(printable(name)), justify="right")  # shown as written
    table.add_column("model calls / tokens", justify="right")
    for row in result.rows:
        cells = [row.improvers[label] for label in result.improvers]
        usage = " + ".join(f"{c.model_calls}/{c.tokens}" for c in cells)
        table.add_row(
            Text(printable(row.task)),
            f"{100 * row.seed_solution:.1f}",
            *[_pct(c.mean, c.se) for c in cells],
            usage,
        )
    return table


@app.command("transfer")
def transfer_command(
    improver: Annotated[
        list[str],
        typer.Option(help="Improver to compare (repeatable): greedy, a .py file, RUN_DIR:ITER."),
    ],
    task: Annotated[
        list[str] | None,
        typer.Option("--tasks", "--task", help="Task (repeatable); default: the five of Table 1."),
    ] = None,
    runs: Annotated[int, typer.Option(help="Improver runs per task and improver (K).")] = 5,
    model: Annotated[str | None, typer.Option(help="Model string, e.g. local:smollm2.")] = None,
    preset: Annotated[str | None, typer.Option(help="Budgets preset: default or paper.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    output: Annotated[str | None, typer.Option(help="Folder of run directories.")] = None,
    parallel: Annotated[
        int | None, typer.Option(min=1, help="Improver runs at once, over all tasks and improvers.")
    ] = None,
    executor: Annotated[str | None, typer.Option(help=EXECUTOR_HELP)] = None,
    ray_address: Annotated[str | None, typer.Option(help=RAY_ADDRESS_HELP)] = None,
    instance_key: Annotated[str | None, typer.Option(help=INSTANCE_KEY_HELP)] = None,
) -> None:
    """Table 1: seed solution, seed improver and the given improvers on transfer tasks."""
    from selftaught.api.solving import transfer
    from selftaught.tasks import TRANSFER_TASKS

    err = Console(stderr=True, highlight=False)
    names = [n.strip() for item in (task or TRANSFER_TASKS) for n in item.split(",") if n.strip()]
    result = transfer(
        improver,
        names,
        runs=runs,
        model=model,
        preset=preset,
        seed=seed,
        output=output,
        parallel=parallel,
        executor=executor,
        ray_address=ray_address,
        instance_key=instance_key,
        progress=records_line(err),
    )
    out = Console()
    if not out.is_terminal:
        out = Console(width=140)
    out.print(transfer_table(result))
    if result.run_dir is not None:
        err.print(printable(f"table: {result.run_dir / 'transfer.json'}"), markup=False)
