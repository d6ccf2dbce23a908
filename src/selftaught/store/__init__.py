"""Run records (SQLite) and run directories."""

from selftaught.store.db import SCHEMA_VERSION, Store, program_hash
from selftaught.store.rundir import RunDir

__all__ = ["SCHEMA_VERSION", "RunDir", "Store", "program_hash"]
