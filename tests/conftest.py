"""Shared fixtures: one real fork-server sandbox per session, run contexts on tmp dirs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from selftaught.config import load_config
from selftaught.lm.base import Backend
from selftaught.sandbox import Sandbox
from selftaught.stop import RunContext
from selftaught.store import RunDir
from selftaught.tasks import keys

DATA = Path(__file__).parent / "data"

# The per-user instance key of one-off commands lives here during tests, never in the
# home directory of whoever runs them (CLI subprocesses inherit it). It is the same key in
# every session, so scores asserted by tests do not change from one session to the next;
# under it the slowest 3-SAT instance takes the known-good WalkSAT 0.4 s of its 1 s limit
# (a key whose hardest instance took 0.9 s failed the solver tests on a loaded machine).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="selftaught-tests-data-")
keys.user_key_path().parent.mkdir(mode=0o700)
keys.write_key(keys.user_key_path(), keys.InstanceKey(b"selftaught tests 3", "user"))


def data(name: str) -> str:
    return (DATA / name).read_text()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def make_ctx(tmp_path: Path, sandbox: Sandbox) -> Iterator[Callable[..., RunContext]]:
    stores = []

    def make(backend: Backend, **overrides: object) -> RunContext:
        cfg = load_config(overrides={"model": "scripted:unused", **overrides})
        run_dir = RunDir.create(tmp_path / "runs", "test")
        store = run_dir.open_store()
        stores.append(store)
        ctx = RunContext(cfg, backend, sandbox, store)
        ctx.run_dir = run_dir  # type: ignore[attr-defined]
        return ctx

    yield make
    for store in stores:
        store.close()
