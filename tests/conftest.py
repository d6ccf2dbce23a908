"""Shared fixtures: one real fork-server sandbox per session, run contexts on tmp dirs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from selftaught.config import load_config
from selftaught.lm.base import Backend
from selftaught.sandbox import Sandbox
from selftaught.stop import RunContext
from selftaught.store import RunDir

DATA = Path(__file__).parent / "data"


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
