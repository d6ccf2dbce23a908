"""Model strings and the checks that run before any work."""

from __future__ import annotations

import pytest

from selftaught.errors import UserError
from selftaught.lm.base import Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import check_model_string, make_backend
from tests.lm.conftest import closing
from tests.servers.fake_api import FakeAPI
from tests.servers.llama import free_port


def test_unknown_backend_suggests_the_closest():
    with pytest.raises(UserError, match="did you mean 'openai'"):
        check_model_string("opnai:gpt-4o")


def test_missing_openai_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        check_model_string("openai:gpt-4o")
    with pytest.raises(UserError, match="MY_KEY is not set"):
        check_model_string(
            "openai:gpt-4o", ModelOptions(api_key_env="MY_KEY", base_url="http://127.0.0.1:9/v1")
        )


def test_unreachable_server_is_one_line(monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(UserError, match="cannot reach the model server at http://127.0.0.1"):
        check_model_string("openai:m", ModelOptions(base_url=url))


def test_a_model_the_server_lacks_gets_a_suggestion(fake_api: FakeAPI):
    fake_api.models = ("smollm2", "qwen")
    with pytest.raises(UserError, match="does not serve model 'smollm' \\(did you mean 'smollm2'"):
        check_model_string("openai:smollm", ModelOptions(base_url=fake_api.url))
    check_model_string("openai:smollm2", ModelOptions(base_url=fake_api.url))


def test_base_url_from_the_environment(fake_api: FakeAPI, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_api.url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    b = closing(make_backend("openai:fake-model"))
    assert b.complete(Request("s", "```python\nx = 1\n```", n=2)).usage.samples == 2


def test_reasoning_models_get_max_completion_tokens(fake_api: FakeAPI):
    b = closing(make_backend("openai:o3-mini", ModelOptions(base_url=fake_api.url)))
    b.complete(Request("s", "m", max_tokens=77, temperature=0.7))
    body = fake_api.requests[-1]
    assert body["max_completion_tokens"] == 77 and "max_tokens" not in body
    assert "temperature" not in body
    closing(make_backend("openai:gpt-4o", ModelOptions(base_url=fake_api.url))).complete(
        Request("s", "m", max_tokens=77)
    )
    assert fake_api.requests[-1]["max_tokens"] == 77


def test_echo_answers_with_the_first_program():
    b = make_backend("echo")
    reply = b.complete(Request("s", "a\n```python\ndef f():\n    pass\n```\n```\nother\n```", n=2))
    assert [c.text for c in reply.completions] == ["```python\ndef f():\n    pass\n```"] * 2
    assert reply.cost == 0


def test_closing_a_backend_closes_its_http_client(fake_api):
    # a run closes its backend when it ends; the HTTP client's pooled sockets went
    # unclosed until garbage collection (a ResourceWarning in some later test)
    b = make_backend("openai:fake-model", ModelOptions(base_url=fake_api.url))
    b.complete(Request("s", "m"))
    b.close()
    assert b.client.is_closed
