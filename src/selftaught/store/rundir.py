"""A run directory: the resolved config, every improver as a .py file, the records."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import tomli_w

from selftaught.errors import UserError
from selftaught.sandbox import hidden
from selftaught.store.db import Store
from selftaught.store.faults import RunLock, halt_when_full, make_reserve, release_reserve
from selftaught.store.limits import stored


class RunDir:
    """`runs/<timestamp>-<name>/` with `config.toml`, `improvers/` and `records.sqlite`."""

    CONFIG = "config.toml"
    RECORDS = "records.sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        hidden.hide(self.path)  # its records and key are no worker's to read
        self._lock: RunLock | None = None

    def lock(self) -> None:
        """Hold the run's lock until `unlock()` or this process ends; a run directory
        another live process holds is a one-line `UserError`. Idempotent."""
        if self._lock is None:
            self._lock = RunLock(self.path)

    def unlock(self) -> None:
        """The run is done writing: give back its reserve of disk space and its lock."""
        release_reserve(self.path)
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @classmethod
    def create(cls, parent: Path, name: str) -> RunDir:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
        parent = Path(parent)
        try:
            parent.mkdir(parents=True, exist_ok=True)
            path = parent / f"{stamp}-{slug}"
            n = 1
            while path.exists():
                n += 1
                path = parent / f"{stamp}-{slug}-{n}"
            # Owner-only: sandbox workers run as another user and must not read the records.
            path.mkdir(mode=0o700)
            (path / "improvers").mkdir(mode=0o700)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UserError(f"cannot create a run directory in {parent}: {reason}") from None
        return cls(path)

    def write_config(self, config: dict[str, Any]) -> None:
        (self.path / self.CONFIG).write_text(tomli_w.dumps(_tomlable(config)))

    def open_store(self) -> Store:
        """The records, writable; keeps a small reserve of disk space (`store.faults`)."""
        make_reserve(self.path)
        return Store(self.path / self.RECORDS)

    def improver_path(self, iteration: int, candidate: int | None = None) -> Path:
        name = (
            f"iter_{iteration:03d}.py"
            if candidate is None
            else f"iter_{iteration:03d}_candidate_{candidate:02d}.py"
        )
        return self.path / "improvers" / name

    def save_improver(self, src: str, iteration: int, candidate: int | None = None) -> Path:
        """Write an improver (or a candidate) as a .py file: its text cleaned and, past the
        longest a program may be (it is then not usable), cut (`store.limits.stored`)."""
        path = self.improver_path(iteration, candidate)
        tmp = path.with_suffix(".tmp")
        text, _ = stored("source", src)
        with halt_when_full(self.path, lambda: release_reserve(self.path)):
            try:
                tmp.write_text(text)
            except OSError:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, path)
        return path


def _tomlable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_tomlable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
