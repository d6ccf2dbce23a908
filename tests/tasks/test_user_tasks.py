"""User tasks from a file or an entry point: loaded, checked, and refused with one line."""

import importlib.metadata

import pytest

from selftaught.errors import UserError
from selftaught.tasks import check_seed, get_task
from selftaught.tasks import loader as loader_module
from tests.tasks.helpers import TASK_DATA, score

SORT = "def algorithm(numbers):\n    return sorted(numbers)\n"


def test_a_task_file_loads_from_a_path_and_scores(make_ctx, sandbox):
    task = get_task(str(TASK_DATA / "user_task.py"))
    assert task.name == "sorting" and task.arity == 1 and task.n_validation == 10
    check_seed(task, sandbox)
    assert score(make_ctx, task, SORT, "heldout").score == 1.0
    assert score(make_ctx, task, task.seed_solution).score < 0.2


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("bad_import.py", "fails to import"),
        ("bad_missing.py", "does not define seed_solution, score"),
        ("missing_file.py", "not found"),
    ],
)
def test_a_broken_task_file_is_one_clear_line(file, reason):
    with pytest.raises(UserError, match=reason) as info:
        get_task(str(TASK_DATA / file))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("file", "reason"),
    [("bad_seed.py", "seed solution fails on instance 0"), ("bad_score.py", "must be in")],
)
def test_a_seed_that_fails_its_own_scorer_is_refused(sandbox, file, reason):
    task = get_task(str(TASK_DATA / file))
    with pytest.raises(UserError, match=reason) as info:
        check_seed(task, sandbox)
    assert "\n" not in str(info.value)


class CountingSandbox:
    """The real sandbox, counting the programs it is asked to run."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.solves = 0

    def solve(self, *args, **kwargs):
        self.solves += 1
        return self.sandbox.solve(*args, **kwargs)


def test_built_in_tasks_skip_the_seed_check(sandbox):
    counting = CountingSandbox(sandbox)
    for name in ["lpn", "parity", "3sat", "maxcut", "qap", "grid"]:
        check_seed(get_task(name), counting)
    assert counting.solves == 0
    check_seed(get_task(str(TASK_DATA / "user_task.py")), counting)
    assert counting.solves == 1  # a user task's seed solution is run


def test_an_installed_entry_point_task_is_found_by_name(monkeypatch):
    ep = importlib.metadata.EntryPoint(
        name="sorting-ep", value="tests.data.tasks.user_task", group="selftaught.tasks"
    )
    monkeypatch.setattr(loader_module, "entry_point_tasks", lambda: {"sorting-ep": ep})
    monkeypatch.setattr("selftaught.tasks.registry.entry_point_tasks", lambda: {"sorting-ep": ep})
    task = get_task("sorting-ep")
    assert task.name == "sorting" and task.description.startswith("Sort")


def test_unknown_names_suggest_a_known_task():
    with pytest.raises(UserError, match="did you mean 'maxcut'"):
        get_task("maxcat")


def test_a_task_whose_make_instance_ignores_its_rng_is_refused():
    with pytest.raises(UserError, match="make_instance is not deterministic") as info:
        get_task(str(TASK_DATA / "bad_nondeterministic.py"))
    assert "\n" not in str(info.value)


def test_a_task_whose_make_instance_hangs_on_some_seed_is_refused_not_waited_for(monkeypatch):
    monkeypatch.setattr(loader_module, "MAKE_INSTANCES_SECONDS", 2.0)
    with pytest.raises(UserError, match=r"took over 2 s to make the task's 30 instances") as info:
        get_task(str(TASK_DATA / "bad_slow.py"))
    assert "\n" not in str(info.value)
