"""Shared test helpers for tasks: known-good solvers and a scripted model that knows them."""

from __future__ import annotations

from pathlib import Path

from selftaught.lm import ScriptedBackend
from selftaught.stop import Scope, SolutionScorer

TASK_DATA = Path(__file__).parent.parent / "data" / "tasks"

GOOD = {
    "parity": "good_parity.py",
    "3sat": "good_3sat.py",
    "maxcut": "good_maxcut.py",
    "qap": "good_qap.py",
    "grid": "good_grid.py",
}

# A phrase of each task's shown utility text, so a scripted model can tell them apart.
MARKERS = {
    "3sat": "3-SAT formulas",
    "maxcut": "normalized cut weight",
    "qap": "quadratic assignment",
    "grid": "grid_dist",
    "parity": "noiseless parity",
}


def good(task: str) -> str:
    return (TASK_DATA / GOOD[task]).read_text()


def knowing_backend() -> ScriptedBackend:
    """Answers every prompt with the known-good solver of the task the prompt shows."""

    def respond(request, index):
        for task, marker in MARKERS.items():
            if marker in request.user:
                return f"Here you go.\n```python\n{good(task)}```"
        return "I cannot help with that."

    return ScriptedBackend(respond)


def score(make_ctx, task, src, split="validation"):
    ctx = make_ctx(ScriptedBackend([]))
    return SolutionScorer(ctx).evaluate(src, task, split, Scope(0, "test"))
