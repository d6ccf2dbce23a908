"""Fault handling against a local HTTP server: retries, recorded outcome, accounting."""

from __future__ import annotations

import pytest

from selftaught.errors import ModelCallFailed
from selftaught.lm import LanguageModel, LanguageModelError
from selftaught.lm.base import Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import make_adapter, wrap
from tests.lm.conftest import closing
from tests.servers.fake_api import FakeAPI
from tests.servers.llama import free_port

PROGRAM = "Improve:\n```python\ndef algorithm(x):\n    return x\n```\n"


def backend(url: str, delays: list[float], **opts):
    options = ModelOptions(base_url=url, timeout=opts.pop("timeout", 5.0), **opts)
    return closing(wrap(make_adapter("openai:fake-model", options), options, sleep=delays.append))


def session(b, records):
    return LanguageModel(
        b, budget=3, max_responses_per_call=4, max_tokens=32, seed=0, scope="t",
        required_function="algorithm", record=records.append,
    )  # fmt: skip


@pytest.mark.parametrize("fault", ["429", "500", "truncated", "drop"])
def test_a_transient_fault_is_retried_and_recorded(fake_api: FakeAPI, no_sleep, fault):
    fake_api.plan = [fault]
    records = []
    lm = session(backend(fake_api.url, no_sleep), records)
    out = lm.prompt("s", PROGRAM, n_responses=2)
    assert len(out) == 2 and all("def algorithm" in o for o in out)
    assert fake_api.outcomes == [fault, "ok"]
    call = records[0]
    assert call.error is None and call.attempts == 2 and len(no_sleep) == 1
    assert any("attempt 1" in n for n in call.notes)
    # only the answered attempt is counted: the fake bills 10 prompt + 5 per sample
    assert call.usage.prompt_tokens == 10 and call.usage.completion_tokens == 10
    assert call.usage.calls == 1 and lm.calls == 1


def test_a_truncated_reply_costs_one_retry_however_late_the_server_closes(
    fake_api: FakeAPI, no_sleep
):
    # The server closes after the cut-off body; were the connection reused before it
    # closed, the next request would fail too and count a third attempt (as under load).
    fake_api.plan = ["truncated"]
    fake_api.close_delay = 0.3
    records = []
    lm = session(backend(fake_api.url, no_sleep), records)
    lm.prompt("s", PROGRAM, n_responses=2)
    assert fake_api.outcomes == ["truncated", "ok"]
    assert records[0].attempts == 2 and len(no_sleep) == 1


def test_retry_after_is_honoured(fake_api: FakeAPI, no_sleep):
    fake_api.plan = ["429"]
    fake_api.retry_after = "7"
    b = backend(fake_api.url, no_sleep, backoff=0.01)
    b.complete(Request("s", PROGRAM, n=1))
    assert no_sleep[0] >= 7


def test_a_slow_response_times_out_and_is_retried(fake_api: FakeAPI, no_sleep):
    fake_api.plan = ["slow"]
    fake_api.slow_seconds = 2.0
    b = backend(fake_api.url, no_sleep, timeout=0.5)
    reply = b.complete(Request("s", PROGRAM, n=1))
    assert fake_api.outcomes == ["slow", "ok"] and reply.attempts == 2
    assert "no response within 0.5 s" in reply.notes[0]


def test_a_call_that_finally_fails_raises_a_clear_error_and_counts(fake_api: FakeAPI, no_sleep):
    fake_api.default = "500"
    records = []
    lm = session(backend(fake_api.url, no_sleep, retries=2), records)
    with pytest.raises(LanguageModelError, match="failed after 3 attempts: HTTP 500"):
        lm.prompt("s", PROGRAM)
    assert len(fake_api.requests) == 3 and len(no_sleep) == 2
    call = records[0]
    assert call.error.startswith("openai:fake-model: failed after 3 attempts")
    assert call.attempts == 3 and call.usage.calls == 1 and call.usage.samples == 0
    assert lm.calls == 1  # it was sent: it counts against the budget


def test_a_call_never_sent_costs_no_budget(no_sleep):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    records = []
    lm = session(backend(url, no_sleep, retries=1), records)
    with pytest.raises(LanguageModelError, match="connection failed"):
        lm.prompt("s", PROGRAM)
    assert lm.calls == 0 and records[0].usage.calls == 0
    assert "not sent" in records[0].notes[-1]


def test_a_client_error_is_not_retried(fake_api: FakeAPI, no_sleep):
    fake_api.plan = ["400"]
    b = backend(fake_api.url, no_sleep)
    with pytest.raises(ModelCallFailed, match="HTTP 400"):
        b.complete(Request("s", PROGRAM))
    assert no_sleep == [] and len(fake_api.requests) == 1


def test_fewer_samples_than_asked_are_topped_up_with_a_note(no_sleep):
    with FakeAPI(supports_n=False) as api:
        b = backend(api.url, no_sleep)
        reply = b.complete(Request("s", PROGRAM, n=3, seed=5))
        assert len(reply.completions) == 3
        assert "returned 1 of 3 samples" in reply.notes[0]
        assert sorted(r.get("seed") for r in api.requests) == [5, 6, 7]  # sent at once
        api.requests.clear()
        b.complete(Request("s", PROGRAM, n=2, seed=1))  # now asked one by one at once
        assert [r.get("n") for r in api.requests] == [None, None]
