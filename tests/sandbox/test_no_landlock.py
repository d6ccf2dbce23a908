"""Workers without Landlock (`confine=False`): what the audit hooks refuse on their own,
and that with the hooks off as well nothing refuses a read (docs/security.md)."""

import os

import pytest

import selftaught
from selftaught.sandbox import Sandbox
from selftaught.store import RunDir
from selftaught.tasks import get_task
from tests.conftest import DATA

PROBE = """
import os

def algorithm(x):
    out = []
    for path in PATHS:
        try:
            with open(path, 'rb') as f:
                f.read(1)
            out.append([path, 'read'])
        except OSError:
            out.append([path, 'refused'])
    try:
        import selftaught.tasks.sat
        out.append(['import selftaught.tasks.sat', 'read'])
    except ImportError:
        out.append(['import selftaught.tasks.sat', 'refused'])
    return out
"""

TASK_CODE = os.path.join(os.path.dirname(selftaught.__file__), "tasks", "sat.py")
TASK_FILE = str(DATA / "tasks" / "coins.py")
STDLIB = os.__file__


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    get_task(TASK_FILE)  # loaded before the sandbox starts, as the CLI does
    run_dir = RunDir.create(tmp_path_factory.mktemp("runs"), "probe")
    (run_dir.path / "records.sqlite").write_bytes(b"answers")
    return {
        "task code": TASK_CODE,
        "task file": TASK_FILE,
        "run records": str(run_dir.path / "records.sqlite"),
        "proc": "/proc/1/status",
        "stdlib": STDLIB,
    }


def _probe(sandbox: Sandbox, paths: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    src = f"PATHS = {list(paths.values())!r}\n" + PROBE
    result = sandbox.solve(src, function="algorithm", instances=[(0,)], instance_timeout=5.0)
    assert result.outcome == "ok" and result.instances[0].outcome == "ok", result
    by_path = dict(result.instances[0].output)
    names = {v: k for k, v in paths.items()}
    got = {names.get(p, p): outcome for p, outcome in by_path.items()}
    return got, [e["kind"] for e in result.events]


def test_without_landlock_the_audit_hooks_refuse_reads_outside_the_roots(paths):
    with Sandbox(confine=False, spares=0) as sandbox:
        assert sandbox.containment["filesystem"] == "audit-hooks"
        got, events = _probe(sandbox, paths)
    assert got == {
        "task code": "refused",
        "task file": "refused",
        "run records": "refused",
        "proc": "refused",
        "stdlib": "read",
        "import selftaught.tasks.sat": "refused",
    }
    assert events.count("answer_access") == 3  # task code, task file, the import
    assert "read_outside_roots" in events and "proc_read" in events


def test_without_landlock_and_without_audit_hooks_nothing_refuses_a_read(paths):
    with Sandbox(confine=False, audit_hooks=False, spares=0) as sandbox:
        got, events = _probe(sandbox, paths)
    assert got["task code"] == "read" and got["import selftaught.tasks.sat"] == "read"
    assert got["stdlib"] == "read"
    assert events == []
