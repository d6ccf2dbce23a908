"""A worker needs no task code: Landlock alone keeps it from reading task code, and the
audit hooks refuse its import, recording `answer_access`; an installed task's package is
hidden the same way."""

import os
import sys

import pytest

import selftaught
from selftaught.sandbox import Sandbox, hidden

READ = """
def algorithm(x):
    out = []
    for path in PATHS:
        try:
            with open(path, 'rb') as f:
                f.read(1)
            out.append('read')
        except OSError:
            out.append('refused')
    return out
"""

PACKAGE = os.path.dirname(selftaught.__file__)
TASK_CODE = [
    os.path.join(PACKAGE, "tasks", "sat.py"),
    os.path.join(PACKAGE, "tasks", "keys.py"),
    os.path.join(PACKAGE, "stop", "solutions.py"),
    os.path.join(PACKAGE, "config.py"),
    os.path.join(PACKAGE, "program", "analysis.py"),  # the rules that flag a program
    os.path.join(PACKAGE, "stats.py"),
]
NEEDED = [
    os.path.join(PACKAGE, "sandbox", "worker.py"),
    os.path.join(PACKAGE, "program", "extract.py"),
]


def _reads(sandbox: Sandbox, paths: list[str]) -> tuple[list[str], list[dict]]:
    src = f"PATHS = {paths!r}\n" + READ
    result = sandbox.solve(src, function="algorithm", instances=[(0,)], instance_timeout=5.0)
    assert result.outcome == "ok" and result.instances[0].outcome == "ok", result
    return result.instances[0].output, result.events


def test_landlock_alone_keeps_task_code_from_a_worker():
    with Sandbox(audit_hooks=False, spares=0) as sandbox:
        assert sandbox.containment["filesystem"].startswith("landlock")
        got, events = _reads(sandbox, TASK_CODE + NEEDED)
    assert got == ["refused"] * len(TASK_CODE) + ["read"] * len(NEEDED)
    assert events == []  # the kernel refuses; nothing in Python saw it


def test_importing_task_code_is_refused_and_recorded(sandbox):
    src = (
        "def algorithm(x):\n"
        "    try:\n"
        "        from selftaught.tasks import get_task\n"
        "    except ImportError as exc:\n"
        "        return 'refused: ' + str(exc)\n"
        "    return 'imported'\n"
    )
    result = sandbox.solve(src, function="algorithm", instances=[(0,)], instance_timeout=5.0)
    assert result.instances[0].output.startswith("refused")
    assert [e for e in result.events if e["kind"] == "answer_access"]


@pytest.fixture
def installed_task(tmp_path, monkeypatch):
    """A package that declares a task in entry point group `selftaught.tasks`."""
    package = tmp_path / "site" / "secret_task_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("ANSWERS = [1, 0, 1]\n")
    dist = tmp_path / "site" / "secret_task_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: secret-task-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[selftaught.tasks]\nsecret = secret_task_pkg:task\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return package


def test_an_installed_tasks_package_is_hidden_from_workers(installed_task):
    assert "secret_task_pkg" in hidden.installed_task_modules()
    assert str(installed_task) in hidden.hidden_paths()
    probe = (
        f"PATH = {str(installed_task / '__init__.py')!r}\n"
        "def algorithm(x):\n"
        "    out = []\n"
        "    try:\n"
        "        import secret_task_pkg\n"
        "        out.append('imported')\n"
        "    except ImportError:\n"
        "        out.append('refused')\n"
        "    try:\n"
        "        open(PATH).read()\n"
        "        out.append('read')\n"
        "    except OSError:\n"
        "        out.append('refused')\n"
        "    return out\n"
    )
    assert str(installed_task.parent) in sys.path
    with Sandbox(spares=0) as sandbox:  # started with the package on its path
        result = sandbox.solve(probe, function="algorithm", instances=[(0,)], instance_timeout=5.0)
    assert result.instances[0].output == ["refused", "refused"], result
    assert [e["kind"] for e in result.events].count("answer_access") == 2
