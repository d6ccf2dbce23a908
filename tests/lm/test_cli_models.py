"""The command line's side of model backends: `selftaught models`, flags, bad input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.fake_api import FakeAPI
from tests.servers.llama import free_port


def selftaught(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("OPENAI_API_KEY", None)
    full_env.pop("OPENAI_BASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=full_env,
    )  # fmt: skip


def test_models_lists_backends_and_whether_each_is_usable(tmp_path):
    out = selftaught("models", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for backend in ["local", "openai", "anthropic", "replay", "echo", "scripted"]:
        assert backend in out.stdout
    assert "default: local:smollm2" in out.stdout
    assert "OPENAI_API_KEY not set" in out.stdout
    assert "at once" in out.stdout  # requests each backend takes at once
    assert "free" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "openai:gpt-4o"], "OPENAI_API_KEY is not set"),
        (["--model", "antropic:claude"], "did you mean 'anthropic'"),
        (["--model", "openai:m", "--base-url", "http://127.0.0.1:{port}/v1"], "cannot reach"),
        (["--model", "replay:nowhere"], "no recorded run at nowhere"),
    ],
)
def test_bad_model_settings_are_one_line_and_exit_2(tmp_path, args, message):
    args = [a.replace("{port}", str(free_port())) for a in args]
    out = selftaught("run", *args, "--output", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # before any work


def test_a_run_against_a_server_records_cost_and_its_cache(tmp_path):
    with FakeAPI(models=("gpt-4o-mini",)) as api:
        out = selftaught(
            "run", "--model", "openai:gpt-4o-mini", "--base-url", api.url,
            "--iterations", "1", "--runs", "1", "--output", str(tmp_path), "--name", "srv",
            cwd=tmp_path,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "cost" in out.stdout and "$0.0" in out.stdout
    run_dir = next(tmp_path.glob("*-srv"))
    assert (run_dir / "cache.sqlite").is_file()
    db = sqlite3.connect(run_dir / "records.sqlite")
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.close()
    usage = json.loads(meta["usage"])
    assert usage["calls"] > 0 and float(usage["cost"]) > 0
    assert json.loads(meta["status"]) == "finished"


def test_a_money_cap_stops_the_run_cleanly(tmp_path):
    with FakeAPI(models=("gpt-4o",)) as api:
        out = selftaught(
            "run", "--model", "openai:gpt-4o", "--base-url", api.url, "--iterations", "2",
            "--runs", "2", "--max-run-cost", "0.00001", "--output", str(tmp_path),
            "--name", "cap", cwd=tmp_path,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "money cap is reached" in out.stderr
    db = sqlite3.connect(next(tmp_path.glob("*-cap")) / "records.sqlite")
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.close()
    assert json.loads(meta["status"]) == "stopped"
