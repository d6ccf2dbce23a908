"""Run records (SQLite) and run directories. store/ owns the records' schema and every
query: other packages read and write through `Store` (a run being written), `Records` (a
run read back, read-only) and the row types."""

from selftaught.store.db import Store, program_hash
from selftaught.store.reads import RECORDS, Records
from selftaught.store.rows import (
    CallUsage,
    EvaluationRow,
    EventRow,
    ImproverRunRow,
    IterationRow,
    Meta,
    ModelCallRow,
    SolutionRow,
)
from selftaught.store.rundir import RunDir
from selftaught.store.schema import SCHEMA_VERSION

__all__ = [
    "RECORDS",
    "SCHEMA_VERSION",
    "CallUsage",
    "EvaluationRow",
    "EventRow",
    "ImproverRunRow",
    "IterationRow",
    "Meta",
    "ModelCallRow",
    "Records",
    "RunDir",
    "SolutionRow",
    "Store",
    "program_hash",
]
