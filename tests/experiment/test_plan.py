"""A plan with mistakes is refused before anything is created or spent: one line each on
stderr, exit code 2."""

from pathlib import Path

import pytest

import selftaught
from selftaught.experiment import PlanError
from tests.experiment.helpers import plan_text, write_replies
from tests.experiment.helpers import selftaught as cli


def _write(tmp_path: Path, text: str) -> Path:
    write_replies(tmp_path)
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_every_problem_of_a_plan_is_one_line_and_nothing_is_created(tmp_path):
    models = (
        '[[models]]\nmodel = "nope:x"\n\n'
        '[[models]]\nmodel = "scripted:missing.json"\n\n'
        '[[models]]\nmodel = "echo"\nfoo = 1\n'
    )
    text = plan_text(extra='parts = ["stop", "transfer"]\nbogus = true', models=models)
    path = _write(tmp_path, text)
    result = cli("experiment", "run", str(path), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr  # the form first: unknown fields, both of them
    assert any("bogus: unknown field" in line for line in lines)
    assert any("models.2.foo: unknown field" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "experiments").exists()


def test_unreachable_models_unknown_tasks_and_bad_overrides_each_get_a_line(tmp_path):
    models = (
        '[[models]]\nmodel = "nope:x"\n\n'
        '[[models]]\nmodel = "scripted:missing.json"\n\n'
        '[[models]]\nmodel = "echo"\n'
    )
    text = plan_text(models=models).replace('tasks = ["lpn"]', 'tasks = ["lpm"]')
    path = _write(tmp_path, text)
    result = cli("experiment", "run", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "tasks.0: unknown task 'lpm'" in result.stderr
    # the task comes first; with it fixed, both unreachable models are named
    path.write_text(plan_text(models=models))
    result = cli("experiment", "run", str(path), cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 2, result.stderr
    assert "models.0 (x): unknown model backend 'nope'" in lines[0]
    assert "models.1 (missing):" in lines[1] and "not found" in lines[1]
    one = '[[models]]\nmodel = "echo"\n'
    for change, message in [
        ("runs = 2\nseed = 4", "overrides.seed: set by the plan itself (use the plan's own field)"),
        ("runs = 0", "overrides: runs: Input should be greater than or equal to 1"),
    ]:
        path.write_text(plan_text(models=one).replace("runs = 2", change))
        result = cli("experiment", "run", str(path), cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.strip().splitlines() == [
            f"selftaught: error: {path}: {message}"
        ], result.stderr
    assert not (tmp_path / "experiments").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ('name = "x"\n[[models]]\nmodel = "echo"\n', "seeds: missing (required)"),
        ("seeds = [1]\n", "models: missing (required)"),
        ('seeds = [1, 1]\n[[models]]\nmodel = "echo"\n', "seeds: 1 is listed twice"),
        (
            'seeds = [1]\n[[models]]\nmodel = "echo"\n[[models]]\nmodel = "echo"\n',
            "label 'echo' is used twice",
        ),
        ('seeds = [1]\nparts = ["stop", "dance"]\n[[models]]\nmodel = "echo"\n', "parts.1:"),
        ('seeds = [1]\n[[models]]\nmodel = "echo"\n[overrides]\nruns = "many"\n', "runs"),
        ("seeds = [", "not valid TOML"),
    ],
)
def test_a_plan_with_a_mistake_raises_a_plan_error_in_the_library(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(selftaught.UserError) as err:
        selftaught.experiment(path, output=tmp_path / "out")
    problems = err.value.problems if isinstance(err.value, PlanError) else [str(err.value)]
    assert any(message in p for p in problems), problems
    assert not (tmp_path / "out").exists()


def test_a_missing_plan_file_is_one_line(tmp_path):
    result = cli("experiment", "run", "nowhere.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "selftaught: error: plan file not found: nowhere.toml"
