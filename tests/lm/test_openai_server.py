"""The OpenAI backend against a real OpenAI-compatible server on loopback: llama.cpp's
own server (llama-cpp-python[server]) serving the embedded SmolLM2 file."""

from __future__ import annotations

import pytest

from selftaught.errors import UserError
from selftaught.lm.base import AnswerShape, Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import check_model_string, make_backend
from selftaught.stop import run_stop, seed_improver
from tests.lm.conftest import closing
from tests.servers.llama import llama_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_url():
    with llama_server(alias="smollm2") as url:
        yield url


def test_server_checks_run_before_any_work(server_url):
    options = ModelOptions(base_url=server_url)
    check_model_string("openai:smollm2", options)
    with pytest.raises(UserError, match="did you mean 'smollm2'"):
        check_model_string("openai:smollm", options)


def test_several_samples_with_usage(server_url):
    backend = closing(make_backend("openai:smollm2", ModelOptions(base_url=server_url)))
    reply = backend.complete(
        Request(
            "You write Python.",
            "Write a function that adds two numbers.",
            n=2,
            max_tokens=24,
            seed=1,
        )
    )
    assert len(reply.completions) == 2 and all(c.text for c in reply.completions)
    assert reply.usage.prompt_tokens > 10 and 0 < reply.usage.completion_tokens <= 48
    assert reply.cost is None  # a model of one's own server has no known price
    # llama.cpp's server answers one choice whatever `n` says: the rest came one by one
    assert any("returned 1 of 2 samples" in n for n in reply.notes)


def test_a_grammar_holds_the_server_to_one_block_started_with_the_header(server_url):
    backend = closing(
        make_backend("openai:smollm2", ModelOptions(base_url=server_url, grammar="llama.cpp"))
    )
    header = "def algorithm(xs):\n"
    request = Request(
        "You write Python.",
        "Write algorithm(xs), which returns xs sorted.",
        n=1,
        max_tokens=60,
        seed=1,
        shape=AnswerShape(header=header),
    )
    (c,) = backend.complete(request).completions
    assert c.text.startswith("```python\n" + header)
    if c.finish_reason == "stop":
        assert c.text.endswith("```") and c.text.count("```") == 2


def test_a_short_stop_iteration_through_the_server(server_url, make_ctx, tmp_path):
    options = ModelOptions(base_url=server_url)
    backend = closing(make_backend("openai:smollm2", options, cache_path=tmp_path / "cache.sqlite"))
    ctx = make_ctx(
        backend, iterations=1, runs=1, parallel=1,
        budgets={"lm_calls": 1, "samples_per_call": 2, "utility_calls": 3, "max_tokens": 48},
    )  # fmt: skip
    rows = run_stop(ctx, seed_improver(), ctx.run_dir)
    assert len(rows) == 2
    calls = ctx.store.query("SELECT * FROM model_calls")
    assert calls and all(c["error"] is None and c["samples"] == 2 for c in calls)
    assert all(c["backend"] == "openai:smollm2" and c["completion_tokens"] > 0 for c in calls)
    assert {c["priced"] for c in calls} == {0}
    backend.cache.close()
