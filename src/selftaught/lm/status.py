"""Whether each backend is usable here: key set, server reachable, model file present.

Only servers named by a base URL are probed (a TCP connect with a short timeout); hosted
APIs are judged by their key alone, so listing backends sends nothing anywhere.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import BACKENDS, DEFAULT_MODEL


@dataclass
class BackendStatus:
    backend: str
    usable: bool
    detail: str
    example: str


def _reachable(url: str) -> str | None:
    """None if a TCP connection to the URL's host and port opens, else the reason."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=2):
            return None
    except OSError as exc:
        return str(exc.strerror or exc)


def _remote(name: str, key_env: str, url_env: str, options: ModelOptions) -> tuple[bool, str]:
    if importlib.util.find_spec(name) is None:
        return False, f"client not installed: pip install {name}"
    env = options.api_key_env or key_env
    url = options.base_url or os.environ.get(url_env)
    if url:
        problem = _reachable(url)
        if problem:
            return False, f"server {url} unreachable: {problem}"
        keyed = "key set" if os.environ.get(env) else "no key"
        return True, f"server {url} reachable ({keyed})"
    if os.environ.get(env):
        return True, f"{env} set"
    return False, f"{env} not set"


def backend_status(options: ModelOptions | None = None) -> list[BackendStatus]:
    opts = options or ModelOptions()
    rows = []
    for backend, kind in BACKENDS.items():
        example = kind.example
        if backend == "local":
            from selftaught.errors import UserError
            from selftaught.lm.local import embedded_model_path

            try:
                path = embedded_model_path("smollm2")
                ok = importlib.util.find_spec("llama_cpp") is not None
                detail = f"model file {path.name}" + ("" if ok else "; llama-cpp-python missing")
            except UserError as exc:
                ok, detail = False, str(exc)
        elif backend == "openai":
            ok, detail = _remote("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", opts)
        elif backend == "anthropic":
            ok, detail = _remote("anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", opts)
        elif backend == "replay":
            ok, detail = True, "needs a recorded run directory"
        elif backend == "scripted":
            ok, detail = True, "needs a JSON file of replies"
        else:
            ok, detail = True, "always"
        rows.append(BackendStatus(backend, ok, detail, example))
    return rows


__all__ = ["DEFAULT_MODEL", "BackendStatus", "backend_status"]
