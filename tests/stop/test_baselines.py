"""Baselines: greedy hill climbing, RUN_DIR:ITER improvers, the non-recursive loop."""

import pytest

from selftaught.errors import UserError
from selftaught.lm import ScriptedBackend
from selftaught.stop import Scope, run_stop, seed_improver
from selftaught.stop.improver_run import run_improver
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks import get_task
from tests.tasks.helpers import good, knowing_backend


def test_greedy_resolves_and_climbs_to_the_known_solver(make_ctx):
    ctx = make_ctx(knowing_backend(), budgets={"lm_calls": 3, "utility_calls": 4})
    task = get_task("grid")
    meta = MetaUtility(ctx, [task], SolutionScorer(ctx))
    scope = Scope(0, "greedy")
    run = run_improver(
        ctx,
        resolve_improver("greedy"),
        initial_solution=task.seed_solution,
        utility=meta.task_utility(task, scope),
        utility_str=task.utility_text,
        required_function=task.function,
        scope=scope,
    )
    assert run.outcome == "ok", run.message
    assert run.returned.strip() == good("grid").strip()
    assert run.model_calls == 3  # one sample per call, calls until the budget is spent
    assert run.utility_calls <= 4


def test_run_dir_iter_names_a_saved_improver(tmp_path):
    improvers = tmp_path / "runs" / "20250101-000000-lpn" / "improvers"
    improvers.mkdir(parents=True)
    (improvers / "iter_002.py").write_text(seed_improver() + "\n# iteration two\n")
    by_path = resolve_improver(f"{improvers.parent}:2")
    by_name = resolve_improver("20250101-000000-lpn:2", runs_dir=tmp_path / "runs")
    assert "# iteration two" in by_path and by_path == by_name
    with pytest.raises(UserError, match="no iteration 5"):
        resolve_improver(f"{improvers.parent}:5")
    with pytest.raises(UserError, match="not found"):
        resolve_improver("nowhere:1", runs_dir=tmp_path / "runs")


def test_non_recursive_mode_lets_the_seed_improver_propose(make_ctx):
    marker = "# CURRENT-IMPROVER"
    current = seed_improver().replace("Write a better version", marker + " Write a better")

    def respond(request, index):
        if "meta_utility" in request.user:
            return "```python\n" + current + "```"
        return "no code"

    for mode, asked_by_current in [("recursive", True), ("non-recursive", False)]:
        backend = ScriptedBackend(respond)
        ctx = make_ctx(backend, iterations=1, runs=1, mode=mode)
        run_stop(ctx, current, ctx.run_dir)
        step_prompts = [r.user for r in backend.requests if "meta_utility" in r.user]
        assert step_prompts
        assert all(
            (marker in p.split("Current program")[0]) is asked_by_current for p in step_prompts
        )
        proposer = ctx.store.query("SELECT proposer_hash FROM iterations WHERE iteration = 1")
        assert proposer[0]["proposer_hash"]
