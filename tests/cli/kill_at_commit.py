"""`selftaught`, killed (SIGKILL) while it records iteration N (env `KILL_AT_ITERATION`):
the kill lands as SQLite starts executing the COMMIT of that iteration's row, so the row
is written into an open transaction that never commits. Used by tests/cli/test_resume.py."""

import os
import signal

from selftaught.cli import main
from selftaught.store.db import Store

AT = int(os.environ["KILL_AT_ITERATION"])
_add_iteration = Store.add_iteration


def _die_at_commit(statement: str) -> None:
    if statement == "COMMIT":
        os.kill(os.getpid(), signal.SIGKILL)


def add_iteration(self: Store, row: dict) -> None:
    if row["iteration"] == AT:
        self._db.set_trace_callback(_die_at_commit)
    _add_iteration(self, row)


Store.add_iteration = add_iteration  # type: ignore[method-assign]
main()
