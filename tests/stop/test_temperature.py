"""A run's `budgets.temperature` is the temperature of every model call that does not set
its own; an improver that passes its own temperature gets it."""

from selftaught.lm import ScriptedBackend
from selftaught.stop import Scope
from selftaught.stop.baselines import greedy_improver
from selftaught.stop.improver_run import run_improver
from selftaught.stop.sandbox_experiment import run_attempts
from selftaught.stop.seed_improver import seed_improver

OWN_TEMPERATURE = """
def improve_algorithm(initial_solution, utility, language_model):
    language_model.batch_prompt("s", ["m"], temperature=1.3)
    language_model.prompt("s", "m")
    return initial_solution
"""


def _run(make_ctx, improver, temperature):
    backend = ScriptedBackend(lambda req, i: "```python\ndef algorithm():\n    return 1\n```")
    ctx = make_ctx(backend, budgets={"lm_calls": 2, "utility_calls": 4, "temperature": temperature})
    run = run_improver(
        ctx,
        improver,
        initial_solution="def algorithm():\n    return 0\n",
        utility=lambda src, k: 0.5,
        utility_str="def utility(s): ...",
        required_function="algorithm",
        scope=Scope(0, "test"),
    )
    assert run.outcome == "ok", run.message
    return backend, ctx


def test_the_seed_improver_samples_at_the_run_temperature(make_ctx):
    backend, ctx = _run(make_ctx, seed_improver(), 0.25)
    assert backend.requests and {r.temperature for r in backend.requests} == {0.25}
    recorded = ctx.store.query("SELECT temperature FROM model_calls")
    assert [r["temperature"] for r in recorded] == [0.25]


def test_the_greedy_improver_samples_at_the_run_temperature(make_ctx):
    backend, _ = _run(make_ctx, greedy_improver(), 1.1)
    assert backend.requests and {r.temperature for r in backend.requests} == {1.1}


def test_an_improver_that_passes_a_temperature_gets_its_own(make_ctx):
    backend, _ = _run(make_ctx, OWN_TEMPERATURE, 0.25)
    assert [r.temperature for r in backend.requests] == [1.3, 0.25]


def test_the_sandbox_experiment_asks_at_the_temperature_it_is_given(tmp_path):
    from selftaught.store import RunDir

    backend = ScriptedBackend(lambda req, i: "no code")
    store = RunDir.create(tmp_path, "x").open_store()
    run_attempts(store, backend, attempts=2, warnings=[False], temperature=0.4)
    store.close()
    assert [r.temperature for r in backend.requests] == [0.4, 0.4]
