"""`improve -o` writes only a usable program, and prints a bounded diff.

An improver that returns a program full of NUL bytes (or too long, or with no function)
makes `improve` say why in one line on stderr and exit non-zero, with nothing written;
a usable program with a huge diff is written whole, and the diff printed is bounded."""

from __future__ import annotations

import json

import pytest

from selftaught.cli.tasks import DIFF_CHARS, DIFF_LINES
from tests.cli.test_run import selftaught

SEED = "def algorithm(t, dist):\n    return t\n"

RETURNS = {
    "NUL bytes": 'initial_solution + "\\x00" * 100_000',
    "NUL bytes, 12 MB": 'initial_solution + "\\x00" * 12_000_000',
    "too long": 'initial_solution + "#" * 200_000',
    "no function": '"x = 1\\n"',
    "wrong arity": '"def algorithm(t):\\n    return t\\n"',
    "escape sequences in a syntax error": '"def algorithm(\\x1b]52;c;QUFB\\x07"',
}


def _improve(tmp_path, returned: str, *extra: str):
    (tmp_path / "seed.py").write_text(SEED)
    (tmp_path / "improver.py").write_text(
        f"def improve_algorithm(initial_solution, utility, language_model):\n"
        f"    return {returned}\n"
    )
    (tmp_path / "replies.json").write_text(json.dumps([]))
    return selftaught(
        "improve",
        "seed.py",
        "--task",
        "grid",
        "--improver",
        "improver.py",
        "--model",
        "scripted:replies.json",
        *extra,
        cwd=tmp_path,
        timeout=300,
    )


@pytest.mark.parametrize("name", list(RETURNS))
def test_improve_refuses_to_write_a_program_that_is_not_usable(tmp_path, name):
    result = _improve(tmp_path, RETURNS[name], "-o", "out.py")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("selftaught: error:") and "nothing written" in lines[-1]
    assert "out.py" in lines[-1] and "Traceback" not in result.stderr
    assert not any(c in lines[-1] for c in "\x00\x1b\x07")
    assert len(result.stdout) < 2_000  # no diff
    assert not (tmp_path / "out.py").exists()


def test_improve_writes_a_usable_program_whole_and_prints_a_bounded_diff(tmp_path):
    returned = '"def algorithm(t, dist):\\n" + "    x = 1\\n" * 9_000 + "    return t\\n"'
    result = _improve(tmp_path, returned, "-o", "out.py")
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "out.py").read_text()
    assert written.count("    x = 1\n") == 9_000
    diff = result.stdout[result.stdout.index("wrote out.py") :].splitlines()[1:]
    assert len(diff) <= DIFF_LINES + 1
    assert sum(len(line) for line in diff) <= DIFF_CHARS + 200
    assert diff[-1].startswith("... the diff goes on for") and "out.py" in diff[-1]
