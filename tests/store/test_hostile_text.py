"""No text can make a write to the records or the response cache fail: lone surrogates,
NULs, control characters, random bytes and huge texts are stored cleaned and bounded,
and read back as written (fuzzed with Hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selftaught.lm.base import Completion, Request
from selftaught.lm.cache import ResponseCache, cache_key
from selftaught.store import Store
from selftaught.store.db import program_hash
from selftaught.store.limits import DEFAULT_TEXT_CHARS, TEXT_CHARS, stored
from selftaught.store.rows import EvaluationRow, EventRow, ModelCallRow
from selftaught.text import clean_text

HOSTILE = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.lists(
        st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b]52;c;QUFB\x07", "\x9b", "a", "\n"])
    ).map("".join),
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "records.sqlite")
    yield s
    s.close()


@pytest.fixture
def cache(tmp_path):
    c = ResponseCache(tmp_path / "cache.sqlite")
    yield c
    c.close()


@SETTINGS
@given(text=HOSTILE)
def test_any_text_is_stored_in_every_kind_of_row_and_read_back_cleaned(store, text):
    store.add_model_call(
        ModelCallRow(
            iteration=0,
            scope=text,
            system=text,
            messages=json.dumps([text, text]),
            responses=json.dumps([text]),
            error=text,
            notes=json.dumps([text]),
        )
    )
    store.add_evaluation(EvaluationRow(iteration=0, scope="s", message=text, outcome="error"))
    store.add_event(EventRow(iteration=0, scope="s", kind=text[:64], detail=text))
    digest = store.save_program(text, "solution")
    store.set_meta(text, {"text": text})
    assert len(digest) == 16 and digest == program_hash(text)
    call = store.query("SELECT system, messages FROM model_calls ORDER BY id DESC LIMIT 1")[0]
    assert call["system"] == clean_text(text)
    in_json = clean_text(json.loads(json.dumps(text)))  # JSON pairs up adjacent surrogates
    assert json.loads(call["messages"]) == [in_json] * 2
    assert store.program(digest) == clean_text(text)
    event = store.query("SELECT detail FROM events ORDER BY id DESC LIMIT 1")[0]
    assert event["detail"] == clean_text(text)


def test_a_prompt_and_an_answer_with_a_lone_surrogate_are_cached_and_come_back(cache):
    request = Request(system="sys \ud800", user="improve \udcff this", temperature=0.7)
    key = cache_key({"model": "scripted"}, request, 0)
    assert key != cache_key({"model": "scripted"}, Request(system="sys", user="x"), 0)
    cache.put(key, Completion("```python\nx = '\ud800\x00'\n```", 3, 4))
    again = cache.get(key)
    assert again is not None and again.text == "```python\nx = '\ufffd\ufffd'\n```"
    again.text.encode("utf-8")


@SETTINGS
@given(text=HOSTILE)
def test_any_answer_is_cached_and_read_back_cleaned(cache, text):
    request = Request(system=text, user=text)
    key = cache_key({"model": text}, request, 0)
    cache.put(key, Completion(text, 1, 1, finish_reason=text))
    got = cache.get(key)
    assert got is not None and got.text == clean_text(text)


def test_a_huge_text_is_cut_to_its_column_and_says_so(store):
    store.add_evaluation(EvaluationRow(iteration=0, message="m" * 5_000_000, outcome="error"))
    (row,) = store.query("SELECT message FROM evaluations")
    assert len(row["message"]) <= DEFAULT_TEXT_CHARS and "5,000,000 characters" in row["message"]


def test_a_huge_list_of_messages_keeps_its_shape_and_the_call_notes_the_cut(store):
    messages = ["a" * 900_000, "short", "b" * 900_000]
    store.add_model_call(ModelCallRow(iteration=0, messages=json.dumps(messages)))
    (row,) = store.query("SELECT messages, notes FROM model_calls")
    kept = json.loads(row["messages"])
    assert len(row["messages"]) <= TEXT_CHARS["messages"]
    assert len(kept) == 3 and kept[1] == "short" and "900,000 characters" in kept[0]
    assert "messages cut" in json.loads(row["notes"])[-1]


def test_stored_is_idempotent_and_never_longer_than_the_limit():
    for column in ["message", "messages", "system", "source", "detail"]:
        value, cut = stored(column, "\ud800" * 3_000_000)
        assert cut and len(value) <= TEXT_CHARS.get(column, DEFAULT_TEXT_CHARS)
        assert stored(column, value) == (value, False)
