"""Record a short run, replay it: the same improvers and the same scores."""

from __future__ import annotations

import json
import sqlite3

import pytest

from selftaught.errors import ModelCallFailed, SpendingCapReached, UnrecordedRequest
from selftaught.lm import ScriptedBackend
from selftaught.lm.base import Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import make_backend, wrap
from selftaught.stop import run_stop, seed_improver

IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """REPLAYED: two different prompts, so one call makes two requests."""
    responses = language_model.batch_prompt(
        "expert", ["A\\n" + initial_solution, "B\\n" + initial_solution, "A\\n" + initial_solution]
    )
    candidates = [initial_solution] + [c for c in extract_code(responses) if c]
    return max(candidates, key=utility)
'''


def seeded(request: Request, index: int) -> str:
    """Answers depend on the request's seed, so only a faithful replay matches."""
    if "meta_utility" in request.user:
        return f"```python\n{IMPROVER}```"
    bit = (request.seed + index) % 2
    return (
        "```python\ndef algorithm(train_samples, train_parity, test_samples):\n"
        f"    return [{bit}] * len(test_samples)\n```"
    )


def summary(ctx):
    rows = ctx.store.iterations()
    return [(r["improver_hash"], r["validation"], r["heldout"], r["adopted"]) for r in rows]


def test_a_replayed_run_has_the_same_improvers_and_scores(make_ctx):
    original = make_ctx(wrap(ScriptedBackend(seeded)), iterations=1, runs=2, parallel=2)
    run_stop(original, seed_improver(), original.run_dir)
    recorded = summary(original)

    replay = make_backend(f"replay:{original.run_dir.path}")
    again = make_ctx(replay, iterations=1, runs=2, parallel=2)
    run_stop(again, seed_improver(), again.run_dir)
    assert summary(again) == recorded
    assert _responses(again) == _responses(original)


def test_replay_fails_loudly_on_an_unrecorded_request(make_ctx):
    original = make_ctx(wrap(ScriptedBackend(seeded)), iterations=0, runs=1)
    run_stop(original, seed_improver(), original.run_dir)
    replay = make_backend(f"replay:{original.run_dir.path}")
    with pytest.raises(UnrecordedRequest, match="never asked"):
        replay.complete(Request("expert", "something else", seed=1))
    other_seed = make_ctx(replay, iterations=0, runs=1, seed=99)
    with pytest.raises(UnrecordedRequest):
        run_stop(other_seed, seed_improver(), other_seed.run_dir)


def test_a_token_cap_stops_the_run_and_keeps_what_it_recorded(make_ctx):
    capped = wrap(ScriptedBackend(seeded, name="openai:m"), ModelOptions(max_run_tokens=50))
    ctx = make_ctx(capped, iterations=2, runs=2, parallel=1)
    with pytest.raises(SpendingCapReached):
        run_stop(ctx, seed_improver(), ctx.run_dir)
    calls = ctx.store.query("SELECT * FROM model_calls")
    assert len(calls) >= 1 and all(c["error"] is None for c in calls)


def flaky(request: Request, index: int) -> str:
    """Every third sample of a stream is unusable, so a run with redraws draws again."""
    if "meta_utility" in request.user:
        return f"```python\n{IMPROVER}```"
    position = request.seed + index
    if position % 3 == 0:
        return "no code here"
    return (
        "```python\ndef algorithm(train_samples, train_parity, test_samples):\n"
        f"    return [{position % 2}] * len(test_samples)\n```"
    )


def test_a_run_that_drew_samples_again_replays_sample_for_sample(make_ctx):
    # the embedded model draws again and asks 256 tokens a sample by default (the
    # budget says 400): its replay must do both, unasked
    local = ScriptedBackend(flaky, name="local:smollm2")
    original = make_ctx(wrap(local), iterations=1, runs=2, parallel=2)
    run_stop(original, seed_improver(), original.run_dir)
    notes = [r["notes"] or "" for r in original.store.query("SELECT notes FROM model_calls")]
    assert any("again" in n for n in notes)  # the run did draw again
    # the records say which of the drawn responses the improver received
    calls = original.store.query("SELECT messages, responses, answers FROM model_calls")
    for c in calls:
        drawn, given = json.loads(c["responses"]), json.loads(c["answers"])
        assert sorted(set(given)) == sorted(given) and all(0 <= g < len(drawn) for g in given)
    assert any(len(json.loads(c["responses"])) > len(json.loads(c["answers"])) for c in calls)
    assert {
        r["max_tokens"] for r in original.store.query("SELECT max_tokens FROM model_calls")
    } == {256}

    replay = make_backend(f"replay:{original.run_dir.path}")
    assert replay.defaults_for == "local:smollm2"
    again = make_ctx(replay, iterations=1, runs=2, parallel=2)
    run_stop(again, seed_improver(), again.run_dir)
    assert summary(again) == summary(original)
    assert _responses(again) == _responses(original)
    # a replay of the replay still knows the first model's defaults
    twice = make_backend(f"replay:{again.run_dir.path}")
    assert twice.defaults_for == "local:smollm2"
    third = make_ctx(twice, iterations=1, runs=2, parallel=2)
    run_stop(third, seed_improver(), third.run_dir)
    assert summary(third) == summary(original)


def test_a_run_whose_drawing_again_failed_replays_and_stops_drawing_there_too(make_ctx):
    failing = {"calls": 0}
    first_seeds: dict[str, list[int]] = {}

    def fails_on_redraws(request: Request, index: int) -> str:
        seeds = first_seeds.setdefault(request.user, [])
        if any(0 < request.seed - s < 10 for s in seeds):  # continues a stream: a redraw
            failing["calls"] += 1
            raise ModelCallFailed("the server went away", sent=True)
        if index == 0:
            seeds.append(request.seed)
        return flaky(request, index)

    local = ScriptedBackend(fails_on_redraws, name="local:smollm2")
    original = make_ctx(wrap(local, ModelOptions(retries=0)), iterations=0, runs=1)
    run_stop(original, seed_improver(), original.run_dir)
    notes = [r["notes"] or "" for r in original.store.query("SELECT notes FROM model_calls")]
    assert failing["calls"] and any("drawing again failed" in n for n in notes)

    again = make_ctx(make_backend(f"replay:{original.run_dir.path}"), iterations=0, runs=1)
    run_stop(again, seed_improver(), again.run_dir)
    assert summary(again) == summary(original)


def test_a_place_holding_two_different_recorded_samples_is_not_replayed_silently(make_ctx):
    from selftaught.lm.session import ModelCall, derive_seed

    ctx = make_ctx(wrap(ScriptedBackend(seeded)), iterations=0, runs=1)

    def call(seed: int, texts: list[str]) -> ModelCall:
        return ModelCall("s", "scripted", "sys", ["m"] * len(texts), 0.7, 64, seed, texts)

    # two calls of one message whose sample streams start at the same place, with
    # different answers there: which one a replay meant cannot be known
    ctx.record_model_call(0, call(10, ["a", "b"]))
    ctx.record_model_call(0, call(10, ["c"]))
    replay = make_backend(f"replay:{ctx.run_dir.path}")
    stream = derive_seed(10, 0)
    second = replay.complete(Request("sys", "m", n=1, seed=stream + 1, max_tokens=64))
    assert second.completions[0].text == "b"
    with pytest.raises(UnrecordedRequest, match="two different samples"):
        replay.complete(Request("sys", "m", n=1, seed=stream, max_tokens=64))


def _responses(ctx) -> list:
    rows = ctx.store.query("SELECT scope, responses FROM model_calls")
    return sorted((r["scope"], r["responses"]) for r in rows)


def _rewrite(ctx, sql: str, params: tuple = ()) -> None:
    """Change a finished run's records as an older selftaught would have written them
    (through a connection of its own; the run's stays open until its assembly ends)."""
    db = sqlite3.connect(ctx.store.path)
    db.execute(sql, params)
    db.commit()
    db.close()


def lost_returns(request: Request, index: int) -> str:
    """In a stream, one sample in four has no code, one defines the function but returns
    nothing, the others return a value."""
    if "meta_utility" in request.user:
        return f"```python\n{IMPROVER}```"
    position = request.seed + index
    if position % 4 == 0:
        return "no code here"
    body = "x = 1" if position % 4 == 1 else f"return [{position % 2}] * len(test_samples)"
    return f"```python\ndef algorithm(train_samples, train_parity, test_samples):\n    {body}\n```"


def test_a_run_recorded_before_answers_returning_nothing_were_drawn_again_replays(make_ctx):
    class OlderRules(ScriptedBackend):
        redraws_no_value = False  # as selftaught drew before that rule

    old = make_ctx(wrap(OlderRules(lost_returns, name="local:smollm2")), iterations=0, runs=2)
    run_stop(old, seed_improver(), old.run_dir)
    recorded, drawn = summary(old), _responses(old)
    _rewrite(old, "UPDATE model_calls SET answers = NULL")  # nor did it record them

    again = make_ctx(make_backend(f"replay:{old.run_dir.path}"), iterations=0, runs=2)
    run_stop(again, seed_improver(), again.run_dir)
    assert summary(again) == recorded and _responses(again) == drawn
    # today's rule draws again for them: a run recorded under it would differ
    today = make_ctx(
        wrap(ScriptedBackend(lost_returns, name="local:smollm2")), iterations=0, runs=2
    )
    run_stop(today, seed_improver(), today.run_dir)
    count = "SELECT SUM(samples) AS n FROM model_calls"
    assert today.store.query(count)[0]["n"] > again.store.query(count)[0]["n"]


def test_a_replay_chain_ends_where_a_replayed_run_is_gone_or_names_itself(make_ctx, tmp_path):
    from selftaught.lm.replay import first_model

    gone = str(tmp_path / "gone")
    assert first_model(f"replay:{gone}") == f"replay:{gone}"
    assert first_model("local:smollm2") == "local:smollm2" and first_model(None) is None
    ctx = make_ctx(wrap(ScriptedBackend(seeded)), iterations=0, runs=1)
    run_stop(ctx, seed_improver(), ctx.run_dir)
    itself = f"replay:{ctx.run_dir.path}"
    _rewrite(ctx, "UPDATE model_calls SET backend = ?", (itself,))
    assert first_model(itself) == itself
