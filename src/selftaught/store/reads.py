"""Every read of a run's records, as typed rows: shared by the writer (`Store`) and the
read-only view (`Records`) the report, `show`, `runs` and `open_run` use."""

from __future__ import annotations

import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from selftaught.errors import ConfigError, RunDirError, UserError
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
from selftaught.store.schema import (
    REQUIRED_TABLES,
    check_version,
    columns,
    connect_readonly,
    recorded_version,
    tables,
)

RECORDS = "records.sqlite"


class Reads:
    """The queries; a subclass sets `_db` (rows as `sqlite3.Row`) and `_lock`."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Any SQL, for tests and benchmarks; the package itself reads through the named
        methods below."""
        with self._lock:
            return list(self._db.execute(sql, params))

    def _dicts(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.query(sql, params)]

    def columns(self, table: str) -> set[str]:
        with self._lock:
            return columns(self._db, table)

    def read_meta(self) -> Meta:
        return _meta(self.query("SELECT key, value FROM meta"))

    def program(self, digest: str | None) -> str | None:
        if not digest:
            return None
        rows = self.query("SELECT source FROM programs WHERE hash = ?", (digest,))
        return rows[0]["source"] if rows else None

    # -- the record kinds ---------------------------------------------------------

    def model_calls(self) -> list[ModelCallRow]:
        return [ModelCallRow.of(r) for r in self._dicts("SELECT * FROM model_calls ORDER BY id")]

    def evaluations(
        self, *, kind: str | None = None, scope_like: str | None = None
    ) -> list[EvaluationRow]:
        """Evaluations in the order they were recorded, of one `kind` and/or with a scope
        matching the SQL LIKE pattern `scope_like`."""
        where, params = _where(kind=kind, scope_like=scope_like)
        rows = self._dicts(f"SELECT * FROM evaluations{where} ORDER BY id", params)
        return [EvaluationRow.of(r) for r in rows]

    def improver_runs(self, *, scope_like: str | None = None) -> list[ImproverRunRow]:
        where, params = _where(scope_like=scope_like)
        rows = self._dicts(f"SELECT * FROM improver_runs{where} ORDER BY id", params)
        return [ImproverRunRow.of(r) for r in rows]

    def events(
        self,
        *,
        iteration: int | None = None,
        scope: str | None = None,
        program_hash: str | None = None,
        limit: int | None = None,
        last: bool = False,
    ) -> list[EventRow]:
        """Audit events in order; with `scope`, those of that scope and the scopes under it.
        With `limit`, at most that many: the first, or with `last` the last. A hostile
        improver sets how many events a run holds (docs/security.md, "Events"): whatever
        shows them reads a bounded number and counts the rest (`event_count`)."""
        where, params = _where(iteration=iteration, scope_under=scope, program_hash=program_hash)
        if limit is None:
            rows = self._dicts(f"SELECT * FROM events{where} ORDER BY id", params)
        else:
            order = "DESC" if last else "ASC"
            rows = self._dicts(
                f"SELECT * FROM (SELECT * FROM events{where} ORDER BY id {order} LIMIT ?)"
                " ORDER BY id",
                (*params, max(0, limit)),
            )
        return [EventRow.of(r) for r in rows]

    def event_count(
        self,
        *,
        iteration: int | None = None,
        scope: str | None = None,
        program_hash: str | None = None,
    ) -> int:
        """How many audit events `events` with the same filters would give, all of them."""
        where, params = _where(iteration=iteration, scope_under=scope, program_hash=program_hash)
        return int(self.query(f"SELECT COUNT(*) FROM events{where}", params)[0][0])

    def event_kinds(self) -> dict[int, dict[str, int]]:
        """Per iteration, how many audit events of each kind (counted by the database)."""
        out: dict[int, dict[str, int]] = {}
        rows = self.query(
            "SELECT COALESCE(iteration, 0), kind, COUNT(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2"
        )
        for iteration, kind, n in rows:
            out.setdefault(int(iteration), {})[str(kind)] = int(n)
        return out

    def iterations(self) -> list[IterationRow]:
        """Every recorded iteration, with what its model calls cost and why samples were
        unusable."""
        usage = self.usage_by_iteration()
        out = []
        for r in self._dicts("SELECT * FROM iterations ORDER BY iteration"):
            u = usage.get(r["iteration"], CallUsage())
            r.update(
                cost=u.cost or Decimal(0), priced=u.priced, unusable_reasons=u.unusable_reasons
            )
            out.append(IterationRow.of(r))
        return out

    def solutions(self) -> list[SolutionRow]:
        """Every solution program scored in the run, once, with the first iteration that
        scored it."""
        rows = self._dicts(
            "SELECT MIN(e.iteration) AS iteration, p.hash AS hash, p.source AS source"
            " FROM programs p JOIN evaluations e ON e.program_hash = p.hash"
            " WHERE p.kind = 'solution' AND e.kind = 'solution'"
            " GROUP BY p.hash ORDER BY MIN(e.id)"
        )
        return [SolutionRow.of(r) for r in rows]

    def out_of_bounds_scores(self) -> list[EvaluationRow]:
        """Evaluations whose score left [0, 1]: a scorer fault or a reward hack."""
        rows = self._dicts(
            "SELECT * FROM evaluations WHERE score IS NOT NULL AND (score < 0 OR score > 1)"
            " ORDER BY id"
        )
        return [EvaluationRow.of(r) for r in rows]

    def solution_evaluations(self, iteration: int) -> int:
        """How many solution evaluations an iteration made."""
        return self.query(
            "SELECT COUNT(*) AS n FROM evaluations WHERE iteration = ? AND kind = 'solution'",
            (iteration,),
        )[0]["n"]

    # -- model usage --------------------------------------------------------------

    def usage(self, *, iteration: int | None = None, scope_like: str | None = None) -> CallUsage:
        """What the model calls of the whole run, one iteration, or the scopes matching
        `scope_like` used."""
        where, params = _where(iteration=iteration, scope_like=scope_like)
        return self._usage(where, params).get(None, CallUsage())

    def usage_by_iteration(self) -> dict[int, CallUsage]:
        return self._usage("", (), by_iteration=True)

    def _usage(
        self, where: str, params: tuple, *, by_iteration: bool = False
    ) -> dict[Any, CallUsage]:
        have = self.columns("model_calls")
        key = "iteration" if by_iteration else "NULL"
        sums = self._dicts(
            f"SELECT {key} AS k, COUNT(*) AS calls, COALESCE(SUM(samples), 0) AS samples,"
            " COALESCE(SUM(usable), 0) AS usable,"
            " COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
            " COALESCE(SUM(completion_tokens), 0) AS completion_tokens,"
            f" COALESCE(SUM({'cached' if 'cached' in have else 'NULL'}), 0) AS cached,"
            " COALESCE(SUM(seconds), 0) AS seconds"
            f" FROM model_calls{where}" + (" GROUP BY iteration" if by_iteration else ""),
            params,
        )
        # Money is summed exactly (Decimal) from the recorded strings; reasons are JSON.
        extra = [c for c in ("cost", "priced", "unusable_reasons") if c in have]
        detail: dict[Any, list[dict[str, Any]]] = {}
        if extra:
            picked = ", ".join(extra)
            for r in self._dicts(f"SELECT {key} AS k, {picked} FROM model_calls{where}", params):
                detail.setdefault(r["k"], []).append(r)
        out: dict[Any, CallUsage] = {}
        for s in sums:
            rows = detail.get(s["k"], [])
            costs = [Decimal(r["cost"]) for r in rows if r.get("cost")]
            reasons: dict[str, int] = {}
            for r in rows:
                for name, n in json.loads(r.get("unusable_reasons") or "{}").items():
                    reasons[name] = reasons.get(name, 0) + int(n)
            out[s["k"]] = CallUsage(
                calls=s["calls"],
                samples=s["samples"],
                usable=s["usable"],
                prompt_tokens=s["prompt_tokens"],
                completion_tokens=s["completion_tokens"],
                cached=s["cached"],
                seconds=float(s["seconds"]),
                cost=sum(costs, Decimal(0)) if costs else None,
                priced=all(r.get("priced") is None or r["priced"] for r in rows),
                unusable_reasons=reasons,
            )
        return out


def _meta(rows: list[sqlite3.Row]) -> Meta:
    out: dict[str, Any] = {}
    for r in rows:
        try:
            out[r["key"]] = json.loads(r["value"])
        except (TypeError, json.JSONDecodeError):
            out[r["key"]] = r["value"]
    return Meta(out)


def read_meta(run_dir: Path | str) -> Meta:
    """The header of a run directory's records, read without modifying anything and
    whatever its schema; an unreadable file is a `RunDirError`."""
    try:
        db = connect_readonly(Path(run_dir) / RECORDS)  # no -wal/-shm beside a closed run
        try:
            return _meta(list(db.execute("SELECT key, value FROM meta")))
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise RunDirError(f"cannot read the records of {run_dir}: {exc}") from None


def answered_calls(records_file: Path) -> list[ModelCallRow]:
    """The model calls of a records file that got an answer, in the order they were made
    (what `replay:` answers from); an unreadable file is a `ConfigError`."""
    try:
        db = connect_readonly(records_file)
        try:
            check_version(recorded_version(db), records_file.parent)
            rows = db.execute("SELECT * FROM model_calls WHERE error IS NULL ORDER BY id")
            return [ModelCallRow.of(dict(r)) for r in rows]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read recorded model calls from {records_file}: {exc}") from None


def _where(
    *,
    kind: str | None = None,
    iteration: int | None = None,
    scope_like: str | None = None,
    scope_under: str | None = None,
    program_hash: str | None = None,
) -> tuple[str, tuple]:
    clauses: list[str] = []
    params: list[Any] = []
    if program_hash is not None:
        clauses.append("program_hash = ?")
        params.append(program_hash)
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    if iteration is not None:
        clauses.append("iteration = ?")
        params.append(iteration)
    if scope_like is not None:
        clauses.append("scope LIKE ?")
        params.append(scope_like)
    if scope_under is not None:
        clauses.append("(scope = ? OR scope LIKE ?)")
        params += [scope_under, f"{scope_under}/%"]
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), tuple(params)


class Records(Reads):
    """The records of one run directory, opened read-only: never writes, and creates no
    file beside the records. A folder that is not a run this version reads is a
    `UserError` (`RunDirError` for a schema it does not know)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        db_path = self.path / RECORDS
        if not self.path.is_dir():
            raise UserError(f"not a run directory: {self.path} does not exist or is no folder")
        if not db_path.is_file():
            raise UserError(f"not a run directory: {self.path} has no {RECORDS}")
        self._lock = threading.Lock()
        try:
            self._db = connect_readonly(db_path)
            self.tables = tables(self._db)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"not a run directory: {db_path} is not readable ({exc})") from None
        if not REQUIRED_TABLES <= self.tables:
            self._db.close()
            raise UserError(f"not a run directory: {db_path} lacks the tables of a selftaught run")
        self.meta = self.read_meta()
        try:
            check_version(self.meta.schema_version, self.path)
        except UserError:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
