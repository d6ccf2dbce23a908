"""Speed as the objective: a faster program that stays correct scores higher.

Each instance has an expected answer (made with the instance, or computed by a reference
solution). A solution's outputs are checked here, in the orchestrator; its time is the
CPU time of its sandbox workers (user + system, all threads), read by the orchestrator
from the kernel (the worker's process CPU clock, or its exit rusage), from loading the
program to its last answer. Not wall time: on a shared machine that measures the
neighbours. The program and the seed solution are timed back to back, `timing_runs` (3)
times, so that each pair sees the same load:

    r = median over the pairs of (program's CPU seconds / seed's CPU seconds)
    c = mean correctness over the instances (each in [0, 1]; 0 for a wrong output)
    score = c / (1 + r)          (= c * T0 / (T0 + T) with T0, T the two times)

The seed scores about 0.5; 2x faster 0.667, 10x faster 0.909, 100x faster 0.990; 2x
slower 0.333; any wrong answer loses that instance's share. The score is in [0, 1).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from selftaught.tasks.base import Task

SPEED_TEXT = (
    "The score rewards speed, for correct outputs only: with T0 the CPU seconds per "
    "instance of the starting solution and T those of yours (timed back to back), the "
    "utility is (share of correct outputs) * T0 / (T0 + T), so the starting solution "
    "scores about 0.5 "
    "and a 10x faster correct one about 0.91. CPU time of the whole process counts "
    "(threads too), from loading your program to its last answer; wrong outputs score 0."
)


def speed_score(correct: float, seconds: float, baseline: float) -> float:
    """`correct * T0 / (T0 + T)`: see the module's docstring."""
    if not (correct > 0 and math.isfinite(seconds) and seconds >= 0 and baseline > 0):
        return 0.0
    return correct * baseline / (baseline + seconds)


def outputs_equal(output: Any, answer: Any) -> bool:
    """Equality that treats tuples as lists and floats with a relative tolerance of 1e-9."""
    if isinstance(answer, float) and not isinstance(output, bool | list | tuple | dict):
        try:
            return math.isclose(float(output), float(answer), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if isinstance(answer, list | tuple):
        if not isinstance(output, list | tuple) or len(output) != len(answer):
            return False
        return all(outputs_equal(o, a) for o, a in zip(output, answer, strict=True))
    if isinstance(answer, dict):
        if not isinstance(output, dict) or output.keys() != answer.keys():
            return False
        return all(outputs_equal(output[k], answer[k]) for k in answer)
    if isinstance(answer, bool) or isinstance(output, bool):
        return isinstance(output, bool) and isinstance(answer, bool) and output == answer
    try:
        return bool(output == answer)
    except (TypeError, ValueError):  # e.g. an array compared with a list
        return False


class SpeedTask(Task):
    """A task whose score rewards lower CPU time per instance, for correct outputs only.

    Subclasses define what any task does (`make_instance` returning the inputs and the
    expected answer); `score(output, answer)` is the correctness of one output in [0, 1]
    (default: equal to the answer, see `outputs_equal`).
    """

    objective: ClassVar[str] = "speed"
    timing_runs: ClassVar[int] = 3
    """Pairs of timings (the program, then the seed) whose median ratio counts."""

    def score(self, output: Any, answer: Any) -> float:
        return 1.0 if outputs_equal(output, answer) else 0.0


def is_speed_task(task: Task) -> bool:
    return task.objective == "speed"
