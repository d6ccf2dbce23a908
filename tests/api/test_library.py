"""The library as a user calls it: `import selftaught`, then improve, score, run, resume,
open_run, tasks from functions, typed results and one-line errors."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import selftaught
from selftaught.errors import ConfigError, ProgramError, RunDirError, TaskError, UserError
from tests.conftest import data
from tests.stop.test_loop import BETTER_IMPROVER

REPO = Path(__file__).parent.parent.parent
SORTED = "def sort_list(xs):\n    return sorted(xs)\n"


def sort_list(xs):
    """Return xs sorted in ascending order."""
    return list(xs)


def make_instance(rng):
    """Ten random integers."""
    xs = [int(x) for x in rng.integers(0, 100, size=10)]
    return (xs,), sorted(xs)


def positions_right(output, answer):
    """The share of positions that hold the right value."""
    if not isinstance(output, list) or len(output) != len(answer):
        return 0.0
    return sum(a == b for a, b in zip(output, answer, strict=True)) / len(answer)


def sort_task(name="sort-list"):
    return selftaught.task(
        name=name,
        seed_solution=sort_list,
        make_instance=make_instance,
        score=positions_right,
        n_validation=5,
        n_heldout=5,
    )


def replies(tmp_path: Path, rules: list) -> str:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(rules))
    return f"scripted:{path}"


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_import_selftaught_is_light():
    out = python(
        "import sys, selftaught\n"
        "heavy = ['numpy', 'rich', 'typer', 'pydantic', 'selftaught.sandbox', 'selftaught.lm']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_help_shows_the_documented_signature():
    out = python("import selftaught; help(selftaught.improve)")
    assert out.returncode == 0, out.stderr
    assert "improve(program" in out.stdout and "improver: 'str' = 'seed'" in out.stdout
    assert "ImproveResult" in out.stdout


def test_every_public_name_resolves_and_is_in_docs_api():
    doc = (REPO / "docs" / "api.md").read_text()
    for name in selftaught.__all__:
        assert getattr(selftaught, name) is not None
        assert re.search(rf"`(selftaught\.)?{name}\b", doc), name


def test_a_task_from_functions_writes_its_utility_text_from_docstrings():
    task = sort_task()
    assert task.function == "sort_list" and task.arity == 1
    text = task.utility_text
    assert "sort_list(xs)" in text and "Return xs sorted in ascending order." in text
    assert "make_instance(rng)" in text and "Ten random integers." in text
    assert "positions_right(output, answer)" in text and "share of positions" in text


def test_improve_a_function_returns_scores_usage_candidates_and_the_run(tmp_path):
    model = replies(tmp_path, [{"when": "", "reply": f"```python\n{SORTED}```"}])
    result = selftaught.improve(sort_list, sort_task(), model=model, output=tmp_path / "runs")
    assert isinstance(result, selftaught.ImproveResult)
    assert result.outcome == "ok" and result.improved
    assert result.validation == 1.0 and result.heldout == 1.0
    assert result.input_validation < 1.0 and result.input_heldout is not None
    assert result.program.strip() == SORTED.strip()
    assert result.usage.calls == 1 and result.usage.samples >= 1
    assert any(c.score == 1.0 for c in result.candidates)
    assert result.run_dir.is_dir() and result.run_dir.parent == tmp_path / "runs"
    assert "validation" in repr(result) and "<table>" in result._repr_html_()
    recorded = selftaught.open_run(result.run_dir)
    assert recorded.status == "finished" and len(recorded.calls()) == 1


def test_score_takes_source_text_a_path_or_a_function(tmp_path):
    task = sort_task()
    (tmp_path / "mine.py").write_text(SORTED)
    for program in (SORTED, tmp_path / "mine.py", str(tmp_path / "mine.py"), sort_list):
        result = selftaught.score(program, task)
        assert isinstance(result, selftaught.ScoreResult) and result.instances == 5
    assert selftaught.score(SORTED, task, split="heldout").score == 1.0
    assert selftaught.score(sort_list, task).score < 1.0
    assert "score" in repr(result)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: selftaught.score(SORTED, "lpm"), TaskError, "unknown task 'lpm'"),
        (lambda: selftaught.score("def f(:\n  pass\n", "lpn"), ProgramError, "syntax error"),
        (lambda: selftaught.score("missing.py", "lpn"), UserError, "file not found"),
        (lambda: selftaught.score(SORTED, "lpn", split="test"), UserError, "unknown split"),
        (lambda: selftaught.improve(SORTED, "lpn", model="nope:x"), ConfigError, "backend"),
        (lambda: selftaught.improve(SORTED, "lpn", improver="x.py"), ProgramError, "not found"),
        (lambda: selftaught.run(iterations=-1), ConfigError, "iterations"),
        (lambda: selftaught.run(itertions=1), ConfigError, "itertions"),
        (lambda: selftaught.run(preset="fast"), ConfigError, "unknown preset"),
        (lambda: selftaught.resume("no/such/run"), RunDirError, "not a directory"),
        (lambda: selftaught.open_run("."), RunDirError, "not a run directory"),
        (
            lambda: selftaught.task(name="t", seed_solution="x", make_instance=len),
            TaskError,
            "needs score",
        ),
    ],
)
def test_bad_input_is_a_one_line_user_error(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, selftaught.UserError)
    assert "\n" not in str(info.value)


def test_an_unusable_output_folder_is_a_user_error(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(UserError, match="cannot create a run directory"):
        selftaught.improve(SORTED, sort_task(), model="echo", output=tmp_path / "afile")


class Seen(selftaught.Progress):
    def __init__(self):
        self.phases, self.notes, self.ended = [], [], None

    def phase(self, iteration, text):
        self.phases.append((iteration, text))

    def note(self, kind, line):
        self.notes.append(kind)

    def finished(self, result):
        self.ended = result


def test_run_records_rows_improvers_and_reads_back_and_resume_sees_it_finished(tmp_path):
    model = replies(
        tmp_path,
        [
            {"when": "meta_utility", "reply": f"```python\n{BETTER_IMPROVER}```"},
            {"when": "BETTER-IMPROVER", "reply": f"```python\n{data('lpn_bruteforce.py')}```"},
            {"when": "", "reply": "no code"},
        ],
    )
    seen = Seen()
    result = selftaught.run(
        model=model,
        iterations=1,
        # paired adoption weighs the runs' differences on fresh draws of this run's own
        # key: with 4 runs the better improver is adopted whether its gains differ (the
        # interval) or happen to be equal (the sign test); with 2 equal ones it is not
        runs=4,
        lm_calls=1,
        samples_per_call=1,
        output=str(tmp_path / "runs"),
        progress=seen,
    )
    assert isinstance(result, selftaught.RunResult) and result.status == "finished"
    assert [r["iteration"] for r in result.rows] == [0, 1] and result.adopted == [0, 1]
    assert result.improver.strip() == BETTER_IMPROVER.strip()
    assert seen.ended is result and seen.phases and "run_dir" in seen.notes
    assert (result.run_dir / "report.html").is_file()
    recorded = selftaught.open_run(result.run_dir)
    assert [r["validation"] for r in recorded.rows] == [r["validation"] for r in result.rows]
    assert recorded.improvers == result.improvers and recorded.evaluations()
    assert recorded.usage.calls == result.usage.calls > 0
    again = selftaught.resume(result.run_dir)
    assert again.status == "finished" and len(again.rows) == 2
    assert "held-out" in repr(result) and "<table>" in result._repr_html_()
    # the adoption decision shows with its paired difference and interval, as in the CLI
    assert "paired Δ" in repr(result) and "∞)" in repr(result)


def test_transfer_takes_one_improver_as_a_string(tmp_path):
    task = sort_task("sort-transfer")
    result = selftaught.transfer("greedy", [task], runs=1, model="echo", output=tmp_path / "runs")
    assert isinstance(result, selftaught.TransferResult)
    assert result.improvers == ["seed", "greedy"] and result.rows[0].task == "sort-transfer"
    assert (result.run_dir / "transfer.json").is_file() and "greedy" in repr(result)


def test_run_accepts_a_task_object(tmp_path):
    task = sort_task("sort-run")
    result = selftaught.run(
        model="echo", tasks=[task], iterations=0, runs=1, output=str(tmp_path / "runs")
    )
    assert result.status == "finished" and result.rows[0]["validation"] < 1.0
    assert selftaught.open_run(result.run_dir).config["tasks"] == ["sort-run"]
