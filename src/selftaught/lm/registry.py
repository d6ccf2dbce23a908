"""Model strings: `backend:model`, e.g. `local:smollm2`, `openai:gpt-4.1`, `echo`.

`make_backend` builds the thin adapter a string names and wraps it in the behaviour every
backend shares (`selftaught.lm.wrappers`, `selftaught.lm.cache`).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from selftaught.errors import ConfigError
from selftaught.lm.base import Backend
from selftaught.lm.options import ModelOptions

DEFAULT_MODEL = "local:smollm2"
BACKENDS = {
    "local": "the embedded llama.cpp model: local:smollm2 or local:/path/to/model.gguf",
    "openai": "any OpenAI-compatible server: openai:gpt-4.1 (OPENAI_API_KEY, --base-url)",
    "anthropic": "Claude: anthropic:claude-sonnet-4-0 (ANTHROPIC_API_KEY)",
    "replay": "answers from a recorded run: replay:runs/<run-dir>",
    "echo": "answers with the prompt's first program, instantly and free: echo",
    "scripted": "replies from a JSON file, for tests and dry runs: scripted:FILE.json",
}
REMOTE = ("openai", "anthropic")
"""Backends that talk to a server: retried, concurrent by default, priced."""
NO_MODEL_NEEDED = ("echo",)


def split_model_string(model: str) -> tuple[str, str]:
    backend, sep, rest = model.partition(":")
    if not sep:
        backend, rest = model, ""
    if backend not in BACKENDS:
        close = difflib.get_close_matches(backend, list(BACKENDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"unknown model backend {backend!r} in {model!r}{hint}; known: {known}")
    if not rest and backend not in NO_MODEL_NEEDED:
        raise ConfigError(f"model string {model!r} names no model, e.g. {DEFAULT_MODEL}")
    return backend, rest


def make_adapter(model: str, options: ModelOptions | None = None) -> Backend:
    """The thin backend a model string names, without shared behaviour."""
    opts = options or ModelOptions()
    backend, rest = split_model_string(model)
    if backend == "local":
        from selftaught.lm.local import LocalBackend

        return LocalBackend(rest)
    if backend == "openai":
        from selftaught.lm.openai_api import OpenAIBackend

        return OpenAIBackend(
            rest,
            base_url=opts.base_url,
            api_key_env=opts.api_key_env,
            timeout=opts.timeout,
            samples_per_request=opts.samples_per_request,
        )
    if backend == "anthropic":
        from selftaught.lm.anthropic_api import AnthropicBackend

        return AnthropicBackend(
            rest, base_url=opts.base_url, api_key_env=opts.api_key_env, timeout=opts.timeout
        )
    if backend == "replay":
        from selftaught.lm.replay import ReplayBackend

        return ReplayBackend(rest)
    if backend == "echo":
        from selftaught.lm.echo import EchoBackend

        return EchoBackend()
    from selftaught.lm.scripted import load_scripted

    return load_scripted(rest)


def default_concurrency(model: str) -> int:
    """8 requests at once for servers, 1 for the embedded model (it is not reentrant)."""
    backend = model.partition(":")[0]
    return 1 if backend == "local" else 8


def wrap(
    adapter: Backend,
    options: ModelOptions | None = None,
    *,
    cache_path: Path | None = None,
    sleep=None,
    stop_on_outage: bool = False,
) -> Backend:
    """Concurrency limit, retries, exact sample counts, prices, cache and spending caps
    around an adapter. `cache_path` (usually `<run-dir>/cache.sqlite`) turns the cache on
    when the options allow it. With `stop_on_outage`, a call that fails its whole retry
    budget ends the run (`ModelUnavailable`) instead of failing only that call."""
    from selftaught.lm.cache import Cached, ResponseCache
    from selftaught.lm.pricing import price_of
    from selftaught.lm.wrappers import (
        ConcurrencyLimit,
        Priced,
        Retrying,
        Samples,
        SpendingCap,
        StopOnOutage,
    )

    opts = options or ModelOptions()
    limit = opts.concurrency or default_concurrency(adapter.name)
    backend: Backend = ConcurrencyLimit(adapter, limit)
    extra = {} if sleep is None else {"sleep": sleep}
    backend = Retrying(backend, retries=opts.retries, backoff=opts.backoff, **extra)
    if stop_on_outage:
        backend = StopOnOutage(backend)
    backend = Samples(backend, parallel=limit)
    backend = Priced(backend, price_of(adapter.name, opts.prices))
    if cache_path is not None and opts.cache:
        base_url = getattr(adapter, "base_url", None)
        backend = Cached(backend, ResponseCache(cache_path), base_url=base_url)
    if opts.max_run_tokens is not None or opts.max_run_cost is not None:
        backend = SpendingCap(backend, max_tokens=opts.max_run_tokens, max_cost=opts.max_run_cost)
    return backend


def make_backend(
    model: str, options: ModelOptions | None = None, *, cache_path: Path | None = None
) -> Backend:
    """The backend a model string names, with the behaviour every backend shares. A model
    server that stays unavailable through a call's retries stops the run (resumable)."""
    return wrap(make_adapter(model, options), options, cache_path=cache_path, stop_on_outage=True)


def check_model_string(model: str, options: ModelOptions | None = None) -> None:
    """Fail early, before any work, on a model string that cannot work: an unknown
    backend, a missing file or key, an unreachable server, a model the server lacks."""
    backend, rest = split_model_string(model)
    if backend == "local":
        from selftaught.lm.local import resolve_model_path

        resolve_model_path(rest)
    elif backend == "scripted":
        from selftaught.lm.scripted import load_scripted

        load_scripted(rest)
    elif backend == "replay":
        from selftaught.lm.replay import load_recorded

        load_recorded(rest)
    elif backend in REMOTE:
        adapter = make_adapter(model, options)
        adapter.check()  # type: ignore[attr-defined]
