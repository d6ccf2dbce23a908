"""The five transfer tasks: correct solvers score near 1, seeds score what they should,
broken outputs score 0 without raising, instances are reproducible and splits disjoint."""

import math

import numpy as np
import pytest

from selftaught.tasks import TASKS, TRANSFER_TASKS, get_task
from selftaught.tasks.grid import grid_dist
from selftaught.tasks.qap import assignment_cost, mean_random_cost
from tests.tasks.helpers import good, score

SEED_RANGES = {
    "parity": (0.35, 0.65),  # random predictions
    "3sat": (0.0, 0.0),  # a random assignment never satisfies all 128 clauses
    "maxcut": (0.0, 0.0),  # everything on one side cuts nothing
    "qap": (0.2, 0.7),  # best of 20 random permutations
    "grid": (0.3, 0.5),  # t itself: partial credit only
}

BAD_OUTPUTS = [
    None,
    "oops",
    {"a": 1},
    [],
    [float("nan")] * 31,
    [float("inf")] * 31,
    [[0, 1]] * 30,
    list(range(1000)),
    [1e308] * 10,
    -1,
    True,
]


def test_the_five_transfer_tasks_are_registered():
    assert set(TRANSFER_TASKS) <= set(TASKS)
    assert all(get_task(name).name == name for name in TRANSFER_TASKS)


@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_a_correct_solver_scores_near_one_on_heldout(make_ctx, name):
    ev = score(make_ctx, get_task(name), good(name), "heldout")
    assert ev.score > 0.95, ev
    assert ev.failed == 0 and ev.timed_out == 0


@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_seed_solution_scores_what_it_should(make_ctx, name):
    low, high = SEED_RANGES[name]
    ev = score(make_ctx, get_task(name), get_task(name).seed_solution, "heldout")
    assert low <= ev.score <= high, ev
    assert ev.failed == 0


@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_broken_outputs_score_zero_without_raising(name):
    task = get_task(name)
    answer = task.instances("validation")[0].answer
    for output in BAD_OUTPUTS:
        value = task.score(output, answer)
        assert value == 0.0 or (name == "parity" and value <= 0.65), (output, value)


@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_scores_are_in_unit_interval_for_valid_shapes(name):
    task = get_task(name)
    rng = np.random.default_rng(3)
    for inst in task.instances("validation")[:5]:
        value = task.score(_random_valid_output(name, inst, rng), inst.answer)
        assert 0.0 <= value <= 1.0 and math.isfinite(value)


def _random_valid_output(name, inst, rng):
    if name == "parity":
        return rng.integers(0, 2, 20).tolist()
    if name == "3sat":
        n = max(abs(lit) for clause in inst.inputs[0] for lit in clause)
        return [None] + rng.integers(0, 2, n).tolist()
    if name == "maxcut":
        return rng.integers(0, 2, len(inst.inputs[0])).tolist()
    if name == "qap":
        return rng.permutation(len(inst.inputs[0])).tolist()
    return "".join(rng.choice(["A", "B"], len(inst.inputs[0])))


@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_instances_are_deterministic_and_splits_disjoint(name):
    a, b = TASKS[name](), TASKS[name]()
    assert not set(a.seeds("validation")) & set(a.seeds("heldout"))
    for x, y in zip(a.instances("heldout"), b.instances("heldout"), strict=True):
        assert repr(x.inputs) == repr(y.inputs)
    assert len(a.instances("validation")) == 20 and len(a.instances("heldout")) == 50


@pytest.mark.parametrize("name", TRANSFER_TASKS)
def test_a_solver_that_raises_loses_only_its_instances(make_ctx, name):
    task = get_task(name)
    arity = ", ".join(f"x{i}" for i in range(task.arity))
    src = (
        "import random\n"
        f"_good = {{}}\nexec({good(name)!r}, _good)\n"
        f"def algorithm({arity}):\n"
        "    if random.random() < 0.5:\n"
        "        raise RuntimeError('flaky')\n"
        f"    return _good['algorithm']({arity})\n"
    )
    ev = score(make_ctx, task, src)
    assert 0 < ev.failed < 20
    assert 0.2 < ev.score < 0.8


def test_grid_partial_credit_follows_the_paper():
    task = get_task("grid")
    t, dist = "ABAB", 5
    assert task.score("ABAB", (t, dist)) == pytest.approx(0.5 - abs(6 - 5) / 24)
    s = next(
        a + b + c + d
        for a in "AB"
        for b in "AB"
        for c in "AB"
        for d in "AB"
        if grid_dist(a + b + c + d, t) == dist
    )
    assert task.score(s, (t, dist)) == 1.0
    assert task.score("ABA", (t, dist)) == 0.0
    assert task.score("ABCB", (t, dist)) == 0.0


def test_qap_lower_cost_scores_higher_and_the_mean_is_exact():
    task = get_task("qap")
    inst = task.instances("validation")[0]
    F, D, P = inst.inputs
    perms = [np.random.default_rng(i).permutation(10) for i in range(200)]
    costs = [assignment_cost(F, D, P, p) for p in perms]
    scores = [task.score(p.tolist(), inst.answer) for p in perms]
    cheap, dear = int(np.argmin(costs)), int(np.argmax(costs))
    assert scores[cheap] > scores[dear] == 0.0
    assert abs(np.mean(costs) - mean_random_cost(F, D, P)) < 0.05 * np.mean(costs)


def test_qap_rejects_non_permutations():
    task = get_task("qap")
    answer = task.instances("validation")[0].answer
    assert task.score([0] * 10, answer) == 0.0
    assert task.score(list(range(1, 11)), answer) == 0.0
    assert task.score([0.5] + list(range(1, 10)), answer) == 0.0


def test_sat_score_counts_only_full_solutions():
    task = get_task("3sat")
    formula = [[1, 2, 3], [-1, 2, 3]]
    assert task.score([None, True, True, False], formula) == 1.0
    assert task.score([None, False, False, False], formula) == 0.0
    assert task.score([None, True, True], formula) == 0.0  # too short
    assert task.score([None, "yes", True, False], formula) == 0.0


def test_maxcut_is_capped_at_one():
    task = get_task("maxcut")
    adjacency, reference = task.instances("validation")[0].answer
    assert task.score([0, 1] * 15, (adjacency, reference / 10)) == 1.0
