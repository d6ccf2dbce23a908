"""Shared fixtures: run contexts built as a real run builds them (`assembly.assemble`),
in one runs folder per session, with one warm sandbox per distinct spec."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from selftaught.assembly import Shared, assemble, sandbox_spec
from selftaught.config import RunConfig, load_config
from selftaught.lm.base import Backend
from selftaught.sandbox import SandboxLike
from selftaught.stop import RunContext
from selftaught.tasks import keys

DATA = Path(__file__).parent / "data"

# The per-user instance key of one-off commands lives here during tests, never in the
# home directory of whoever runs them (CLI subprocesses inherit it). It is the same key in
# every session, so scores asserted by tests do not change from one session to the next;
# under it the slowest 3-SAT instance takes the known-good WalkSAT 0.4 s of its 1 s limit
# (a key whose hardest instance took 0.9 s failed the solver tests on a loaded machine).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="selftaught-tests-data-")
keys.user_key_path().parent.mkdir(mode=0o700)
TEST_KEY = "selftaught tests 3"
keys.write_key(keys.user_key_path(), keys.InstanceKey(TEST_KEY.encode(), "user"))


def data(name: str) -> str:
    return (DATA / name).read_text()


@pytest.fixture(scope="session")
def shared() -> Iterator[Shared]:
    """Executors and sandboxes kept for the session: one per distinct config and spec."""
    with Shared() as sh:
        yield sh


@pytest.fixture(scope="session")
def runs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `make_ctx` makes its run directories (hidden from every worker)."""
    return tmp_path_factory.mktemp("runs")


def run_config(runs_folder: Path, **overrides: object) -> RunConfig:
    """The config of a test run: scripted model, the session's runs folder, and the tests'
    key pinned (the same instances in every session, as the user key above gives)."""
    return load_config(
        overrides={
            "model": "scripted:unused",
            "output": str(runs_folder),
            "instance_key": TEST_KEY,
            **overrides,
        }
    )


@pytest.fixture(scope="session")
def sandbox(shared: Shared, runs_folder: Path) -> SandboxLike:
    """The sandbox of a test run with the default config (the one `make_ctx` gives it)."""
    cfg = run_config(runs_folder)
    return shared.sandbox(cfg, sandbox_spec(cfg))


@pytest.fixture
def make_ctx(shared: Shared, runs_folder: Path) -> Iterator[Callable[..., RunContext]]:
    """`make(backend, **overrides)`: a new recorded run's context, assembled as a real run
    is (its sandbox limits, executor and hidden paths from its config); `backend` None
    for work that calls no model."""
    with contextlib.ExitStack() as stack:

        def make(backend: Backend | None, **overrides: object) -> RunContext:
            cfg = run_config(runs_folder, **overrides)
            asm = stack.enter_context(
                assemble(
                    cfg,
                    record="test",
                    backend=backend,
                    uses_model=backend is not None,  # None: work that calls no model
                    shared=shared,
                )
            )
            ctx = asm.context
            ctx.run_dir = asm.run_dir  # type: ignore[attr-defined]
            return ctx

        yield make
