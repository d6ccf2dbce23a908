"""Transfer evaluation with the scripted backend: Table 1's shape, held-out scores, usage."""

from selftaught.cli.transfer import transfer_table
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.transfer import run_transfer
from selftaught.tasks import get_task
from tests.tasks.helpers import knowing_backend


def test_transfer_produces_the_table_with_seed_and_given_improvers(make_ctx):
    ctx = make_ctx(knowing_backend(), runs=2)
    tasks = [get_task("grid"), get_task("maxcut")]
    result = run_transfer(ctx, {"greedy": resolve_improver("greedy")}, tasks)
    assert result.improvers == ["seed", "greedy"]
    assert [row.task for row in result.rows] == ["grid", "maxcut"]
    grid, maxcut = result.rows
    assert 0.3 < grid.seed_solution < 0.5 and maxcut.seed_solution == 0.0
    for row in result.rows:
        for cell in row.improvers.values():
            assert len(cell.values) == 2 and cell.mean > 0.95 and cell.se >= 0.0
            assert cell.model_calls == 2 and cell.samples > 0 and cell.tokens > 0
    heldout = ctx.store.query(
        "SELECT COUNT(*) n FROM evaluations WHERE split = 'heldout' AND scope LIKE 'transfer/%'"
    )[0]["n"]
    assert heldout > 0
    rendered = transfer_table(result)
    assert [c.header for c in rendered.columns][:4] == [
        "task",
        "seed solution",
        "seed improver",
        "greedy",
    ]
    assert result.to_json()["rows"][0]["improvers"]["seed"]["values"]


def test_an_improver_that_fails_scores_zero_in_its_column(make_ctx):
    ctx = make_ctx(knowing_backend(), runs=1)
    broken = "def improve_algorithm(initial_solution, utility, language_model):\n    1 / 0\n"
    result = run_transfer(ctx, {"broken": broken}, [get_task("grid")])
    cell = result.rows[0].improvers["broken"]
    assert cell.mean == 0.0 and cell.outcomes == ["error"]


def test_transfer_goes_through_the_run_contexts_executor(make_ctx):
    ctx = make_ctx(knowing_backend(), runs=2, parallel=4)
    widths, inner_map = [], ctx.executor.map

    def recording_map(fn, items, *, max_workers=None):
        widths.append(max_workers)
        return inner_map(fn, items, max_workers=max_workers)

    ctx.executor.map = recording_map
    result = run_transfer(ctx, {"greedy": resolve_improver("greedy")}, [get_task("grid")])
    # The seed solutions, the cells (2 at once: 4 // 2 runs), then each cell's 2 runs.
    assert widths[:2] == [None, 2] and widths[2:] == [None, None]
    assert [c.mean for c in result.rows[0].improvers.values()] == [1.0, 1.0]
