"""Model strings: `backend:model`, e.g. `local:smollm2`, `local:/path/model.gguf`."""

from __future__ import annotations

import difflib

from selftaught.errors import UserError
from selftaught.lm.base import Backend

DEFAULT_MODEL = "local:smollm2"
BACKENDS = {
    "local": "the embedded llama.cpp model: local:smollm2 or local:/path/to/model.gguf",
    "scripted": "replies from a JSON file, for tests and dry runs: scripted:FILE.json",
}


def split_model_string(model: str) -> tuple[str, str]:
    backend, sep, rest = model.partition(":")
    if not sep:
        backend, rest = model, ""
    if backend not in BACKENDS:
        close = difflib.get_close_matches(backend, list(BACKENDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(BACKENDS))
        raise UserError(f"unknown model backend {backend!r} in {model!r}{hint}; known: {known}")
    if not rest:
        raise UserError(f"model string {model!r} names no model, e.g. {DEFAULT_MODEL}")
    return backend, rest


def check_model_string(model: str) -> None:
    """Fail early, before any work, on a model string that cannot work."""
    backend, rest = split_model_string(model)
    if backend == "local":
        from selftaught.lm.local import resolve_model_path

        resolve_model_path(rest)
    elif backend == "scripted":
        from selftaught.lm.scripted import load_scripted

        load_scripted(rest)


def make_backend(model: str) -> Backend:
    """The backend a model string names."""
    backend, rest = split_model_string(model)
    if backend == "local":
        from selftaught.lm.local import LocalBackend

        return LocalBackend(rest)
    from selftaught.lm.scripted import load_scripted

    return load_scripted(rest)
