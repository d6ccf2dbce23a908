"""Concurrency, back-off, sample counts and spending caps, with scripted backends."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest

from selftaught.errors import SpendingCapReached
from selftaught.lm import ScriptedBackend
from selftaught.lm.base import Completion, Reply, Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.pricing import Price
from selftaught.lm.registry import price_of, wrap
from selftaught.lm.wrappers import ConcurrencyLimit, backoff_delay


class Gate:
    """Answers once `width` requests are in flight together (or after 30 s alone): no
    request ends before the width was reached, so a limiter that lets `width` through at
    once shows `peak == width` however slowly the threads are scheduled."""

    name = "openai:gate"
    supports_n = False

    def __init__(self, width: int) -> None:
        self.width = width
        self.in_flight = 0
        self.peak = 0
        self._all_in = threading.Condition()

    def complete(self, request: Request) -> Reply:
        with self._all_in:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._all_in.notify_all()
            self._all_in.wait_for(lambda: self.peak >= self.width, timeout=30)
            self.in_flight -= 1
        return Reply([Completion("x", 1, 1) for _ in range(request.n)])


def test_concurrency_limit_holds_across_callers():
    inner = Gate(3)
    b = ConcurrencyLimit(inner, 3)
    threads = [threading.Thread(target=b.complete, args=(Request("s", "m"),)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inner.peak == 3  # reached (the gate waits for it), never passed


def test_samples_go_out_concurrently_when_the_server_takes_no_n():
    inner = Gate(6)
    reply = wrap(inner, ModelOptions(concurrency=8)).complete(Request("s", "m", n=6, seed=0))
    assert len(reply.completions) == 6 and inner.peak == 6


def test_backoff_grows_with_jitter_and_respects_retry_after():
    rng = random.Random(0)
    delays = [backoff_delay(k, base=1.0, retry_after=None, rng=rng) for k in range(8)]
    for k, d in enumerate(delays):
        ceiling = min(60.0, 2.0**k)
        assert ceiling / 2 <= d <= ceiling
    assert backoff_delay(0, base=1.0, retry_after=30, rng=rng) >= 30


def test_token_cap_ends_the_run_after_the_call_that_crosses_it():
    b = wrap(
        ScriptedBackend(lambda r, i: "x" * 400, name="openai:m"), ModelOptions(max_run_tokens=150)
    )
    b.complete(Request("s", "m", n=1))  # 100 completion tokens
    b.complete(Request("s", "m", n=1))  # crosses the cap; still answered
    with pytest.raises(SpendingCapReached, match="token cap is reached"):
        b.complete(Request("s", "m", n=1))


def test_money_cap():
    options = ModelOptions(
        max_run_cost=Decimal("0.001"),
        prices={"openai:m": Price(input=Decimal(0), output=Decimal(10))},
    )
    b = wrap(ScriptedBackend(lambda r, i: "x" * 400, name="openai:m"), options)
    b.complete(Request("s", "m"))  # 100 tokens at $10/M = $0.001
    with pytest.raises(SpendingCapReached, match="money cap"):
        b.complete(Request("s", "m"))


def test_prices():
    assert price_of("local:smollm2").input == 0
    assert price_of("openai:gpt-4o-2024-08-06") == price_of("openai:gpt-4o")
    assert price_of("openai:my-own-model") is None
    own = Price(input=Decimal("1"), output=Decimal("2"))
    assert price_of("openai:my-own-model", {"openai:my-own-model": own}) == own
    assert own.cost(1_000_000, 500_000) == Decimal(2)
