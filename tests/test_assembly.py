"""The one place that builds a run: what it records, and how it closes on every exit."""

import json
import sqlite3

import pytest

import selftaught
from selftaught.assembly import assemble, sandbox_spec
from selftaught.config import load_config
from selftaught.errors import ConfigError, UserError
from selftaught.lm import ScriptedBackend
from selftaught.sandbox import Sandbox
from selftaught.tasks import loader
from tests.conftest import DATA


def _meta(path):
    db = sqlite3.connect(f"file:{path / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
    finally:
        db.close()


def cfg(tmp_path, **overrides):
    return load_config(overrides={"model": "echo", "output": str(tmp_path / "runs"), **overrides})


def test_a_recorded_run_gets_a_header_config_and_status(tmp_path):
    notes = []
    with assemble(
        cfg(tmp_path), record="x", kind="improve", note=lambda k, s: notes.append(k)
    ) as asm:
        assert asm.context.sandbox is not None and asm.context.backend.name
        assert _meta(asm.path)["status"] == "running"
        path = asm.path
    meta = _meta(path)
    assert meta["status"] == "finished" and meta["kind"] == "improve"
    assert meta["schema_version"] >= 1 and meta["config"]["model"] == "echo"
    assert (path / "config.toml").is_file() and "usage" in meta
    assert notes[:2] == ["run_dir", "model"]


@pytest.mark.parametrize(
    ("exc", "status"), [(KeyboardInterrupt, "stopped"), (ValueError, "failed")]
)
def test_leaving_by_an_exception_records_how_the_run_ended(tmp_path, exc, status):
    with pytest.raises(exc), assemble(cfg(tmp_path), record="x") as asm:
        path = asm.path
        raise exc()
    assert _meta(path)["status"] == status


def test_a_chosen_status_is_recorded(tmp_path):
    with assemble(cfg(tmp_path), record="x") as asm:
        asm.status = "failed"
    assert _meta(asm.path)["status"] == "failed"


def test_without_record_nothing_is_kept(tmp_path):
    with assemble(cfg(tmp_path), uses_model=False) as asm:
        path = asm.path
        assert path.is_dir()
    assert not path.exists() and not (tmp_path / "runs").exists()


def test_a_bad_model_fails_before_anything_is_created(tmp_path):
    with pytest.raises(ConfigError, match="unknown model backend"):
        with assemble(cfg(tmp_path, model="nope:x"), record="x"):
            pass
    assert not (tmp_path / "runs").exists()


def test_a_tests_context_runs_with_a_real_runs_limits(make_ctx):
    """Contexts in tests come from `assemble` too: before, the shared test sandbox gave
    improvers 300 CPU seconds where a run of the same config gives them 45."""
    ctx = make_ctx(ScriptedBackend([]))
    assert ctx.config.improver_cpu_seconds == 45
    assert ctx.sandbox.improver_limits.cpu_seconds == 45
    assert ctx.sandbox.spec == sandbox_spec(ctx.config)


def test_a_run_with_a_user_task_starts_one_sandbox_and_checks_the_task_in_it(tmp_path, monkeypatch):
    started = []
    original = Sandbox.__init__

    def counting(self, *args, **kwargs):
        started.append(args[0] if args else kwargs.get("spec"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(Sandbox, "__init__", counting)
    checked = []

    def check_seed(task, sandbox, key=None):
        checked.append((sandbox, key))
        loader.check_seed(task, sandbox, key)

    monkeypatch.setattr(selftaught.tasks, "check_seed", check_seed)
    result = selftaught.run(
        tasks=[str(DATA / "tasks" / "user_task.py")],
        model="echo",
        iterations=0,
        runs=1,
        budgets={"lm_calls": 1, "samples_per_call": 1, "utility_calls": 1},
        output=str(tmp_path / "runs"),
    )
    assert result.status == "finished"
    assert len(started) == 1  # before: a second sandbox, with default limits, for the check
    ((sandbox, key),) = checked
    assert sandbox.spec == started[0] and key is not None and key.source == "run"


def test_resuming_locks_the_run_inside_the_builder(tmp_path):
    """A live run of a directory makes `resume` refuse before anything is changed."""
    with assemble(cfg(tmp_path), record="x", uses_sandbox=False) as asm:
        path = asm.path
        with pytest.raises(UserError, match="is in use by"):
            selftaught.resume(path)
