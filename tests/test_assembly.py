"""The one place that builds a run: what it records, and how it closes on every exit."""

import json
import sqlite3

import pytest

from selftaught.assembly import assemble
from selftaught.config import load_config
from selftaught.errors import ConfigError


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
