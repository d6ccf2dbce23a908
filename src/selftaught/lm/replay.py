"""`replay:<run-dir>`: answers from a recorded run.

Each request is matched by what it asks (system, message, temperature, max tokens) and
each sample by its place in the message's sample stream, never by arrival order, which
concurrency changes: sample i of a request with seed s is the sample of seed s + i (as
every backend draws it), so a call that drew more samples of a message later (drawing
again for unusable ones) is answered sample for sample. Replay the
run with the config it was recorded with (the same seed) and every request matches; a
request the recorded run never made ends the run loudly (`UnrecordedRequest`), and so does
one whose place holds two different recorded samples (two calls of the same message whose
seed streams overlapped, rare with 31-bit derived seeds; or one message asked twice of a
backend that takes no seed, with the response cache off): a replay must not pick one
silently. A run recorded before `model_calls.answers` drew again under older rules, and
its replay tells the session so (`redraws_no_value`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from selftaught.errors import ConfigError, SelftaughtError, StreamEnded, UnrecordedRequest
from selftaught.lm.base import Backend, Completion, Reply, Request
from selftaught.lm.session import ModelCall
from selftaught.store.reads import answered_calls

RECORDS = "records.sqlite"
Key = tuple[str, str, float, int, int | None, int]


def _key(request: Request, index: int) -> Key:
    """A sample's place: with a seed, the stream position seed + index; else the index."""
    seed = request.seed
    place = (seed + index, 0) if seed is not None else (None, index)
    return (request.system, request.user, float(request.temperature), request.max_tokens, *place)


@dataclass(frozen=True)
class Recording:
    """What a replay answers from."""

    samples: dict[Key, str | None]
    """Every recorded sample by request and stream position; None at a place that holds
    two different samples (two calls whose streams ran into each other): no replay can
    tell which was meant."""
    model: str | None
    """The model the run asked."""
    answers: bool
    """Whether the run recorded which draw each caller received (`model_calls.answers`):
    runs from before that drew again under older rules."""


def _records(run_dir: str) -> Path:
    path = Path(run_dir).expanduser()
    db = path / RECORDS if path.is_dir() else path
    if not db.is_file():
        raise ConfigError(f"no recorded run at {run_dir}: expected a run directory with {RECORDS}")
    return db


def load_recorded(run_dir: str) -> Recording:
    """Every recorded sample of a run directory, by request and stream position."""
    samples: dict[Key, str | None] = {}
    rows = answered_calls(_records(run_dir))
    for row in rows:
        call = ModelCall(
            scope="",
            backend="",
            system=row.system or "",
            messages=json.loads(row.messages or "[]"),
            temperature=row.temperature or 0.0,
            max_tokens=row.max_tokens or 0,
            seed=row.seed,
        )
        texts = json.loads(row.responses or "[]")
        for request, positions in call.requests():
            for i, pos in enumerate(positions):
                key, text = _key(request, i), texts[pos]
                samples[key] = text if samples.get(key, text) == text else None
    if not samples:
        raise ConfigError(f"the run at {run_dir} recorded no answered model calls")
    answers = any(row.answers is not None for row in rows)
    return Recording(samples, rows[0].backend, answers)


def first_model(model: str | None) -> str | None:
    """The model a chain of replays started from: a run recorded by a replay names
    `replay:<its run>` (an absolute path) as its model, so the first model's defaults
    are looked up there, as long as that run is still where it was and readable."""
    seen: set[str] = set()
    while model and model.startswith("replay:") and model not in seen:
        seen.add(model)
        try:
            rows = answered_calls(_records(model.removeprefix("replay:")))
        except SelftaughtError:
            break  # moved, gone or unreadable: the run's own config must give the defaults
        if not rows:
            break
        model = rows[0].backend
    return model


def replayed_runs(model: str | None) -> list[Path]:
    """The run directories a `replay:` model reads from: the run it names and, as a run
    recorded by a replay names `replay:<its run>`, the runs that one replayed in turn
    (they share its instance key). Resolved; [] for any other model. Only what can still
    be read is followed, but the named run is listed even if it is not there (yet)."""
    runs: list[Path] = []
    while model and model.startswith("replay:"):
        path = Path(model.removeprefix("replay:")).expanduser().resolve()
        folder = path if path.is_dir() or path.name != RECORDS else path.parent
        if folder in runs:
            break
        runs.append(folder)
        try:
            rows = answered_calls(_records(str(folder)))
        except SelftaughtError:
            break
        model = rows[0].backend if rows else None
    return runs


class ReplayBackend(Backend):
    """Answers from a recorded run; free and instant."""

    supports_n = True

    def __init__(self, run_dir: str) -> None:
        recording = load_recorded(run_dir)
        # absolute, so a replay of this run's own records finds this run from anywhere
        self.name = f"replay:{Path(run_dir).expanduser().resolve()}"
        self.recorded = recording.samples
        self.model = first_model(recording.model)
        self.answers = recording.answers

    @property
    def defaults_for(self) -> str:
        return self.model or self.name

    @property
    def redraws_no_value(self) -> bool:
        return self.answers

    def complete(self, request: Request) -> Reply:
        completions = []
        for i in range(request.n):
            key = _key(request, i)
            if key in self.recorded and self.recorded[key] is None:
                raise UnrecordedRequest(
                    f"replay: the recorded run drew two different samples at this place"
                    f" (sample {i}, seed {request.seed}, message starting"
                    f" {request.user[:60]!r}), so it cannot be replayed sample for sample"
                )
            text = self.recorded.get(key)
            if text is None and i == 0 and request.seed is not None:
                if _key(replace(request, seed=request.seed - 1), 0) in self.recorded:
                    raise StreamEnded(
                        "replay: the recorded run drew no more samples of this message"
                    )
            if text is None:
                raise UnrecordedRequest(
                    f"replay: the recorded run never asked this (sample {i}, seed"
                    f" {request.seed}, message starting {request.user[:60]!r}); replay with"
                    " the config the run was recorded with"
                )
            completions.append(Completion(text=text))
        return Reply(completions=completions)
