"""A worker needs no task code: Landlock alone keeps it from reading task code, and the
audit hooks refuse its import, recording `answer_access`; an installed task's package is
hidden the same way. Nor may it read any run's key or records, the replayed run's, or the
per-user key, even where they lie beneath what workers may read."""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import selftaught
from selftaught.assembly import assemble, hidden_for
from selftaught.config import RunConfig, load_config
from selftaught.lm import ScriptedBackend
from selftaught.sandbox import Sandbox, SandboxSpec, hidden
from selftaught.sandbox.limits import may_read, read_roots
from selftaught.tasks import get_task, keys

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


# -- other runs' keys and records (assembly.hidden_for, SandboxSpec.hidden) -------------

SECRET_TASK = Path(__file__).parent.parent / "data" / "tasks" / "secret_number.py"

KEY_THIEF = r'''import hashlib
import hmac
import json

import numpy as np

def algorithm(hint):
    """Every key file it can read, tried on every public held-out seed."""
    for path in KEYS:
        try:
            with open(path, "rb") as f:
                secret = bytes.fromhex(json.loads(f.read())["key"])
        except (OSError, ValueError, KeyError):
            continue
        for seed in range(1_000_000, 1_000_020):
            message = f"secret_number\0heldout\0{seed}".encode()
            digest = hmac.new(secret, message, hashlib.sha256).digest()
            rng = np.random.default_rng(int.from_bytes(digest, "big"))
            if int(rng.integers(1_000_000_000)) == hint:
                return int(rng.integers(1_000_000_000))
    return -1
'''

MODES = {
    "landlock and audit hooks": {},
    "audit hooks without landlock": {"confine": False},
    "landlock alone": {"audit_hooks": False},
}


@pytest.fixture
def readable(monkeypatch) -> Iterator[Path]:
    """A folder beneath what every worker may read (the folder that holds the selftaught
    package: a project under a system folder workers may read, the usual container
    layout), holding this user's data folder (the per-user key) for the test."""
    top = Path(tempfile.mkdtemp(prefix="selftaught-test-runs-", dir=os.path.dirname(PACKAGE)))
    try:
        top.chmod(0o755)
        assert may_read(str(top), read_roots()[0], [])
        monkeypatch.setenv("XDG_DATA_HOME", str(top / "data"))
        keys.user_key()  # created where a worker could read it, but for the hiding
        yield top
    finally:
        shutil.rmtree(top)


def _run_config(output: Path, **overrides: object) -> RunConfig:
    # workers keep uid 0 (no drop to nobody), so file modes alone do not stop them
    settings = {"drop_privileges": False}
    return load_config(
        overrides={"model": "echo", "output": str(output), "sandbox": settings, **overrides}
    )


def _heldout_score(sandbox: Sandbox, task, key: keys.InstanceKey, keys_to_try: list[Path]):
    instances = task.instances("heldout", key)
    src = f"KEYS = {[str(p) for p in keys_to_try]!r}\n" + KEY_THIEF
    result = sandbox.solve(
        src, function="algorithm", instances=[i.inputs for i in instances], instance_timeout=5.0
    )
    assert result.outcome == "ok", result
    scores = [
        task.score(r.output, i.answer) for r, i in zip(result.instances, instances, strict=True)
    ]
    return sum(scores) / len(scores), [e["kind"] for e in result.events]


@pytest.mark.parametrize("mode", MODES)
def test_no_worker_reads_another_runs_key_or_records_the_replayed_run_or_the_user_key(
    readable, mode, monkeypatch
):
    """An earlier run in the same runs folder with the same (pinned) key, the run a
    `replay:` model replays (its key is the new run's), and the per-user key: all beneath
    what workers may read, and all hidden from the new run's workers. A thief that finds
    any of these keys regenerates every held-out answer (1.000 before they were hidden)."""
    pinned = {"instance_key": "a key pinned for a shared benchmark"}
    with assemble(_run_config(readable / "runs", **pinned), record="earlier", uses_sandbox=False):
        pass
    with assemble(_run_config(readable / "elsewhere"), record="replayed", uses_sandbox=False):
        pass
    (earlier,) = (readable / "runs").iterdir()
    (replayed,) = (readable / "elsewhere").iterdir()
    monkeypatch.setattr(hidden, "_registered", {})  # made by earlier processes, as they are
    get_task(str(SECRET_TASK))  # loaded before any sandbox starts, as a run loads it
    user_key = keys.user_key_path()
    paths = [
        earlier / keys.KEY_FILE,
        earlier / "records.sqlite",
        replayed / keys.KEY_FILE,
        user_key,
    ]
    cfg = _run_config(readable / "runs", model=f"replay:{replayed}", tasks=[str(SECRET_TASK)])
    with assemble(cfg, record="now", backend=ScriptedBackend([])) as asm:
        assert asm.context.instance_key.source == "replay"
        assert asm.spec is not None and asm.context.sandbox.privileges != "nobody"
        paths.append(asm.path / keys.KEY_FILE)
        key = asm.context.instance_key
        thieves = {
            "its own run's key": (key, asm.path / keys.KEY_FILE),
            "the replayed run's key": (key, replayed / keys.KEY_FILE),
            "an earlier run's pinned key": (keys.pinned(pinned["instance_key"]), paths[0]),
            "the user key": (keys.user_key(), user_key),
        }
        task = get_task(str(SECRET_TASK))
        with Sandbox(asm.spec, spares=0, **MODES[mode]) as sandbox:
            got, events = _reads(sandbox, [str(p) for p in paths])
            scores = {
                what: _heldout_score(sandbox, task, k, [found])
                for what, (k, found) in thieves.items()
            }
    assert got == ["refused"] * len(paths)
    for what, (score, _) in scores.items():
        assert score == 0.0, f"a thief that read {what} scored {score:.3f} held-out"
    if MODES[mode].get("audit_hooks", True):
        kinds = [e["kind"] for e in events]
        assert kinds.count("answer_access") == len(paths), events
        assert all(kinds.count("answer_access") >= 1 for _, kinds in scores.values())
    else:
        assert events == []  # the kernel refuses; nothing in Python saw it


@pytest.mark.parametrize("mode", MODES)
def test_a_runs_folder_made_after_the_sandbox_started_is_hidden_too(readable, mode):
    later = readable / "made-later"
    spec = SandboxSpec(drop_privileges=False, hidden=(str(later),))
    with Sandbox(spec, spares=0, **MODES[mode]) as sandbox:
        run = later / "20260101-000000-run"
        run.mkdir(parents=True)
        keys.write_key(run / keys.KEY_FILE, keys.fresh())
        got, events = _reads(sandbox, [str(run / keys.KEY_FILE), str(later)])
    assert got == ["refused", "refused"]
    if MODES[mode].get("audit_hooks", True):
        assert [e["kind"] for e in events].count("answer_access") == 2, events


def test_a_runs_hidden_paths_are_its_runs_folder_run_directory_replays_and_the_user_key(
    tmp_path,
):
    with assemble(_run_config(tmp_path / "a"), record="first", uses_sandbox=False) as asm:
        first = asm.path
    second = tmp_path / "b" / "run"
    cfg = _run_config(tmp_path / "runs", model=f"replay:{first}")
    hidden_paths = hidden_for(cfg, second)
    expected = {tmp_path / "runs", second, first, keys.user_key_path().parent}
    assert {Path(p) for p in hidden_paths} >= {p.resolve() for p in expected}
    # a run directory inside its runs folder is hidden with the folder: one entry
    inside = hidden_for(cfg, tmp_path / "runs" / "x")
    assert str((tmp_path / "runs" / "x").resolve()) not in inside
    assert str((tmp_path / "runs").resolve()) in inside


def test_a_hidden_folder_that_holds_the_workers_own_code_keeps_that_code_readable(tmp_path):
    project = os.path.dirname(os.path.dirname(PACKAGE))  # holds the package's folder
    hide = hidden.hidden_paths([project])
    assert not any(PACKAGE == p or PACKAGE.startswith(p + "/") for p in hide)
    with Sandbox(SandboxSpec(hidden=(project,)), spares=0) as sandbox:
        got, _ = _reads(sandbox, NEEDED)
    assert got == ["read"] * len(NEEDED)
