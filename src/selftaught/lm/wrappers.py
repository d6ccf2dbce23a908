"""Behaviour every backend shares, each piece a thin wrapper around a backend.

`make_backend` stacks them, outermost first:

    SpendingCap -> Cached -> Priced -> Samples -> [StopOnOutage] -> Retrying
        -> ConcurrencyLimit -> adapter

so a cap is checked before anything is asked, a cache hit never reaches the network,
each single sample is retried on its own, a request waiting out a back-off does not
hold one of the run's concurrency slots, and (in a run) a call whose retries all failed
stops the run instead of failing alone.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

from selftaught.errors import (
    ModelCallFailed,
    ModelUnavailable,
    SpendingCapReached,
    TransientError,
)
from selftaught.lm.base import Backend, Completion, Reply, Request, bounded
from selftaught.lm.pricing import Price

MAX_DELAY = 60.0


class Wrapper(Backend):
    """A backend around a backend; attributes that neither it nor `Backend` defines come
    from the inner one (what an adapter holds of its own, e.g. a scripted backend's
    requests)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    @property
    def defaults_for(self) -> str:
        return self.inner.defaults_for

    @property
    def redraws_no_value(self) -> bool:
        return self.inner.redraws_no_value

    def complete(self, request: Request) -> Reply:
        return self.inner.complete(request)

    def close(self) -> None:
        """Release what the wrapped backends hold (a cache's database, a client)."""
        self.inner.close()


class Bounded(Wrapper):
    """Samples cut to `MAX_SAMPLE_CHARS` as they arrive from the adapter (`bounded`)."""

    def complete(self, request: Request) -> Reply:
        return bounded(self.inner.complete(request))


class ConcurrencyLimit(Wrapper):
    """At most `limit` requests in flight, across every call of the run that shares it."""

    def __init__(self, inner: Backend, limit: int) -> None:
        super().__init__(inner)
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    def complete(self, request: Request) -> Reply:
        with self._slots:
            return self.inner.complete(request)


def backoff_delay(
    attempt: int, *, base: float, retry_after: float | None, rng: random.Random
) -> float:
    """Exponential back-off with jitter (half fixed, half random); never shorter than what
    the server asked for in `Retry-After`."""
    ceiling = min(MAX_DELAY, base * 2**attempt)
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 10 * MAX_DELAY))
    return delay


class Retrying(Wrapper):
    """Retries transient failures `retries` times, then raises `ModelCallFailed`."""

    def __init__(
        self,
        inner: Backend,
        *,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        super().__init__(inner)
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._rng = random.Random(seed)

    def complete(self, request: Request) -> Reply:
        notes: list[str] = []
        sent = False
        for attempt in range(self.retries + 1):
            try:
                reply = self.inner.complete(request)
            except TransientError as exc:
                sent = sent or exc.sent
                if attempt == self.retries:
                    raise ModelCallFailed(
                        f"{self.name}: failed after {attempt + 1} attempts: {exc}",
                        sent=sent,
                        attempts=attempt + 1,
                        transient=True,
                    ) from exc
                delay = backoff_delay(
                    attempt, base=self.backoff, retry_after=exc.retry_after, rng=self._rng
                )
                notes.append(f"attempt {attempt + 1}: {exc}; retried after {delay:.2f} s")
                self._sleep(delay)
                continue
            except ModelCallFailed as exc:
                exc.sent = exc.sent or sent
                exc.attempts += attempt
                raise
            reply.attempts += attempt
            reply.notes[:0] = notes
            return reply
        raise AssertionError("unreachable")


class StopOnOutage(Wrapper):
    """Turns a call whose whole retry budget failed (the server refused, timed out, dropped
    or 5xx'd every attempt) into `ModelUnavailable`, which stops the run cleanly; every
    later call of the run then fails at once, without asking the server."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.outage: ModelUnavailable | None = None

    def complete(self, request: Request) -> Reply:
        if self.outage is not None:
            raise ModelUnavailable(str(self.outage))
        try:
            return self.inner.complete(request)
        except ModelCallFailed as exc:
            if not exc.transient:
                raise
            self.outage = ModelUnavailable(f"the model server is unavailable: {exc}")
            raise ModelUnavailable(str(self.outage)) from None


def _sum_cost(costs: list[Decimal | None]) -> Decimal | None:
    known = [c for c in costs if c is not None]
    return sum(known, Decimal(0)) if len(known) == len(costs) else None


def merge_replies(replies: list[Reply], seconds: float) -> Reply:
    """Several replies as one, their samples in order."""
    return Reply(
        completions=[c for r in replies for c in r.completions],
        seconds=seconds,
        cost=_sum_cost([r.cost for r in replies]),
        attempts=sum(r.attempts for r in replies),
        notes=[n for r in replies for n in r.notes],
    )


class Samples(Wrapper):
    """Exactly `n` samples per request: one request for all of them where the server takes
    `n`, otherwise (or for whatever a server left out) concurrent single requests, with a
    note saying so. Sample i of a request with seed s is asked for with seed s + i."""

    def __init__(self, inner: Backend, *, parallel: int = 8, takes_n: bool | None = True) -> None:
        super().__init__(inner)
        self.parallel = parallel
        self.takes_n = takes_n
        """The adapter's `supports_n`, and once learned from a reply, what it showed."""

    def _singles(self, request: Request, first: int) -> list[Reply]:
        def one(i: int) -> Reply:
            seed = None if request.seed is None else request.seed + i
            return self.inner.complete(replace(request, n=1, seed=seed))

        indices = range(first, request.n)
        if len(indices) == 1:
            return [one(indices[0])]
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(indices))) as pool:
            return list(pool.map(one, indices))

    def complete(self, request: Request) -> Reply:
        start = time.perf_counter()
        if request.n > 1 and self.takes_n is False:
            return merge_replies(self._singles(request, 0), time.perf_counter() - start)
        reply = self.inner.complete(request)
        got = len(reply.completions)
        if got > request.n:
            reply.completions = reply.completions[: request.n]
        if got >= request.n:
            return reply
        if self.takes_n is None and got == 1:
            self.takes_n = False
        reply.notes.append(
            f"the server returned {got} of {request.n} samples for one request;"
            f" asked for the other {request.n - got} one at a time"
        )
        rest = self._singles(request, got) if got else self._singles(request, 0)
        return merge_replies([reply, *rest], time.perf_counter() - start)


class Priced(Wrapper):
    """Puts a price on each reply's fresh (uncached) samples; None where none is known."""

    def __init__(self, inner: Backend, price: Price | None) -> None:
        super().__init__(inner)
        self.price = price

    def complete(self, request: Request) -> Reply:
        reply = self.inner.complete(request)
        fresh = [c for c in reply.completions if not c.cached]
        if self.price is None:
            reply.cost = None if fresh else Decimal(0)
        else:
            reply.cost = self.price.cost(
                sum(c.prompt_tokens for c in fresh), sum(c.completion_tokens for c in fresh)
            )
        return reply


class SpendingCap(Wrapper):
    """The run's caps on tokens and money, shared by every call of the run. The call that
    crosses a cap completes and is recorded; the next one ends the run cleanly."""

    def __init__(self, inner: Backend, *, max_tokens: int | None, max_cost: Decimal | None) -> None:
        super().__init__(inner)
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.tokens = 0
        self.cost = Decimal(0)
        self._lock = threading.Lock()

    def _check(self) -> None:
        with self._lock:
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                raise SpendingCapReached(
                    f"the run's token cap is reached ({self.tokens} of {self.max_tokens});"
                    " resume it with a higher --max-run-tokens"
                )
            if self.max_cost is not None and self.cost >= self.max_cost:
                raise SpendingCapReached(
                    f"the run's money cap is reached (${self.cost:.4f} of ${self.max_cost});"
                    " resume it with a higher --max-run-cost"
                )

    def complete(self, request: Request) -> Reply:
        self._check()
        reply = self.inner.complete(request)
        fresh: list[Completion] = [c for c in reply.completions if not c.cached]
        with self._lock:
            self.tokens += sum(c.prompt_tokens + c.completion_tokens for c in fresh)
            self.cost += reply.cost or Decimal(0)
        return reply
