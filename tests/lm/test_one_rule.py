"""One rule decides whether a program is usable: the model layer (`lm.usable`), the
orchestrator (`program.check`) and task loading (`tasks.loader`, `tasks.functional`)
agree on every answer, whatever defaults the program being improved has."""

from __future__ import annotations

import itertools

import pytest

import selftaught
from selftaught.lm import LanguageModel, ScriptedBackend
from selftaught.lm.usable import arity_of, as_answer, check
from selftaught.program import check_program
from selftaught.tasks.loader import task_from_object

SEED_WITH_DEFAULT = "def algorithm(xs, k=3):\n    return sorted(xs)[:k]\n"


def _task_module(seed: str):
    import types

    module = types.ModuleType("defaults_task")
    module.name = "defaults-task"
    module.description = "Keep the smallest numbers."
    module.utility_text = "def utility(algorithm_str):\n    ...\n"
    module.seed_solution = seed
    module.n_validation = 2
    module.n_heldout = 2
    module.make_instance = lambda rng: ((rng.random(5).round(3).tolist(),), [0.0])
    module.score = lambda output, answer: 1.0
    return module


def test_a_seed_with_a_default_does_not_make_a_valid_answer_wrong_arity():
    task = task_from_object(_task_module(SEED_WITH_DEFAULT), default_name="d", where="test")
    answer = "def algorithm(xs):\n    return sorted(xs)"
    assert task.arity == 1
    assert check_program(answer, task.function, task.arity) is None  # the orchestrator
    calls: list = []
    backend = ScriptedBackend(lambda request, i: as_answer(answer))
    lm = LanguageModel(
        backend,
        budget=1,
        max_responses_per_call=1,
        max_tokens=64,
        seed=0,
        scope="test",
        required_function="algorithm",
        record=calls.append,
        program=SEED_WITH_DEFAULT,
    )
    assert lm.batch_prompt("system", ["improve it"]) == [as_answer(answer)]
    assert calls[0].usable == 1 and calls[0].reasons == {}  # not "wrong arity", not redrawn
    assert len(backend.requests) == 1


def test_a_task_from_a_function_takes_its_arity_by_the_same_rule():
    def algorithm(xs, k=3):
        return sorted(xs)[:k]

    task = selftaught.task(
        name="defaults-fn",
        seed_solution=algorithm,
        make_instance=lambda rng: ((rng.random(4).tolist(),), None),
        score=lambda output, answer: 1.0,
    )
    assert task.arity == 1 == arity_of(SEED_WITH_DEFAULT, "algorithm")


SIGNATURES = [
    "xs",
    "xs, k",
    "xs, k=3",
    "xs, k, m=1",
    "xs=None",
    "",
    "*args",
    "xs, *rest",
    "xs, *, key",
    "xs, *, key=1",
    "xs, /, k=2",
    "xs, **kw",
]


SEEDS = [s for s in SIGNATURES if s != "xs, *, key"]  # a seed needs no keyword-only argument


@pytest.mark.parametrize(("seed", "answer"), list(itertools.product(SEEDS, SIGNATURES)), ids=str)
def test_the_model_layer_and_the_orchestrator_agree_on_every_signature(seed, answer):
    seed_src = f"def algorithm({seed}):\n    return 1\n"
    answer_src = f"def algorithm({answer}):\n    return 2\n"
    module = _task_module(seed_src)
    arity = arity_of(seed_src, "algorithm")
    module.make_instance = lambda rng: (tuple(rng.random(3).tolist() for _ in range(arity)), 0)
    task = task_from_object(module, default_name="d", where="test")
    assert task.arity == arity
    model_layer = check(as_answer(answer_src), "algorithm", arity_of(seed_src, "algorithm"))
    orchestrator = check_program(answer_src, task.function, task.arity)
    assert model_layer.usable == (orchestrator is None), (model_layer, orchestrator)


def test_the_rule_holds_for_the_built_in_tasks():
    from selftaught.tasks import all_tasks, get_task

    for name in all_tasks():
        task = get_task(name)
        assert arity_of(task.seed_solution, task.function) == task.arity, name
        assert check_program(task.seed_solution, task.function, task.arity) is None
