"""Improvers written against the paper's interface run unchanged on every task.

Beam search, a genetic algorithm and temperature annealing (tests/data/improvers/) use
`batch_prompt`, `prompt`, `budget`, `max_responses_per_call`, `utility.str` and
`utility.budget`. With a scripted model that knows each task's solver, each must find it.
"""

from pathlib import Path

import pytest

from selftaught.stop import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks import TRANSFER_TASKS, get_task
from tests.tasks.helpers import good, knowing_backend

IMPROVERS = Path(__file__).parent.parent / "data" / "improvers"


@pytest.mark.parametrize("improver", ["beam", "genetic", "annealing"])
@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_paper_interface_improver_finds_the_known_solver(make_ctx, improver, name):
    ctx = make_ctx(
        knowing_backend(), budgets={"lm_calls": 2, "samples_per_call": 2, "utility_calls": 6}
    )
    task = get_task(name)
    scorer = SolutionScorer(ctx)
    meta = MetaUtility(ctx, [task], scorer)
    scope = Scope(0, f"paper/{improver}")
    run = run_improver(
        ctx,
        resolve_improver(str(IMPROVERS / f"{improver}.py")),
        initial_solution=task.seed_solution,
        utility=meta.task_utility(task, scope),
        utility_str=task.utility_text,
        required_function=task.function,
        scope=scope,
    )
    assert run.outcome == "ok", run.message
    assert run.returned.strip() == good(name).strip()
    assert run.model_calls == 2 and run.utility_calls <= 6
    assert scorer.evaluate(run.returned, task, "heldout", scope).score > 0.95


def test_a_paper_interface_improver_starts_a_stop_run(make_ctx):
    from selftaught.stop import run_stop

    ctx = make_ctx(knowing_backend(), tasks=["grid"], iterations=0, runs=1)
    rows = run_stop(ctx, resolve_improver(str(IMPROVERS / "genetic.py")), ctx.run_dir)
    assert rows[0].evaluation.heldout > 0.95
