"""Bad programs get a clear `error` with the reason, recorded, before any worker starts."""

import pytest

from selftaught.lm import ScriptedBackend
from selftaught.program import check_program
from selftaught.stop import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.store.db import program_hash
from selftaught.tasks.lpn import LearningParityWithNoise

BAD = [
    ("", "empty program"),
    ("def algorithm(train_samples, train_parity, test_samples)\n    return []\n", "syntax error"),
    ("x = (1,\n", "syntax error"),
    ("def solve(a, b, c):\n    return []\n", "does not define algorithm()"),
    ("def algorithm(a):\n    return []\n", "must accept 3"),
    ("def algorithm(a, b, c, d):\n    return []\n", "must accept 3"),
    ("async def algorithm(a, b, c):\n    return []\n", "async"),
    ("def algorithm(a, b, c, *, key):\n    return []\n", "keyword-only"),
    ("def algorithm(a, b, c):\n    return '\0'\n".replace("\\0", "\0"), "syntax error"),
]


class NoSandbox:
    """Fails the test if anything tries to start a worker."""

    def solve(self, *args, **kwargs):
        raise AssertionError("a worker was started for a program that cannot run")

    improve = solve


@pytest.mark.parametrize(("src", "reason"), BAD)
def test_check_program_names_the_reason(src, reason):
    assert reason in (check_program(src, "algorithm", 3) or "")


@pytest.mark.parametrize(
    "src",
    [
        "def algorithm(a, b, c):\n    return []\n",
        "def algorithm(a, b, c=None, *rest, **kw):\n    return []\n",
        "def algorithm(*args):\n    return []\n",
        "from functools import partial\nalgorithm = partial(print)\n",
    ],
)
def test_check_program_accepts_valid_shapes(src):
    assert check_program(src, "algorithm", 3) is None


@pytest.mark.parametrize(("src", "reason"), BAD)
def test_bad_solution_is_recorded_as_an_error_without_a_worker(src, reason, make_ctx):
    ctx = make_ctx(ScriptedBackend(["unused"]))
    ctx.sandbox = NoSandbox()
    task = LearningParityWithNoise()
    ev = SolutionScorer(ctx).evaluate(src, task, "validation", Scope(0, "bad"))
    assert ev.outcome == "error" and reason in ev.message and ev.score == 0.0
    rows = ctx.store.query(
        "SELECT outcome, message FROM evaluations WHERE program_hash = ?", (program_hash(src),)
    )
    assert [(r["outcome"], reason in r["message"]) for r in rows] == [("error", True)]


def test_bad_improver_is_an_error_without_a_worker_or_model_call(make_ctx):
    backend = ScriptedBackend(["unused"])
    ctx = make_ctx(backend)
    ctx.sandbox = NoSandbox()
    run = run_improver(
        ctx,
        "def improve_algorithm(initial_solution, utility):\n    return initial_solution\n",
        initial_solution="def algorithm(a, b, c):\n    return []\n",
        utility=lambda src, k: 0.0,
        utility_str="",
        required_function="algorithm",
        scope=Scope(0, "bad"),
    )
    assert run.outcome == "error" and "must accept 3" in run.message
    assert not backend.requests and run.model_calls == 0
