"""User tasks from a file or an entry point: loaded, checked, and refused with one line."""

import importlib.metadata

import pytest

import selftaught
from selftaught.errors import UserError
from selftaught.tasks import check_seed, get_task, keys
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


def test_a_task_whose_make_instance_hangs_on_some_seed_is_refused_not_waited_for(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(loader_module, "MAKE_INSTANCES_SECONDS", 2.0)
    with pytest.raises(UserError, match=r"took over 2 s to make the task's 30 instances") as info:
        selftaught.run(tasks=[str(TASK_DATA / "bad_slow.py")], model="echo", output=str(tmp_path))
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # refused before a run directory was made


HANGS_UNDER_ONE_KEY = """import time

name = "hangs_under_one_key"
description = "Sort a list of numbers in ascending order."
n_validation = 5
n_heldout = 10
utility_text = "def utility(algorithm_str): ..."
seed_solution = "def algorithm(numbers):\\n    return sorted(numbers)\\n"


def make_instance(rng):
    numbers = rng.random(5).tolist()
    if numbers[0] == {first!r}:  # one held-out instance of one key only
        time.sleep(30)
    return (numbers,), sorted(numbers)


def score(output, answer):
    return float(output == answer)
"""


def test_user_task_instances_are_checked_under_the_key_the_run_uses_within_the_limit(
    monkeypatch, tmp_path
):
    """Loading a task makes no instance under any key; the run makes the instances of its
    own key, within the limit, before it starts (before: they were made under the per-user
    key when loaded, and the run's own were made mid-run with no limit)."""
    pinned = "the run's own key"
    rng = keys.pinned(pinned).rng("hangs_under_one_key", "heldout", 1_000_003)
    task_file = tmp_path / "hangs.py"
    task_file.write_text(HANGS_UNDER_ONE_KEY.format(first=rng.random(5).tolist()[0]))
    monkeypatch.setattr(loader_module, "MAKE_INSTANCES_SECONDS", 1.0)
    task = get_task(str(task_file))  # no hang: no instance is made when a task is loaded
    assert "_instances" not in task.__dict__
    with pytest.raises(UserError, match=r"took over 1 s to make the task's 15 instances"):
        selftaught.run(
            tasks=[str(task_file)],
            model="echo",
            instance_key=pinned,
            iterations=0,
            output=str(tmp_path / "runs"),
        )
    assert not (tmp_path / "runs").exists()


def test_loading_a_task_file_writes_no_instance_key(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    copy = tmp_path / "sorting_copy.py"
    copy.write_text((TASK_DATA / "user_task.py").read_text())
    get_task(str(copy))
    assert not keys.user_key_path().exists()
