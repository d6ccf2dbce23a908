"""The response cache's file: one SQLite table of samples by key (`<run>/cache.sqlite`).

What a key means and when a sample is reused is `lm/cache.py`'s business; this module
only keeps the samples, their text cleaned (`text.clean_text`: a lone surrogate or a NUL
in a model's answer comes back as U+FFFD). Safe to share between threads.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from selftaught.store.faults import halt_when_full, release_reserve
from selftaught.text import clean_text


@dataclass(frozen=True)
class CachedSample:
    """One stored sample: its text and what the backend said about it."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


class SampleFile:
    """Samples by key, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with halt_when_full(self.path.parent):
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # No fsync per sample (it cost ~4 ms a put): a commit is in the WAL, so a killed
            # process loses nothing; only a crash of the machine may lose the last samples,
            # which a resumed run then asks the model for again.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS samples (key TEXT PRIMARY KEY, text TEXT NOT NULL,"
                " prompt_tokens INTEGER, completion_tokens INTEGER, finish_reason TEXT,"
                " created REAL, writes INTEGER NOT NULL DEFAULT 1)"
            )

    def get(self, key: str) -> CachedSample | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens, finish_reason"
                " FROM samples WHERE key = ?",
                (key,),
            ).fetchone()
        return None if row is None else CachedSample(*row)

    def put(self, key: str, sample: CachedSample) -> None:
        folder = self.path.parent
        with halt_when_full(folder, lambda: release_reserve(folder)), self._lock:
            self._db.execute(
                # `writes` counts how often a sample was paid for: 1 unless asked twice
                "INSERT INTO samples (key, text, prompt_tokens, completion_tokens,"
                " finish_reason, created) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET text = excluded.text,"
                " prompt_tokens = excluded.prompt_tokens,"
                " completion_tokens = excluded.completion_tokens,"
                " finish_reason = excluded.finish_reason, created = excluded.created,"
                " writes = writes + 1",
                (
                    clean_text(key),
                    clean_text(sample.text),  # a model's text may hold what SQLite rejects
                    sample.prompt_tokens,
                    sample.completion_tokens,
                    clean_text(sample.finish_reason),
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
