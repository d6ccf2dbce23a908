"""The response cache: keys, hits that cost no money, re-running a run from its cache."""

from __future__ import annotations

from decimal import Decimal

from selftaught.lm import LanguageModel, ScriptedBackend
from selftaught.lm.base import AnswerShape, Request
from selftaught.lm.cache import Cached, ResponseCache, cache_key
from selftaught.lm.options import ModelOptions
from selftaught.lm.pricing import Price
from selftaught.lm.registry import wrap


def counting(name="openai:m"):
    return ScriptedBackend(lambda req, i: f"seed {req.seed} sample {i}", name=name)


def test_key_covers_what_determines_a_response_and_nothing_else():
    ident = {"model": "openai:m", "base_url": None}
    base = Request("sys", "msg", n=1, temperature=0.7, max_tokens=100, seed=1)
    k = cache_key(ident, base, 0)
    assert k == cache_key(
        ident, Request("sys", "msg", n=4, temperature=0.7, max_tokens=100, seed=1), 0
    )
    for other in [
        cache_key({"model": "openai:n", "base_url": None}, base, 0),
        cache_key({"model": "openai:m", "base_url": "http://127.0.0.1:1/v1"}, base, 0),
        cache_key(ident, Request("other", "msg", seed=1, max_tokens=100), 0),
        cache_key(ident, Request("sys", "other", seed=1, max_tokens=100), 0),
        cache_key(ident, Request("sys", "msg", temperature=0.2, seed=1, max_tokens=100), 0),
        cache_key(ident, Request("sys", "msg", max_tokens=99, seed=1), 0),
        cache_key(ident, Request("sys", "msg", max_tokens=100, seed=2), 0),
        cache_key(ident, base, 1),
    ]:
        assert other != k


def test_what_only_a_grammar_reads_of_a_shape_is_in_the_key_of_constrained_backends_only():
    free = {"model": "openai:m", "base_url": None}
    held = {**free, "constraints": "llama.cpp/4"}
    header = "def f(x):\n"
    plain = Request("sys", "msg", seed=1, shape=AnswerShape(header=header))
    others = [
        AnswerShape(header=header, nested=True),
        AnswerShape(header=header, helpers=True),
        AnswerShape(form="edits", program="def f(x):\n    return x\n"),
    ]
    for shape in others:
        other = Request("sys", "msg", seed=1, shape=shape)
        assert cache_key(held, plain, 0) != cache_key(held, other, 0)
    for shape in others[:2]:  # a backend that ignores them answers the same: same key
        other = Request("sys", "msg", seed=1, shape=shape)
        assert cache_key(free, plain, 0) == cache_key(free, other, 0)


def test_a_hit_costs_no_money_but_is_still_a_call(tmp_path):
    inner = counting()
    options = ModelOptions(prices={"openai:m": Price(input=Decimal(1), output=Decimal(1))})
    b = wrap(inner, options, cache_path=tmp_path / "cache.sqlite")
    first = b.complete(Request("s", "m", n=2, seed=3))
    assert first.cost > 0 and len(inner.requests) == 1
    again = b.complete(Request("s", "m", n=2, seed=3))
    assert [c.text for c in again.completions] == [c.text for c in first.completions]
    assert again.cost == 0 and all(c.cached for c in again.completions)
    assert again.usage.cached == 2 and len(inner.requests) == 1
    lm = LanguageModel(b, budget=1, max_responses_per_call=2, max_tokens=1024, seed=0, scope="x")
    lm.prompt("s", "m")
    lm2 = LanguageModel(b, budget=1, max_responses_per_call=2, max_tokens=1024, seed=0, scope="x")
    lm2.prompt("s", "m")  # same scope and seed: served from the cache, still one call
    assert lm2.calls == 1 and lm2.usage.cached == 1 and lm2.usage.cost == 0
    b.cache.close()


def test_only_missing_samples_are_asked_for(tmp_path):
    inner = counting()
    b = Cached(inner, ResponseCache(tmp_path / "c.sqlite"), base_url=None)
    one = b.complete(Request("s", "m", n=1, seed=10))
    three = b.complete(Request("s", "m", n=3, seed=10))
    assert three.completions[0].text == one.completions[0].text
    assert inner.requests[-1].n == 2 and inner.requests[-1].seed == 11
    assert "1 of 3 samples from the cache" in three.notes[0]
    b.cache.close()


def test_a_rerun_in_the_same_directory_is_answered_from_the_cache(tmp_path):
    path = tmp_path / "cache.sqlite"
    first_backend = counting()
    first = wrap(first_backend, None, cache_path=path)
    answers = [first.complete(Request("s", f"m{i}", n=2, seed=i)) for i in range(3)]
    second_backend = counting()
    second = wrap(second_backend, None, cache_path=path)
    again = [second.complete(Request("s", f"m{i}", n=2, seed=i)) for i in range(3)]
    first.cache.close()
    second.cache.close()
    assert second_backend.requests == []
    assert [[c.text for c in r.completions] for r in again] == [
        [c.text for c in r.completions] for r in answers
    ]


def test_the_cache_can_be_turned_off(tmp_path):
    inner = counting()
    b = wrap(inner, ModelOptions(cache=False), cache_path=tmp_path / "c.sqlite")
    b.complete(Request("s", "m", seed=1))
    b.complete(Request("s", "m", seed=1))
    assert len(inner.requests) == 2 and not (tmp_path / "c.sqlite").exists()


def test_a_huge_sample_is_cut_as_it_arrives_before_the_cache_stores_it(tmp_path):
    # an 18 MB reply was cached whole, sample after sample (91 MB of cache for 5 samples)
    import json
    import sqlite3
    from contextlib import closing

    from selftaught.lm import make_backend
    from selftaught.lm.base import MAX_SAMPLE_CHARS, Request

    replies = tmp_path / "huge.json"
    replies.write_text(json.dumps([{"when": "", "reply": "A" * (5 * MAX_SAMPLE_CHARS)}]))
    cache = tmp_path / "cache.sqlite"
    with closing(make_backend(f"scripted:{replies}", cache_path=cache)) as backend:
        reply = backend.complete(Request(system="s", user="u", n=2, seed=1))
    assert [len(c.text) for c in reply.completions] == [MAX_SAMPLE_CHARS] * 2
    assert {c.finish_reason for c in reply.completions} == {"length"}
    assert any("was cut to" in note for note in reply.notes)
    with closing(sqlite3.connect(cache)) as db:
        stored = db.execute("SELECT COUNT(*), SUM(LENGTH(CAST(text AS BLOB))) FROM samples")
        count, size = stored.fetchone()
    assert count == 2 and size <= 2 * MAX_SAMPLE_CHARS + 1000
