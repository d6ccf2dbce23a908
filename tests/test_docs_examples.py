"""The command examples of the README and docs/ keep working, and the library signatures
docs/api.md gives are the real ones.

Every `selftaught ...` line in a fenced block of README.md or docs/*.md is parsed by the
real command line (every flag exists, every value has its type), so a renamed or removed
flag fails here. Those that can run offline run, in a scratch folder, with the `echo`
model (a free dry run) where they name none or one that needs a server, key or cluster; the
rest (other models, Ray, the web view, whole experiments) are parsed only. A synopsis
(`[--json]`, `seed|greedy|PATH`) is read with every optional part given and the first of
each set of alternatives.
"""

from __future__ import annotations

import inspect
import re
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

import selftaught
from selftaught.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SHELLS = {"", "bash", "sh", "shell", "console"}
PLACEHOLDERS = {"ITER": "1"}
"""A placeholder that stands for a number, as the examples write it."""


@dataclass(frozen=True)
class Example:
    doc: str
    line: str
    """The command as written, continuation lines joined, from `selftaught` on."""

    @property
    def args(self) -> list[str]:
        """Its arguments as the shell would pass them: no comment, no redirection, a
        synopsis's optional parts given and the first of its alternatives."""
        text = re.sub(r"\[([^\[\]]*)\]", r"\1", self.line)
        words = shlex.split(text, comments=True)
        if ">" in words:
            words = words[: words.index(">")]
        words = [w.split("|")[0] if "|" in w else w for w in words[1:]]
        # `...` after an option is its value; anywhere else it means "and more like it"
        words = [w for i, w in enumerate(words) if w != "..." or words[i - 1].startswith("-")]
        return [PLACEHOLDERS.get(w, w) for w in words]

    @property
    def stdout_file(self) -> str | None:
        words = shlex.split(self.line, comments=True)
        return words[words.index(">") + 1] if ">" in words else None

    def __str__(self) -> str:
        return f"{self.doc}: {self.line}"


def examples() -> list[Example]:
    found = []
    for doc in DOCS:
        for fence in FENCE.finditer(doc.read_text()):
            if fence.group(1) not in SHELLS:
                continue
            body = re.sub(r"\\\n\s*", " ", fence.group(2))
            for line in body.splitlines():
                at = re.search(r"(?:^|&&\s*)(selftaught\s.*|selftaught$)", line.strip())
                if at:
                    found.append(Example(doc.relative_to(ROOT).as_posix(), at.group(1).strip()))
    return found


EXAMPLES = examples()


def parse(args: list[str]) -> typer.Context:
    """What the command line makes of `args`, without running the command: raises a
    `typer.TyperException` (a usage error) for an unknown command or flag or a bad value,
    as `selftaught` itself would before running anything."""
    command = typer.main.get_command(app)
    ctx = command.make_context("selftaught", list(args))
    while hasattr(command, "resolve_command"):  # a group: on to the command it names
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            break
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)
    return ctx


def test_the_docs_hold_command_examples_and_the_reader_finds_them():
    assert len(EXAMPLES) >= 30
    lines = {e.line for e in EXAMPLES}
    assert "selftaught run" in lines  # after `&&` in the README's quick start
    assert any(e.line.startswith("selftaught tasks qap --seed > mine.py") for e in EXAMPLES)
    synopsis = next(e for e in EXAMPLES if "seed|greedy|PATH" in e.line)
    assert synopsis.args == [
        *("improve", "mine.py", "--task", "qap", "--improver", "seed"),
        *("-o", "out.py", "--model", "..."),
    ]
    more = next(e for e in EXAMPLES if "[runs/RUN2 ...]" in e.line)
    assert more.args == ["report", "runs/RUN", "runs/RUN2"]


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_every_command_example_parses(example: Example):
    ctx = parse(example.args)
    assert ctx.command.callback is not None, f"{example} names no command"


def test_a_flag_that_does_not_exist_does_not_parse():
    with pytest.raises(typer.TyperException, match="--no-such-flag"):
        parse(["run", "--no-such-flag"])
    with pytest.raises(typer.BadParameter):
        parse(["run", "--runs", "many"])
    with pytest.raises(typer.TyperException, match="no-such-command"):
        parse(["no-such-command"])
    with pytest.raises(typer.TyperException, match="--nope"):
        parse(["experiment", "show", "somewhere", "--nope"])  # a command of a group


# -- running them ---------------------------------------------------------------------

OFFLINE_ONLY_PARSED = (
    (re.compile(r"--model (openai|anthropic):"), "needs a model server or key"),
    (re.compile(r"--executor ray"), "needs a Ray cluster"),
    (re.compile(r"^selftaught view\b"), "serves until stopped"),
    (re.compile(r"^selftaught experiment\b"), "runs the embedded model (docs/experiment.md)"),
    (re.compile(r"user_task\.py --improver"), "improves a seed of another task than mine.py"),
)
TAKES_MODEL = ("run", "improve", "transfer", "sandbox-experiment")


def runnable(example: Example) -> bool:
    return not any(p.search(example.line) for p, _ in OFFLINE_ONLY_PARSED)


def offline(args: list[str], run_dir: str) -> list[str]:
    """`args` as they run here: the echo model, and the run this test made for `RUN`."""
    out = []
    for word in args:
        word = re.sub(r"runs/(RUN2?|<run>)|RUN_DIR", run_dir, word)
        out.append({"M": "echo", "...": "echo", "TEXT": "docs-examples"}.get(word, word))
    if out[0] in TAKES_MODEL and "--model" not in out:
        out += ["--model", "echo"]
    if out[0] == "sandbox-experiment":
        out[out.index("--attempts") + 1] = "3"  # the example asks for 1000
    return out


def selftaught_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A folder holding one finished echo run (`runs/<dir>`) and the repository's test
    data, where the examples run."""
    folder = tmp_path_factory.mktemp("docs-examples")
    (folder / "tests").symlink_to(ROOT / "tests")
    (folder / "examples").symlink_to(ROOT / "examples")
    made = selftaught_cli(["run", "--model", "echo", "--iterations", "3"], folder)
    assert made.returncode == 0, made.stderr[-2000:]
    (run_dir,) = (folder / "runs").iterdir()
    yield folder, f"runs/{run_dir.name}"


@pytest.mark.slow
def test_every_command_example_that_can_run_offline_runs(scratch):
    folder, run_dir = scratch
    ran = []
    for example in EXAMPLES:  # in the docs' order: `tasks qap --seed > mine.py` comes first
        if not runnable(example):
            continue
        args = offline(example.args, run_dir)
        result = selftaught_cli(args, folder)
        assert result.returncode == 0, (
            f"{example}\n$ selftaught {shlex.join(args)}\n" + (result.stderr[-2000:])
        )
        if example.stdout_file:
            (folder / example.stdout_file).write_text(result.stdout)
        ran.append(args[0])
    assert {"run", "tasks", "score", "improve", "transfer", "report", "show", "export"} <= set(ran)
    assert {"runs", "analyze", "sandbox-experiment"} <= set(ran)


# -- docs/api.md ----------------------------------------------------------------------

API_HEADING = re.compile(r"^### `selftaught\.(\w+)\((.*)\)(?: -> \w+)?`$", re.M)


def documented_signatures() -> dict[str, str]:
    text = (ROOT / "docs" / "api.md").read_text()
    return {m.group(1): m.group(2) for m in API_HEADING.finditer(text)}


def real_signature(fn: object) -> str:
    """The signature as docs/api.md writes it: names, `/`, `*`, defaults, no annotations."""
    parts: list[str] = []
    params = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
    kinds = inspect.Parameter
    for i, p in enumerate(params):
        if p.kind is kinds.KEYWORD_ONLY and (i == 0 or params[i - 1].kind < kinds.VAR_POSITIONAL):
            parts.append("*")
        if p.kind is kinds.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is inspect.Parameter.empty:
            parts.append(p.name)
        else:
            default = f'"{p.default}"' if isinstance(p.default, str) else repr(p.default)
            parts.append(f"{p.name}={default}")
        if p.kind is kinds.POSITIONAL_ONLY and params[i + 1].kind is not kinds.POSITIONAL_ONLY:
            parts.append("/")
    return ", ".join(parts)


def test_the_signatures_in_the_api_docs_are_the_real_ones():
    documented = documented_signatures()
    assert {"improve", "run", "resume", "score", "transfer", "open_run", "task"} <= set(documented)
    for name, signature in documented.items():
        fn = getattr(selftaught, name)
        if isinstance(fn, types.ModuleType):  # a package that is also callable
            fn = getattr(fn, name)
        assert signature == real_signature(fn), name


def test_the_warnings_filters_the_design_names_are_the_ones_the_tests_have():
    design = (ROOT / "docs" / "design.md").read_text()
    paragraph = design[design.index("`pytest` runs with `filterwarnings = error`") :]
    named = set(re.findall(r"`(tests/[\w/]+\.py)`", paragraph.split("\n\n", 1)[0]))
    filtering = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*.py")
        if "filterwarnings(" in path.read_text() and path.name != Path(__file__).name
    }
    assert named == filtering
