"""Every kind of run directory the tool writes reads back through `runs`, `show` and
`report` (a transfer directory used to be listed as "schema version None")."""

import json
from pathlib import Path

import pytest

from tests.cli.test_run import selftaught

REPO = Path(__file__).parent.parent.parent


def _scripted(tmp_path: Path) -> str:
    path = tmp_path / "replies.json"
    path.write_text(
        json.dumps([{"when": "", "reply": "```python\ndef algorithm(t, dist):\n    return t\n```"}])
    )
    return f"scripted:{path}"


def _make(kind: str, tmp_path: Path) -> None:
    model = _scripted(tmp_path)
    if kind == "run":
        args = ["run", "--model", "echo", "--iterations", "0", "--runs", "1"]
    elif kind == "improve":
        (tmp_path / "mine.py").write_text(
            selftaught("tasks", "grid", "--seed", cwd=tmp_path).stdout
        )
        args = ["improve", "mine.py", "--task", "grid", "--model", model]
    elif kind == "transfer":
        args = [
            "transfer",
            "--improver",
            "greedy",
            "--tasks",
            "grid",
            "--runs",
            "1",
            "--model",
            model,
        ]
    else:
        args = ["sandbox-experiment", "--model", model, "--attempts", "1"]
    out = selftaught(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("kind", ["run", "improve", "transfer", "sandbox-experiment"])
def test_each_kind_of_run_directory_reads_back(kind, tmp_path):
    _make(kind, tmp_path)
    (run_dir,) = (tmp_path / "runs").iterdir()
    listed = selftaught("runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert run_dir.name[:15] in listed.stdout and "unreadable" not in listed.stdout
    assert "schema version" not in listed.stdout + listed.stderr
    shown = selftaught("show", str(run_dir), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    report = selftaught("report", str(run_dir), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (run_dir / "report.html").is_file() or any(tmp_path.rglob("report.html"))
