"""Records are never printed raw: a run whose programs, model answers, prompts and events
hold terminal escape sequences (an OSC 52 clipboard write, a window title, CSI and C1
controls) and lone surrogates shows none of them in `run`, `show`, `runs`, `analyze` or
`report` output, nor in report.md (report.html escapes everything for HTML, under its
CSP)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.test_run import selftaught
from tests.conftest import data
from tests.stop.test_loop import BETTER_IMPROVER

CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNofHNo\x07"
TITLE = "\x1b]0;pwned\x1b\\"
CSI = "\x1b[2J\x1b[31m"
C1 = "\x9b2J\x9d0;c1 title\x9c"
ESCAPES = CLIPBOARD + TITLE + CSI + C1  # what a line of code may hold (a comment)
HOSTILE = ESCAPES + "\r\x08"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _hostile_improver() -> str:
    improver = BETTER_IMPROVER.replace(
        '    message = "BETTER-IMPROVER',
        f'    # {ESCAPES}\n    note = {HOSTILE!r}\n    message = "BETTER-IMPROVER {ESCAPES!r}',
    )
    return improver


def _hostile_solution() -> str:
    return data("lpn_bruteforce.py").rstrip("\n") + f"\n# {ESCAPES}\nMARK = {HOSTILE!r}\n"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("hostile")
    rules = [
        {"when": "meta_utility", "reply": f"{HOSTILE}\n```python\n{_hostile_improver()}```"},
        {"when": "BETTER-IMPROVER", "reply": f"```python\n{_hostile_solution()}```\n{HOSTILE}"},
        {"when": "", "reply": f"no code \ud800 {HOSTILE}"},
    ]
    (folder / "replies.json").write_text(json.dumps(rules))
    (folder / "run.toml").write_text(
        'name = "hostile"\nmodel = "scripted:replies.json"\niterations = 1\nruns = 2\n'
        # the paper's rule adopts the hostile improver whatever the draws: what is tested
        # here is how its text is printed, not whether two runs' paired scores adopt it
        'adoption = "paper"\n'
        "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
    )
    result = selftaught("run", "--config", "run.toml", cwd=folder, timeout=600)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (folder / "runs").iterdir()
    return folder, run_dir, result.stdout + result.stderr


def _clean(text: str) -> None:
    found = CONTROLS.findall(text)
    assert not found, f"control characters printed: {sorted(set(found))!r}"


def test_the_hostile_text_is_in_the_records(hostile_run):
    _, run_dir, _ = hostile_run
    adopted = (run_dir / "improvers" / "iter_001.py").read_text()
    assert CLIPBOARD in adopted  # the program is kept as it is; only what is shown is cleaned


def test_run_output_holds_no_control_characters(hostile_run):
    _clean(hostile_run[2])


@pytest.mark.parametrize(
    "args",
    [["show", "{run}"], ["show", "{run}", "1"], ["runs", "runs"], ["analyze", "{run}"]],
    ids=lambda a: " ".join(a[:2]),
)
def test_reading_commands_print_no_control_characters(hostile_run, args):
    folder, run_dir, _ = hostile_run
    result = selftaught(*[a.format(run=run_dir) for a in args], cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr
    _clean(result.stdout + result.stderr)
    if args[0] == "show":
        assert "BETTER-IMPROVER" in result.stdout  # the program is shown, without escapes


def test_report_markdown_holds_no_control_characters_and_html_escapes(hostile_run, tmp_path):
    folder, run_dir, _ = hostile_run
    result = selftaught("report", str(run_dir), "-o", str(tmp_path), cwd=folder, timeout=300)
    assert result.returncode == 0, result.stderr
    _clean(result.stdout + result.stderr)
    markdown = (tmp_path / "report.md").read_text()
    _clean(markdown)
    assert "BETTER-IMPROVER" in markdown
    html = (tmp_path / "report.html").read_text()  # escaped for HTML, under its CSP
    assert "Content-Security-Policy" in html and "BETTER-IMPROVER" in html


@pytest.mark.parametrize(
    "args",
    [["run", "--config", f"{CLIPBOARD}.toml"], ["show", f"/nonexistent{TITLE}"]],
    ids=["run --config", "show"],
)
def test_an_error_line_quoting_hostile_text_holds_no_control_characters(tmp_path, args):
    result = selftaught(*args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "selftaught: error:" in result.stderr
    _clean(result.stderr)


def test_progress_lines_hold_no_control_characters():
    import io

    from rich.console import Console

    from selftaught.progress import RichProgress

    buffer = io.StringIO()
    progress = RichProgress(Console(file=buffer, width=200))
    progress.note("warning", f"warning: [bold]{HOSTILE}[/bold] \ud800")
    progress.phase(1, f"scoring {HOSTILE}")
    printed = buffer.getvalue()
    _clean(printed)
    assert "[bold]" in printed  # shown as it is, never read as markup
