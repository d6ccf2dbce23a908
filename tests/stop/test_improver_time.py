"""Improver time limits are sized to the budgets, and a hung improver ends the same way."""

import time

import pytest

from selftaught.assembly import assemble, sandbox_spec
from selftaught.config import RunConfig, SandboxSettings, load_config
from selftaught.lm import ScriptedBackend
from selftaught.stop import run_stop, seed_improver
from selftaught.store.db import program_hash

SLEEPS_FOREVER = """import time


def improve_algorithm(initial_solution, utility, language_model):
    while True:
        time.sleep(3600)
"""

IGNORES_SIGTERM = """import signal
import time


def improve_algorithm(initial_solution, utility, language_model):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(3600)
"""

SPINS_THE_CPU = """def improve_algorithm(initial_solution, utility, language_model):
    n = 0
    while True:
        n += 1
"""


def test_default_limits_follow_the_budgets():
    default = load_config()
    assert default.improver_timeout == 10 + 5 * (1 + 4) == 35
    assert default.improver_cpu_seconds == 45
    paper = load_config(preset="paper")
    assert paper.improver_timeout == 10 + 5 * (4 + 25) and paper.improver_cpu_seconds == 165
    bigger = load_config(overrides={"budgets": {"utility_calls": 10}})
    assert bigger.improver_timeout == 65


def test_explicit_limits_override_the_derived_ones():
    cfg = load_config(overrides={"sandbox": {"improver_timeout": 900, "improver_cpu_seconds": 300}})
    assert cfg.improver_timeout == 900 and cfg.improver_cpu_seconds == 300
    only_wall = load_config(overrides={"sandbox": {"improver_timeout": 20}})
    assert only_wall.improver_cpu_seconds == 30


def test_the_resolved_config_keeps_the_limits_it_ran_with():
    cfg = load_config()
    again = load_config(overrides=cfg.model_dump(mode="json"))
    assert again.sandbox == cfg.sandbox
    assert (again.improver_timeout, again.improver_cpu_seconds) == (35, 45)


def test_a_saved_config_reused_with_bigger_budgets_gets_limits_sized_to_them():
    # The derived limits used to be written into the config, so a saved config.toml
    # reused with more utility calls kept the small limits (35 s for 25 calls).
    saved = load_config().model_dump(mode="json")
    reused = load_config(overrides={**saved, "budgets": {"utility_calls": 25}})
    assert reused.improver_timeout == 10 + 5 * (1 + 25)


def test_sizing_the_limits_leaves_a_shared_settings_object_alone():
    settings = SandboxSettings()
    RunConfig(sandbox=settings)
    paper = RunConfig(sandbox=settings, budgets={"lm_calls": 4, "utility_calls": 25})
    assert settings.improver_timeout is None and settings.improver_cpu_seconds is None
    assert paper.improver_timeout == 155


@pytest.mark.slow
@pytest.mark.parametrize(
    "hostile",
    [SLEEPS_FOREVER, IGNORES_SIGTERM, SPINS_THE_CPU],
    ids=["sleeps-forever", "ignores-sigterm", "spins-the-cpu"],
)
def test_a_hung_improver_ends_as_timeout_and_the_run_goes_on(tmp_path, hostile):
    # The default preset's budgets and the limits derived from them; the model proposes
    # the hostile improver, which the step scores with the meta-utility (one run on lpn).
    # One sample per call, so the step scores one hostile candidate next to its input.
    cfg = load_config(
        overrides={
            "model": "scripted:unused",
            "iterations": 1,
            "runs": 1,
            "budgets": {"samples_per_call": 1},
        }
    )

    def respond(request, index):
        if "meta_utility" in request.user:
            return f"```python\n{hostile}```"
        return "```python\ndef algorithm(a, b, c):\n    return [0] * len(c)\n```"

    cfg = cfg.model_copy(update={"output": str(tmp_path / "runs")})
    spec = sandbox_spec(cfg)  # the run's own limits, as `selftaught run` builds them
    assert spec.improver_limits.cpu_seconds == cfg.improver_cpu_seconds == 45
    with assemble(cfg, record="hung", backend=ScriptedBackend(respond)) as asm:
        assert asm.context.sandbox.improver_limits == spec.improver_limits  # type: ignore[attr-defined]
        start = time.perf_counter()
        rows = run_stop(asm.context, seed_improver(), asm.run_dir)
        elapsed = time.perf_counter() - start
        (hung,) = asm.store.query(
            "SELECT outcome, message, seconds FROM improver_runs"
            " WHERE scope LIKE 'it1/step/%' AND improver_hash != ?",
            (program_hash(seed_improver()),),
        )
        iterations = asm.store.iterations()
    assert hung["outcome"] == "timeout", hung["message"]
    assert "35 s" in hung["message"]
    # the run went on: the step finished, kept its input, and iteration 1 was recorded
    assert [r.iteration for r in rows] == [0, 1] and [r["iteration"] for r in iterations] == [0, 1]
    assert rows[1].outcome == "ok" and rows[1].message == "returned its input unchanged"
    assert not rows[1].adopted
    print(
        f"\nhung improver ended after {hung['seconds']:.1f} s (limit"
        f" {cfg.improver_timeout:g} s of its own time); whole run {elapsed:.1f} s"
    )
