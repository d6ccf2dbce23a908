"""`selftaught tasks`, `score`, `improve` and `transfer` as a user runs them."""

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_run import selftaught
from tests.tasks.helpers import MARKERS, TASK_DATA, good

REPO = Path(__file__).parent.parent.parent


def rules_file(tmp_path: Path) -> Path:
    """A scripted model that answers each task's prompt with its known-good solver."""
    rules = [
        {"when": marker, "reply": f"```python\n{good(task)}```"} for task, marker in MARKERS.items()
    ]
    rules.append({"when": "", "reply": "no code"})
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(rules))
    return path


def test_tasks_lists_every_task_with_a_description(tmp_path):
    out = selftaught("tasks", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for name in ["lpn", "parity", "3sat", "maxcut", "qap", "grid"]:
        assert any(line.startswith(name + " ") for line in lines)


def test_tasks_name_shows_utility_text_and_seed_and_seed_flag_prints_only_code(tmp_path):
    out = selftaught("tasks", "qap", cwd=tmp_path)
    assert out.returncode == 0 and "LOWER cost is better" in out.stdout
    assert "def algorithm(F, D, P)" in out.stdout
    seed = selftaught("tasks", "qap", "--seed", cwd=tmp_path)
    compile(seed.stdout, "seed.py", "exec")
    assert seed.stdout.startswith("import numpy")


def test_score_json_reports_score_split_and_instances(tmp_path):
    (tmp_path / "good.py").write_text(good("grid"))
    out = selftaught(
        "score", "good.py", "--task", "grid", "--split", "heldout", "--json", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["score"] == 1.0 and data["split"] == "heldout" and data["instances"] == 50
    text = selftaught("score", "good.py", "--task", "grid", cwd=tmp_path)
    assert "score 1.0000 on 20 instances" in text.stdout


def test_score_with_a_user_task_file(tmp_path):
    (tmp_path / "sort.py").write_text("def algorithm(numbers):\n    return sorted(numbers)\n")
    out = selftaught(
        "score", "sort.py", "--task", str(TASK_DATA / "user_task.py"), "--json", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["score"] == 1.0


@pytest.mark.parametrize(
    ("task_file", "message"),
    [
        ("bad_import.py", "fails to import"),
        ("bad_missing.py", "does not define"),
        ("bad_seed.py", "seed solution fails"),
        ("bad_score.py", "must be in [0, 1]"),
    ],
)
def test_bad_task_files_exit_2_with_one_line(tmp_path, task_file, message):
    (tmp_path / "s.py").write_text("def algorithm(x):\n    return x\n")
    out = selftaught("score", "s.py", "--task", str(TASK_DATA / task_file), cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_improve_writes_the_improved_solution_and_shows_a_diff(tmp_path):
    seed = selftaught("tasks", "maxcut", "--seed", cwd=tmp_path).stdout
    (tmp_path / "mine.py").write_text(seed)
    out = selftaught(
        "improve",
        "mine.py",
        "--task",
        "maxcut",
        "--improver",
        str(REPO / "tests/data/improvers/beam.py"),
        "--model",
        f"scripted:{rules_file(tmp_path)}",
        "-o",
        "better.py",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "before: 0.0000" in out.stdout and "after:  1.0000" in out.stdout
    assert "+++ better.py" in out.stdout
    assert (tmp_path / "better.py").read_text().strip() == good("maxcut").strip()
    (records,) = (tmp_path / "runs").glob("*-improve-maxcut/records.sqlite")
    with contextlib.closing(sqlite3.connect(records)) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
    containment = json.loads(meta["sandbox_containment"])
    assert containment["network"] and containment["privileges"]


def test_transfer_prints_and_stores_the_table(tmp_path):
    out = selftaught(
        "transfer",
        "--improver",
        "greedy",
        "--tasks",
        "grid,3sat",
        "--runs",
        "1",
        "--model",
        f"scripted:{rules_file(tmp_path)}",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "seed improver" in out.stdout and "greedy" in out.stdout
    (stored,) = (tmp_path / "runs").glob("*-transfer/transfer.json")
    table = json.loads(stored.read_text())
    assert [r["task"] for r in table["rows"]] == ["grid", "3sat"]
    assert table["rows"][1]["seed_solution"] == 0.0
    assert table["rows"][1]["improvers"]["greedy"]["mean"] == 1.0
    assert str(stored.relative_to(tmp_path)) in out.stderr


def test_unknown_improver_exits_2(tmp_path):
    out = selftaught("transfer", "--improver", "nope.py", "--tasks", "grid", cwd=tmp_path)
    assert out.returncode == 2 and "improver file not found" in out.stderr


@pytest.mark.parametrize(
    "program, reason",
    [("def algorithm(:\n", "syntax error"), ("def other():\n    pass\n", "does not define")],
)
def test_score_of_a_program_that_cannot_run_is_one_line_and_exit_2(tmp_path, program, reason):
    (tmp_path / "broken.py").write_text(program)
    result = selftaught("score", "broken.py", "--task", "qap", "--json", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "broken.py" in lines[0]
    assert result.stdout == ""
