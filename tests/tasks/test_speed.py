"""Speed tasks: correct and faster scores higher, wrong scores 0, time is the workers' CPU."""

import pytest

from selftaught.stop import Scope, SolutionScorer
from selftaught.tasks import get_task
from selftaught.tasks.lis import FAST as FAST_LIS
from selftaught.tasks.lis import FastLongestIncreasingSubsequence, lis_length
from selftaught.tasks.speed import outputs_equal, speed_score

WRONG_FAST = "def algorithm(seq):\n    return len(seq)\n"

SLOWER_LIS = """def algorithm(seq):
    best = [1] * len(seq)
    for _ in range(3):
        best = [1] * len(seq)
        for i in range(len(seq)):
            for j in range(i):
                if seq[j] < seq[i] and best[j] + 1 > best[i]:
                    best[i] = best[j] + 1
    return max(best, default=0)
"""


def test_speed_score_formula():
    assert speed_score(1.0, 1.0, 1.0) == 0.5
    assert speed_score(1.0, 0.1, 1.0) == pytest.approx(10 / 11)
    assert speed_score(1.0, 2.0, 1.0) == pytest.approx(1 / 3)
    assert speed_score(0.5, 0.1, 1.0) == pytest.approx(0.5 * 10 / 11)
    assert speed_score(0.0, 0.0, 1.0) == 0.0
    assert speed_score(1.0, float("nan"), 1.0) == 0.0
    assert 0.0 <= speed_score(1.0, 0.0, 1.0) <= 1.0


def test_outputs_equal_is_strict_about_types_and_shapes():
    assert outputs_equal([1, 2], (1, 2)) and outputs_equal(0.1 + 0.2, 0.3)
    assert not outputs_equal([1, 2], [1, 2, 3]) and not outputs_equal(True, 1)
    assert not outputs_equal("3", 3) and not outputs_equal(None, 0)


def test_lis_answers_are_right_and_the_seed_is_correct():
    task = get_task("fast-lis")
    assert lis_length([3, 1, 2, 5, 4]) == 3 and lis_length([]) == 0
    namespace: dict = {}
    exec(task.seed_solution, namespace)
    inst = task.instances("validation")[0]
    assert namespace["algorithm"](*inst.inputs) == inst.answer


def test_a_faster_correct_program_scores_higher_than_the_seed_and_a_wrong_one_zero(make_ctx):
    ctx = make_ctx(backend=None, tasks=["fast-lis"])

    class Few(FastLongestIncreasingSubsequence):
        n_validation = 3  # fewer instances: a quicker test, the same measurement

    task = Few()
    scorer = SolutionScorer(ctx)
    seed = scorer.evaluate(task.seed_solution, task, "validation", Scope(0, "seed"))
    fast = scorer.evaluate(FAST_LIS, task, "validation", Scope(0, "fast"))
    slow = scorer.evaluate(SLOWER_LIS, task, "validation", Scope(0, "slow"))
    wrong = scorer.evaluate(WRONG_FAST, task, "validation", Scope(0, "wrong"))
    assert seed.cpu_seconds is not None and seed.cpu_seconds > 0
    assert 0.2 < seed.score < 0.8  # about 0.5: the same program, timed twice
    assert fast.score > 0.8 and fast.solved == task.n_validation
    assert slow.score < seed.score
    assert wrong.score == 0.0


def test_cpu_seconds_are_the_workers_own_cpu_time(sandbox):
    """A worker that burns 0.3 s of its own CPU time is charged at least that much, and a
    worker that sleeps is charged almost nothing: CPU time, not wall time."""
    burn = (
        "import time\n"
        "def algorithm(x):\n"
        "    t = time.process_time()\n"
        "    while time.process_time() - t < 0.3:\n"
        "        pass\n"
        "    return x\n"
    )
    sleep = "import time\ndef algorithm(x):\n    time.sleep(0.3)\n    return x\n"
    burnt = sandbox.solve(burn, function="algorithm", instances=[(1,)], instance_timeout=10)
    slept = sandbox.solve(sleep, function="algorithm", instances=[(1,)], instance_timeout=10)
    assert burnt.outcome == "ok" and burnt.cpu_seconds is not None
    assert burnt.cpu_seconds >= 0.3
    assert slept.cpu_seconds is not None and slept.cpu_seconds < burnt.cpu_seconds


def test_a_worker_gone_before_its_clock_is_read_is_timed_by_its_exit_rusage(sandbox, monkeypatch):
    """A worker exits right after its last answer; when the orchestrator reads its CPU
    clock too late, the fork server's rusage of the exited worker gives the time."""
    from selftaught.sandbox import runner

    real = runner.process_cpu_seconds
    reads = []

    def late(pid):
        reads.append(pid)
        return real(pid) if len(reads) % 2 else None  # the read after the job: gone

    monkeypatch.setattr(runner, "process_cpu_seconds", late)
    burn = (
        "import time\n"
        "def algorithm(x):\n"
        "    t = time.process_time()\n"
        "    while time.process_time() - t < 0.2:\n"
        "        pass\n"
        "    return x\n"
    )
    result = sandbox.solve(burn, function="algorithm", instances=[(1,)], instance_timeout=10)
    assert result.outcome == "ok" and len(reads) == 2
    assert result.cpu_seconds is not None and result.cpu_seconds >= 0.2
