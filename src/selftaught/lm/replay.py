"""`replay:<run-dir>`: answers from a recorded run.

Each request is matched by what it asks (system, message, temperature, max tokens, seed)
and the sample's index, never by arrival order, which concurrency changes. Replay the
run with the config it was recorded with (the same seed) and every request matches; a
request the recorded run never made ends the run loudly (`UnrecordedRequest`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from selftaught.errors import ConfigError, UnrecordedRequest
from selftaught.lm.base import Completion, Reply, Request
from selftaught.lm.session import ModelCall

RECORDS = "records.sqlite"
Key = tuple[str, str, float, int, int | None, int]


def _key(request: Request, index: int) -> Key:
    return (
        request.system,
        request.user,
        float(request.temperature),
        request.max_tokens,
        request.seed,
        index,
    )


def load_recorded(run_dir: str) -> dict[Key, str]:
    """Every recorded sample of a run directory, by request and sample index."""
    path = Path(run_dir).expanduser()
    db = path / RECORDS if path.is_dir() else path
    if not db.is_file():
        raise ConfigError(f"no recorded run at {run_dir}: expected a run directory with {RECORDS}")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT system, messages, temperature, max_tokens, seed, responses FROM model_calls"
            " WHERE error IS NULL"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read recorded model calls from {db}: {exc}") from None
    finally:
        con.close()
    recorded: dict[Key, str] = {}
    for system, messages, temperature, max_tokens, seed, responses in rows:
        call = ModelCall(
            scope="",
            backend="",
            system=system,
            messages=json.loads(messages),
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        texts = json.loads(responses)
        for request, positions in call.requests():
            for i, pos in enumerate(positions):
                recorded[_key(request, i)] = texts[pos]
    if not recorded:
        raise ConfigError(f"the run at {run_dir} recorded no answered model calls")
    return recorded


class ReplayBackend:
    """Answers from a recorded run; free and instant."""

    supports_n = True

    def __init__(self, run_dir: str) -> None:
        self.name = f"replay:{run_dir}"
        self.recorded = load_recorded(run_dir)

    def complete(self, request: Request) -> Reply:
        completions = []
        for i in range(request.n):
            text = self.recorded.get(_key(request, i))
            if text is None:
                raise UnrecordedRequest(
                    f"replay: the recorded run never asked this (sample {i}, seed"
                    f" {request.seed}, message starting {request.user[:60]!r}); replay with"
                    " the config the run was recorded with"
                )
            completions.append(Completion(text=text))
        return Reply(completions=completions)
