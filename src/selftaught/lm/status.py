"""Whether a backend is usable here: key set, server reachable, model file present.

The probes the backend table (`selftaught.lm.registry.BACKENDS`) names for each backend.
Only servers named by a base URL are probed (a TCP connect with a short timeout); hosted
APIs are judged by their key alone, so listing backends sends nothing anywhere.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Callable
from urllib.parse import urlparse

from selftaught.errors import UserError
from selftaught.lm.options import ModelOptions

Probe = Callable[[ModelOptions], tuple[bool, str]]
"""(usable here, why) of one backend under the given options."""


def _reachable(url: str) -> str | None:
    """None if a TCP connection to the URL's host and port opens, else the reason."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=2):
            return None
    except OSError as exc:
        return str(exc.strerror or exc)


def server(client: str, key_env: str, url_env: str) -> Probe:
    """A hosted API or model server: its client installed, and its server reachable (when a
    base URL names one) or its key set."""

    def probe(options: ModelOptions) -> tuple[bool, str]:
        if importlib.util.find_spec(client) is None:
            return False, f"client not installed: pip install {client}"
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

    return probe


def embedded(options: ModelOptions) -> tuple[bool, str]:
    """The embedded model: its file at hand and llama-cpp-python installed."""
    from selftaught.lm.local import embedded_model_path

    try:
        path = embedded_model_path("smollm2")
    except UserError as exc:
        return False, str(exc)
    ok = importlib.util.find_spec("llama_cpp") is not None
    return ok, f"model file {path.name}" + ("" if ok else "; llama-cpp-python missing")


def always(detail: str) -> Probe:
    """A backend that is usable wherever selftaught is; `detail` says what it needs."""
    return lambda options: (True, detail)
