"""A scripted backend for tests and dry runs: it answers with given texts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from selftaught.errors import ConfigError
from selftaught.lm.base import Backend, Completion, Reply, Request

Responder = Callable[[Request, int], str]


class ScriptedBackend(Backend):
    """Returns given texts in order, or asks a function `(request, sample_index) -> text`.

    A list that runs out raises, so a test notices an unplanned call.
    """

    def __init__(self, responses: Sequence[str] | Responder, *, name: str = "scripted") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._responder: Responder | None = None
        self._queue: list[str] = []
        if callable(responses):
            self._responder = responses
        else:
            self._queue = list(responses)
        self.requests: list[Request] = []

    def _next(self, request: Request, index: int) -> str:
        if self._responder is not None:
            return self._responder(request, index)
        if not self._queue:
            raise RuntimeError("the scripted backend has no responses left")
        return self._queue.pop(0)

    def complete(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            texts = [self._next(request, i) for i in range(request.n)]
        return Reply(
            completions=[
                Completion(
                    text=t, prompt_tokens=len(request.user) // 4, completion_tokens=len(t) // 4
                )
                for t in texts
            ]
        )


def rules_responder(rules: list[dict[str, Any]]) -> Responder:
    """Answer with the reply of the first rule whose `when` text occurs in the prompt,
    after sleeping the rule's `delay` seconds if it has one (a run that lasts, for tests)."""

    def respond(request: Request, index: int) -> str:
        prompt = request.system + "\n" + request.user
        for rule in rules:
            if rule.get("when", "") in prompt:
                if rule.get("delay"):
                    time.sleep(float(rule["delay"]))
                return str(rule["reply"])
        raise RuntimeError("no scripted rule matches this prompt")

    return respond


def load_scripted(path: str) -> ScriptedBackend:
    """`scripted:FILE.json`: a list of reply texts (in order), or of {"when", "reply"} rules
    (each with an optional "delay" in seconds)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"scripted responses file not found: {path}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"scripted responses file {path} is not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"scripted responses file {path} is not UTF-8 text (byte {exc.start})"
        ) from None
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        return ScriptedBackend(data, name=f"scripted:{path}")
    if isinstance(data, list) and all(isinstance(x, dict) and "reply" in x for x in data):
        return ScriptedBackend(rules_responder(data), name=f"scripted:{path}")
    raise ConfigError(
        f"scripted responses file {path} must hold a list of strings or of {{when, reply}} objects"
    )
