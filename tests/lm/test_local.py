"""The real embedded model (SmolLM2-135M through llama.cpp)."""

import pytest

from selftaught.errors import UserError
from selftaught.lm.base import Request
from selftaught.lm.local import LocalBackend, embedded_model_path, resolve_model_path
from selftaught.program.extract import extract_one

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend():
    return LocalBackend("smollm2")


def test_embedded_model_file_is_found_without_importing_its_package():
    path = embedded_model_path("smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_missing_model_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="model file not found"):
        resolve_model_path(str(tmp_path / "nope.gguf"))


def test_several_samples_per_call_with_usage(backend):
    request = Request(
        system="You are an expert Python programmer.",
        user="Write a Python function algorithm(xs) that returns xs sorted.",
        n=3,
        max_tokens=64,
        seed=1,
    )
    reply = backend.complete(request)
    assert len(reply.completions) == 3
    for c in reply.completions:
        assert c.text.startswith("```python\n")  # the answer is started with the fence
        assert c.prompt_tokens > 10 and 0 < c.completion_tokens <= 64
    assert reply.usage.samples == 3 and reply.usage.calls == 1


def test_same_seed_same_text(backend):
    request = Request(
        system="s",
        user="Write a Python function that adds two numbers.",
        n=1,
        max_tokens=48,
        seed=7,
    )
    first = backend.complete(request).completions[0].text
    # another prompt with the same start in between: the cache holds a different prefix
    backend.complete(Request(system="s", user="Write a Python function.", n=1, max_tokens=8))
    # the same request again (it used to reuse the cached prompt and sample other text)
    assert backend.complete(request).completions[0].text == first
    assert backend.complete(request).completions[0].text == first


def test_a_chat_format_without_a_stop_string_still_answers(backend, monkeypatch):
    """A model whose chat template names no stop string (llama.cpp's formatter gives None):
    the stop list used to hold None, and llama.cpp failed on it."""
    formatter = backend._format

    def no_stop(**kwargs):
        formatted = formatter(**kwargs)
        formatted.stop = None
        return formatted

    monkeypatch.setattr(backend, "_format", no_stop)
    request = Request(system="s", user="Write a Python function.", n=1, max_tokens=8)
    assert len(backend.complete(request).completions) == 1


def test_responses_mostly_carry_code(backend):
    request = Request(
        system="You are an expert Python programmer.",
        user="Write a Python function algorithm(xs) that returns the largest element of xs.",
        n=4,
        max_tokens=96,
        seed=3,
    )
    codes = [extract_one(c.text) for c in backend.complete(request).completions]
    assert sum(bool(c) for c in codes) >= 2


def test_the_embedded_model_samples_256_tokens_unless_the_options_say_otherwise(backend):
    from selftaught.lm.options import ModelOptions
    from selftaught.lm.session import LanguageModel

    def lm(**options):
        return LanguageModel(
            backend,
            budget=1,
            max_responses_per_call=1,
            max_tokens=400,
            seed=0,
            scope="t",
            options=ModelOptions(**options),
        )

    assert lm().max_tokens == 256
    assert lm(max_tokens=400).max_tokens == 400  # `[lm] max_tokens` lifts it
    assert lm(max_tokens=100).max_tokens == 100
