"""How much text one row, and one improver run, may add to the records.

Everything a row holds that came from a program, a worker or a model is cleaned
(`text.clean_text`, inside JSON too) and bounded where it is written (`Store`): a text
column longer than its limit is cut, and the cut says so in
the text itself (`text.clip`: "[... 12,000,000 characters, cut to 10,000]"); a JSON list
of texts (a model call's messages and responses) keeps its shape, each text in it cut to
one common length, and the model call's notes say what was cut. Program sources are never
cut: a program longer than `MAX_PROGRAM_CHARS` is not a usable program
(`program.check`) and is neither run nor stored whole.

One improver run writes text the improver chooses (its prompts, the events its worker
reports): `RecordsAllowance` bounds what a run's model calls and events may hold together
(`IMPROVER_RUN_CHARS`); past it their texts are cut to `CUT_FLOOR` characters each.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from selftaught.program.extract import MAX_PROGRAM_CHARS
from selftaught.text import clean_text, clip, fit

DEFAULT_TEXT_CHARS = 10_000
"""The longest text a column holds unless `TEXT_CHARS` says otherwise (a message, an
event's detail, an error)."""

TEXT_CHARS: dict[str, int] = {
    "source": MAX_PROGRAM_CHARS,
    "system": 200_000,
    "messages": 1_000_000,
    "responses": 1_000_000,
}
"""Per column, the longest text a row holds (in characters, JSON text for JSON columns)."""

TEXT_LIST_COLUMNS = frozenset({"messages", "responses", "notes"})
"""Columns holding a JSON list of texts: cut text by text, keeping the list."""

IMPROVER_RUN_CHARS = 1_000_000
"""Characters of model-call texts (system, messages, responses) and event details one
improver run may add to the records, about four times what a run of the paper's budgets
writes (4 calls of 6 samples)."""

CUT_FLOOR = 100
"""What each text keeps once a run's allowance is spent."""

RUN_EVENT_ROWS = 1_000
"""Audit events one improver run may add to the records: its own and those of the
solutions it sends to `utility` (each worker may claim 200 a job). Past it, one
`events_not_recorded` row says so."""

ITERATION_EVENT_ROWS = 20_000
"""Audit events one iteration may add to the records, whatever runs it nests (improver
runs within the meta-utility's, in threads of their own). Past it, one
`events_not_recorded` row says so."""


JSON_COLUMNS = TEXT_LIST_COLUMNS | {"answers", "unusable_reasons", "seeds"}
"""Columns holding JSON: their texts are cleaned inside the JSON too."""

_UNCLEAN_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _cleaned(v) for k, v in value.items()}
    return value


def clean_json(text: str) -> str:
    """JSON text whose strings are `clean_text`: JSON escapes a lone surrogate or a NUL
    (so SQLite stores it), but whoever decodes it would get it back."""
    if not _UNCLEAN_ESCAPE.search(text):
        return text
    try:
        return json.dumps(_cleaned(json.loads(text)))
    except ValueError:
        return text


def _cut_list(value: str, limit: int) -> str | None:
    """A JSON list of texts cut to at most `limit` characters of JSON, or None if `value`
    is not one."""
    try:
        texts = json.loads(value)
    except ValueError:
        return None
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return None
    budget = limit - 8 * len(texts) - 2
    while budget > 0:
        out = json.dumps(fit(texts, budget, floor=0))
        if len(out) <= limit:
            return out
        budget = budget * 3 // 4  # escapes made it longer: cut more
    return json.dumps([""] * len(texts)) if 4 * len(texts) + 2 <= limit else None


def stored(column: str, value: Any) -> tuple[Any, bool]:
    """What a column holds of `value`: text cleaned (`text.clean_text`) and cut to the
    column's limit; and whether it was cut."""
    if not isinstance(value, str):
        return value, False
    value = clean_text(value)
    if column in JSON_COLUMNS:
        value = clean_json(value)
    limit = TEXT_CHARS.get(column, DEFAULT_TEXT_CHARS)
    if len(value) <= limit:
        return value, False
    if column in TEXT_LIST_COLUMNS:
        cut = _cut_list(value, limit)
        if cut is not None:
            return cut, True
    return clip(value, limit), True


class RecordsAllowance:
    """What text one improver run may still add to the records (thread-safe)."""

    def __init__(self, chars: int = IMPROVER_RUN_CHARS) -> None:
        self.chars = chars
        self.left = chars
        self.cut = 0
        """Characters left out of the records so far."""
        self.rows_left = RUN_EVENT_ROWS
        self.rows_noted = False
        self._lock = threading.Lock()

    def take_events(self, events: list[dict]) -> list[dict]:
        """`events` as the records may keep them: at most `RUN_EVENT_ROWS` rows in all, then
        one row saying the rest were left out; their details within the allowance."""
        with self._lock:
            room = max(self.rows_left, 0)
            kept, dropped = events[:room], len(events) - min(len(events), room)
            self.rows_left -= len(kept)
            if dropped and not self.rows_noted:
                self.rows_noted = True
                note = (
                    f"past {RUN_EVENT_ROWS:,} events of this improver run (its own and"
                    " those of the solutions it scored), later ones are not recorded"
                )
                kept = [*kept, {"kind": "events_not_recorded", "detail": note}]
        details = self.take([str(e.get("detail", "")) for e in kept])
        return [{**e, "detail": d} for e, d in zip(kept, details, strict=True)]

    def take(self, texts: list[str]) -> list[str]:
        """`texts` as the records may keep them: whole while the allowance lasts, else cut
        (to at least `CUT_FLOOR` characters each); what they keep is spent."""
        with self._lock:
            kept = fit(texts, max(self.left, 0), floor=CUT_FLOOR)
            size = sum(len(t) for t in kept)
            self.left -= size
            self.cut += max(sum(len(t) for t in texts) - size, 0)
            return kept
