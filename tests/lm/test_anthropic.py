"""The Anthropic backend at its official client's request/response boundary, against a
loopback server returning recorded Messages API JSON."""

from __future__ import annotations

import pytest

from selftaught.errors import UserError
from selftaught.lm.base import Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import check_model_string, make_adapter, wrap
from tests.lm.conftest import closing
from tests.servers.fake_api import FakeAPI

PROMPT = "```python\ndef algorithm():\n    return 1\n```"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")


def test_messages_request_and_reply(fake_api: FakeAPI, key):
    fake_api.models = ("claude-test",)
    options = ModelOptions(base_url=fake_api.root)
    b = closing(wrap(make_adapter("anthropic:claude-test", options), options))
    reply = b.complete(Request("be brief", PROMPT, n=3, temperature=0.7, max_tokens=50))
    assert len(reply.completions) == 3 and len(fake_api.requests) == 3  # one sample each
    body = fake_api.requests[0]
    assert body["system"] == "be brief" and body["max_tokens"] == 50
    assert body["temperature"] == 0.7
    assert body["messages"] == [{"role": "user", "content": PROMPT}]
    assert "def algorithm" in reply.completions[0].text
    assert reply.usage.prompt_tokens == 36 and reply.usage.completion_tokens == 21
    assert reply.cost is None  # no price for an unknown model: unknown, not free


def test_known_model_is_priced(fake_api: FakeAPI, key):
    fake_api.models = ("claude-3-5-haiku-latest",)
    options = ModelOptions(base_url=fake_api.root)
    b = closing(wrap(make_adapter("anthropic:claude-3-5-haiku-latest", options), options))
    reply = b.complete(Request("s", PROMPT))
    # 12 input tokens at $0.80/M + 7 output tokens at $4/M
    assert str(reply.cost) == "0.0000376"


def test_unknown_model_is_one_line_before_any_work(fake_api: FakeAPI, key):
    options = ModelOptions(base_url=fake_api.root)
    with pytest.raises(UserError, match="does not know model 'claude-nope'"):
        check_model_string("anthropic:claude-nope", options)
    fake_api.models = ("claude-nope",)
    check_model_string("anthropic:claude-nope", options)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY is not set"):
        check_model_string("anthropic:claude-sonnet-4-0")
