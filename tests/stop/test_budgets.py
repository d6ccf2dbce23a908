"""Budgets are counted by the orchestrator; nothing an improver does to its proxies helps."""

from selftaught.lm import ScriptedBackend
from selftaught.stop import Scope
from selftaught.stop.improver_run import run_improver

FIVE_CALLS = """
def improve_algorithm(initial_solution, utility, language_model):
    got = []
    for i in range(5):
        try:
            language_model.prompt("s", "m")
            got.append("ok")
        except Exception as exc:
            got.append(type(exc).__name__)
    return ",".join(got)
"""

TAMPERING = """
def improve_algorithm(initial_solution, utility, language_model):
    language_model.budget = 10**6
    language_model.max_responses_per_call = 10**6
    utility.budget = 10**6
    calls = 0
    try:
        while calls < 100:
            language_model.prompt("s", "m", n_responses=50)
            calls += 1
    except Exception:
        pass
    scores = [utility("x = 1") for _ in range(10)]
    return f"{calls} {scores.count(0.5)}"
"""


def _run(make_ctx, src, *, lm_calls=4, utility_calls=25):
    backend = ScriptedBackend(lambda req, i: "answer")
    ctx = make_ctx(backend, budgets={"lm_calls": lm_calls, "utility_calls": utility_calls})
    run = run_improver(
        ctx,
        src,
        initial_solution="def algorithm(): pass",
        utility=lambda src, k: 0.5,
        utility_str="def utility(s): ...",
        required_function="algorithm",
        scope=Scope(0, "test"),
    )
    return run, backend, ctx


def test_fifth_call_with_a_budget_of_four_raises(make_ctx):
    run, backend, _ = _run(make_ctx, FIVE_CALLS)
    assert run.outcome == "ok"
    assert run.returned == "ok,ok,ok,ok,BudgetExhausted"
    assert len(backend.requests) == 4 and run.model_calls == 4


def test_raising_budgets_on_the_proxies_changes_nothing(make_ctx):
    run, backend, ctx = _run(make_ctx, TAMPERING, utility_calls=3)
    assert run.outcome == "ok"
    assert run.returned == "4 3"  # 4 model calls, then only 3 utility calls scored
    assert len(backend.requests) == 4
    assert sum(r.n for r in backend.requests) == 4 * ctx.config.budgets.samples_per_call
    kinds = [r["kind"] for r in ctx.store.query("SELECT kind FROM events")]
    assert "lm_over_budget" in kinds and "utility_over_budget" in kinds


def test_improver_that_is_not_python_fails_before_any_worker(make_ctx):
    run, backend, _ = _run(make_ctx, "def improve_algorithm(:\n")
    assert run.outcome == "error" and "syntax error" in run.message
    assert not backend.requests


def test_improver_returning_a_non_string_is_an_error(make_ctx):
    run, _, _ = _run(make_ctx, "def improve_algorithm(a, b, c):\n    return 42\n")
    assert run.outcome == "error" and "not a str" in run.message


def test_paper_style_improver_imports_helpers(make_ctx):
    src = """from helpers import extract_code

def improve_algorithm(initial_solution, utility, language_model):
    responses = language_model.batch_prompt("s", ["m"] * language_model.max_responses_per_call)
    return extract_code(responses)[0] or initial_solution
"""
    run, _, _ = _run(make_ctx, src)
    assert run.outcome == "ok" and run.returned == "def algorithm(): pass"
