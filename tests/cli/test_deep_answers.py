"""A model answer holding a deeply nested expression (`algorithm = 1+1+...+1`, thousands
of terms) or a program full of NULs cannot end a run: such answers are unusable with a
reason, and the run finishes (it used to end in `internal error: RecursionError`)."""

from __future__ import annotations

import json
import sqlite3

from tests.cli.test_run import selftaught

ANSWERS = [
    "```python\nalgorithm = " + "+".join(["1"] * 2_000) + "\n```",
    "```python\ndef algorithm(a, b, c):\n    return " + "+".join(["1"] * 5_000) + "\n```",
    "```python\ndef algorithm(a, b, c):\n    return " + "-" * 20_000 + "1\n```",
    "```python\ndef algorithm(a, b, c):\n    return [0]\n" + "\x00" * 5_000 + "\n```",
]


def test_a_run_whose_model_answers_nest_thousands_deep_finishes(tmp_path):
    (tmp_path / "replies.json").write_text(json.dumps(ANSWERS * 10))
    result = selftaught(
        "run",
        "--model",
        "scripted:replies.json",
        "--iterations",
        "0",
        "--runs",
        "2",
        "--samples-per-call",
        "2",
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    db = sqlite3.connect(run_dir / "records.sqlite")
    reasons = [
        json.loads(r[0] or "{}") for r in db.execute("SELECT unusable_reasons FROM model_calls")
    ]
    status = json.loads(db.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()[0])
    db.close()
    assert status == "finished"
    # the three deep answers are unusable with a reason; the NUL one is repaired (its
    # complete lines before the NULs are a program)
    assert sum(sum(r.values()) for r in reasons) >= 3
    assert {name for r in reasons for name in r} <= {"syntax", "too_long"}
