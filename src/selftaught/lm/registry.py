"""Model strings: `backend:model`, e.g. `local:smollm2`, `openai:gpt-4.1`, `echo`.

`make_backend` builds the thin adapter a string names and wraps it in the behaviour every
backend shares (`selftaught.lm.wrappers`, `selftaught.lm.cache`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from selftaught.errors import ConfigError
from selftaught.lm.base import Backend
from selftaught.lm.options import ModelOptions
from selftaught.lm.pricing import Price, listed_price
from selftaught.lm.status import Probe, always, embedded, server

DEFAULT_MODEL = "local:smollm2"


@dataclass(frozen=True)
class BackendKind:
    """One model backend: how it is described, checked, made, whether it costs money, and
    how many requests it takes at once. `check` and `make` get the rest of the model string
    and the options; `status` gets the options alone (`selftaught models`)."""

    name: str
    description: str
    example: str
    make: Callable[[str, ModelOptions], Backend]
    status: Probe
    """Whether the backend is usable on this machine, and why, without naming a model."""
    check: Callable[[str, ModelOptions], None] | None = None
    """Fails early (`UserError`) on what cannot work; None: nothing to check ahead."""
    free: bool = False
    """Never costs money (priced at 0); otherwise priced by `selftaught.lm.pricing`."""
    concurrency: int = 8
    """Requests in flight at once unless `[lm] concurrency` says otherwise."""
    needs_model: bool = True
    """The model string must name a model after `name:`."""


def _make_local(rest: str, opts: ModelOptions) -> Backend:
    from selftaught.lm.local import LocalBackend

    return LocalBackend(rest, grammar=opts.grammar != "off", stop_loops=opts.stop_loops)


def _check_local(rest: str, opts: ModelOptions) -> None:
    from selftaught.lm.local import resolve_model_path

    resolve_model_path(rest)


def _make_openai(rest: str, opts: ModelOptions) -> Backend:
    from selftaught.lm.openai_api import OpenAIBackend

    return OpenAIBackend(
        rest,
        base_url=opts.base_url,
        api_key_env=opts.api_key_env,
        timeout=opts.timeout,
        samples_per_request=opts.samples_per_request,
        grammar=None if opts.grammar == "off" else opts.grammar,
    )


def _make_anthropic(rest: str, opts: ModelOptions) -> Backend:
    from selftaught.lm.anthropic_api import AnthropicBackend

    return AnthropicBackend(
        rest, base_url=opts.base_url, api_key_env=opts.api_key_env, timeout=opts.timeout
    )


def _server_check(
    make: Callable[[str, ModelOptions], Backend],
) -> Callable[[str, ModelOptions], None]:
    """Key set, server reachable, model served: asked of the server itself."""

    def check(rest: str, opts: ModelOptions) -> None:
        make(rest, opts).check()

    return check


def _make_replay(rest: str, opts: ModelOptions) -> Backend:
    from selftaught.lm.replay import ReplayBackend

    return ReplayBackend(rest)


def _check_replay(rest: str, opts: ModelOptions) -> None:
    from selftaught.lm.replay import load_recorded

    load_recorded(rest)


def _make_echo(rest: str, opts: ModelOptions) -> Backend:
    from selftaught.lm.echo import EchoBackend

    return EchoBackend()


def _make_scripted(rest: str, opts: ModelOptions) -> Backend:
    from selftaught.lm.scripted import load_scripted

    return load_scripted(rest)


def _check_scripted(rest: str, opts: ModelOptions) -> None:
    _make_scripted(rest, opts)


BACKENDS: dict[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind(
            "local",
            "the embedded llama.cpp model",
            "local:smollm2 or local:/path/to/model.gguf",
            _make_local,
            embedded,
            _check_local,
            free=True,
            concurrency=1,  # the embedded model is not reentrant
        ),
        BackendKind(
            "openai",
            "any OpenAI-compatible server",
            "openai:gpt-4.1 (OPENAI_API_KEY, --base-url)",
            _make_openai,
            server("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
            _server_check(_make_openai),
        ),
        BackendKind(
            "anthropic",
            "Claude",
            "anthropic:claude-sonnet-4-0 (ANTHROPIC_API_KEY)",
            _make_anthropic,
            server("anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
            _server_check(_make_anthropic),
        ),
        BackendKind(
            "replay",
            "answers from a recorded run",
            "replay:runs/<run-dir>",
            _make_replay,
            always("needs a recorded run directory"),
            _check_replay,
            free=True,
        ),
        BackendKind(
            "echo",
            "answers with the prompt's first program, instantly and free",
            "echo",
            _make_echo,
            always("always"),
            free=True,
            needs_model=False,
        ),
        BackendKind(
            "scripted",
            "replies from a JSON file, for tests and dry runs",
            "scripted:FILE.json",
            _make_scripted,
            always("needs a JSON file of replies"),
            _check_scripted,
            free=True,
        ),
    )
}
"""Every backend a model string may name, in the order `selftaught models` lists them."""


def split_model_string(model: str) -> tuple[BackendKind, str]:
    """The backend a model string names and the rest of the string (the model)."""
    name, sep, rest = model.partition(":")
    if not sep:
        name, rest = model, ""
    kind = BACKENDS.get(name)
    if kind is None:
        close = difflib.get_close_matches(name, list(BACKENDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"unknown model backend {name!r} in {model!r}{hint}; known: {known}")
    if not rest and kind.needs_model:
        raise ConfigError(f"model string {model!r} names no model, e.g. {DEFAULT_MODEL}")
    return kind, rest


def make_adapter(model: str, options: ModelOptions | None = None) -> Backend:
    """The thin backend a model string names, without shared behaviour."""
    kind, rest = split_model_string(model)
    return kind.make(rest, options or ModelOptions())


def default_concurrency(model: str) -> int:
    """How many requests the backend of `model` (a model string or a backend's name)
    takes at once by default: 8 for servers, 1 for the embedded model."""
    kind = BACKENDS.get(model.partition(":")[0])
    return kind.concurrency if kind else 8


@dataclass(frozen=True)
class BackendStatus:
    """One row of `selftaught models`: a backend and whether it is usable here."""

    backend: str
    usable: bool
    detail: str
    example: str


def backend_status(options: ModelOptions | None = None) -> list[BackendStatus]:
    """Every backend of the table, in order, with what its probe says of this machine."""
    opts = options or ModelOptions()
    return [
        BackendStatus(name, *kind.status(opts), kind.example) for name, kind in BACKENDS.items()
    ]


def price_of(model: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price of a model string: 0 for a free backend; else the configured or listed
    price; None when unknown."""
    kind = BACKENDS.get(model.partition(":")[0])
    if kind is not None and kind.free:
        return Price(input=Decimal(0), output=Decimal(0))
    return listed_price(model, overrides)


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
    from selftaught.lm.wrappers import (
        Bounded,
        ConcurrencyLimit,
        Priced,
        Retrying,
        Samples,
        SpendingCap,
        StopOnOutage,
    )

    opts = options or ModelOptions()
    limit = opts.concurrency or default_concurrency(adapter.name)
    # samples are cut to their bound as they arrive, before anything holds or stores them
    backend: Backend = ConcurrencyLimit(Bounded(adapter), limit)
    extra = {} if sleep is None else {"sleep": sleep}
    backend = Retrying(backend, retries=opts.retries, backoff=opts.backoff, **extra)
    if stop_on_outage:
        backend = StopOnOutage(backend)
    backend = Samples(backend, parallel=limit, takes_n=adapter.supports_n)
    backend = Priced(backend, price_of(adapter.name, opts.prices))
    if cache_path is not None and opts.cache:
        backend = Cached(
            backend,
            ResponseCache(cache_path),
            base_url=adapter.base_url,
            constraints=adapter.constraints,
        )
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
    kind, rest = split_model_string(model)
    if kind.check is not None:
        kind.check(rest, options or ModelOptions())
