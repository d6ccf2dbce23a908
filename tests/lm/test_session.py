import pytest

from selftaught.errors import BudgetExhausted
from selftaught.lm import LanguageModel, ScriptedBackend
from selftaught.lm.options import ModelOptions


def _lm(backend, **kw):
    calls = []
    lm = LanguageModel(
        backend,
        budget=kw.get("budget", 2),
        max_responses_per_call=kw.get("max_responses", 3),
        max_tokens=64,
        seed=0,
        scope="test",
        required_function="algorithm",
        record=calls.append,
    )
    return lm, calls


def test_batch_prompt_counts_once_and_returns_one_response_per_message():
    backend = ScriptedBackend(lambda req, i: f"```python\ndef algorithm():\n    return {i}\n```")
    lm, calls = _lm(backend)
    out = lm.batch_prompt("sys", ["a", "a", "b"])
    assert len(out) == 3
    assert lm.calls == 1
    # identical messages go out as one request for several samples
    assert [r.n for r in backend.requests] == [2, 1]
    assert calls[0].usable == 3 and calls[0].usage.samples == 3


def test_budget_raises_past_the_limit():
    lm, _ = _lm(ScriptedBackend(lambda req, i: "x"), budget=2)
    lm.prompt("s", "m")
    lm.prompt("s", "m")
    with pytest.raises(BudgetExhausted):
        lm.prompt("s", "m")


def test_batch_larger_than_max_responses_is_truncated_and_recorded():
    lm, calls = _lm(ScriptedBackend(lambda req, i: "x"), max_responses=2)
    assert len(lm.batch_prompt("s", ["a", "b", "c", "d"])) == 2
    assert calls[0].truncated == 2


def test_backend_failure_is_recorded_and_raised():
    def broken(req, i):
        raise RuntimeError("down")

    lm, calls = _lm(ScriptedBackend(broken))
    with pytest.raises(Exception, match="down"):
        lm.prompt("s", "m")
    assert calls[0].error and "down" in calls[0].error
    assert calls[0].answers is None  # nobody received anything
    assert lm.calls == 1


def test_scripted_list_runs_out_loudly():
    lm, _ = _lm(ScriptedBackend(["only one"]))
    assert lm.prompt("s", "m") == ["only one"]
    with pytest.raises(Exception, match="no responses left"):
        lm.prompt("s", "m")


class _Cut:
    """A backend whose every sample stops at the token limit."""

    name = "cut"

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, request):
        from selftaught.lm.base import Completion, Reply

        return Reply([Completion(self.text, finish_reason="length")] * request.n)


CUT = "```python\ndef algorithm(a):\n    return a\n\ndef helper(b):\n    while True:\n        b = (b +"


def test_a_cut_sample_is_repaired_and_handed_over_as_its_complete_part():
    lm, calls = _lm(_Cut(CUT))
    lm.program = "def algorithm(a):\n    return a\n"
    (out,) = lm.prompt("s", "m")
    assert out == "```python\ndef algorithm(a):\n    return a\n```"
    assert calls[0].usable == 1 and calls[0].reasons == {}
    assert any("trimmed" in n for n in calls[0].notes)


def test_unusable_samples_are_counted_by_reason():
    texts = [
        "no code here",
        "```python\ndef algorithm(a, b):\n    return a\n```",
        "```python\nx = (\n```",
    ]
    lm, calls = _lm(ScriptedBackend(lambda req, i: texts[i]))
    lm.arity = 1
    lm.prompt("s", "m", 3)
    assert calls[0].usable == 0
    assert calls[0].reasons == {"no_code": 1, "wrong_arity": 1, "syntax": 1}


def test_without_repair_the_responses_are_handed_over_as_written():
    from selftaught.lm.options import ModelOptions

    lm, calls = _lm(_Cut(CUT))
    lm.options = ModelOptions(repair=False)
    (out,) = lm.prompt("s", "m")
    assert out == CUT


def test_the_model_options_can_ask_for_shorter_samples_than_the_budget():
    from selftaught.lm.options import ModelOptions

    backend = ScriptedBackend(lambda req, i: "x")
    lm = LanguageModel(
        backend,
        budget=1,
        max_responses_per_call=1,
        max_tokens=400,
        seed=0,
        scope="t",
        options=ModelOptions(max_tokens=200),
    )
    lm.prompt("s", "m")
    assert backend.requests[0].max_tokens == 200


def test_only_the_embedded_model_has_a_default_cap_on_tokens_per_sample():
    from selftaught.lm.local import default_max_tokens

    assert default_max_tokens("local:smollm2") == 256
    assert default_max_tokens("local:/models/coder-7b.gguf") is None
    assert default_max_tokens("openai:gpt-4.1") is None
    backend = ScriptedBackend(lambda req, i: "x")
    lm = LanguageModel(
        backend, budget=1, max_responses_per_call=1, max_tokens=400, seed=0, scope="t"
    )
    lm.prompt("s", "m")
    assert backend.requests[0].max_tokens == 400


def test_the_answer_may_define_inside_or_beside_the_function_only_where_its_program_does():
    def shape(program):
        return _improving(ScriptedBackend(lambda req, i: ""), program=program)[0]._shape()

    flat = shape("import numpy as np\n\ndef algorithm(F):\n    return F\n")
    assert flat.header == "import numpy as np\n\ndef algorithm(F):\n"
    assert not flat.nested and not flat.helpers
    assert shape("def algorithm(F):\n    def cost(a):\n        return a\n    return F\n").nested
    assert shape("def h(a):\n    return a\n\ndef algorithm(F):\n    return h(F)\n").helpers


PROGRAM = "def algorithm(xs):\n    return sorted(xs)\n"


def _fenced(code: str) -> str:
    return f"```python\n{code}```"


def _improving(backend, *, budget=1, max_responses=3, max_tokens=64, options=None, program=PROGRAM):
    """A session improving `program`, and the calls it records."""
    calls = []
    lm = LanguageModel(
        backend,
        budget=budget,
        max_responses_per_call=max_responses,
        max_tokens=max_tokens,
        seed=0,
        scope="test",
        required_function="algorithm",
        record=calls.append,
        program=program,
        options=options,
    )
    return lm, calls


def _redrawing(responses, redraw=2):
    from selftaught.lm.options import ModelOptions

    backend = ScriptedBackend(responses)
    lm, calls = _improving(backend, options=ModelOptions(redraw=redraw))
    return lm, backend, calls


def test_unusable_and_unchanged_samples_are_drawn_again_and_each_message_gets_its_first_good():
    good = [_fenced(f"def algorithm(xs):\n    return xs[:{k}]\n") for k in range(3)]
    unchanged = _fenced('def algorithm(xs):\n    """Sorted."""\n    return sorted(xs)\n')
    lm, backend, calls = _redrawing(["no code", unchanged, good[0], good[1], "still none", good[2]])
    out = lm.prompt("sys", "improve this", n_responses=3)
    assert out == [good[1], good[2], good[0]]
    assert [r.n for r in backend.requests] == [3, 2, 1]
    # each further request continues the message's stream: seed s + samples drawn so far
    first = backend.requests[0].seed
    assert [r.seed for r in backend.requests] == [first, first + 3, first + 5]
    (call,) = calls
    assert lm.calls == 1 and call.usage.calls == 1 and call.usage.samples == 6
    assert len(call.messages) == len(call.responses) == 6
    assert call.usable == 4 and call.reasons == {"no_code": 2}  # every draw counts
    assert call.answers == [3, 5, 2]  # which draw each message's answer is
    assert any("drew 3 samples again" in note for note in call.notes)


def test_a_sample_whose_function_returns_nothing_is_drawn_again_when_the_program_returns():
    # a body trimmed at the token limit often lost its `return`: it would score None
    lost = _fenced("def algorithm(xs):\n    ys = sorted(xs)\n")
    good = _fenced("def algorithm(xs):\n    return xs[::-1]\n")
    lm, backend, calls = _redrawing([lost, good])
    assert lm.prompt("sys", "m", n_responses=1) == [good]
    assert len(backend.requests) == 2
    assert calls[0].usable == 2  # it is usable; only not worth giving while draws remain
    # when every draw returns nothing, the improver still gets the first
    lm, backend, _ = _redrawing([lost, lost, lost])
    assert lm.prompt("sys", "m", n_responses=1) == [lost]
    assert len(backend.requests) == 3


def test_returning_nothing_is_fine_when_the_program_being_improved_returns_nothing():
    from selftaught.lm.options import ModelOptions

    inplace = "def algorithm(xs):\n    xs.sort()\n"
    backend = ScriptedBackend([_fenced("def algorithm(xs):\n    xs.reverse()\n")])
    lm, _ = _improving(backend, program=inplace, options=ModelOptions(redraw=2))
    lm.prompt("sys", "m", n_responses=1)
    assert len(backend.requests) == 1


def test_a_failed_request_keeps_what_the_call_s_other_requests_drew_and_cost():
    good = "```python\ndef algorithm(xs):\n    return xs[::-1]\n```"

    def half_down(req, i):
        if req.user == "B":
            raise RuntimeError("B is down")
        return good

    lm, calls = _improving(ScriptedBackend(half_down))
    with pytest.raises(Exception, match="B is down"):
        lm.batch_prompt("sys", ["A", "B"])
    (call,) = calls
    assert call.error and call.usage.calls == 1
    # A's sample was drawn and paid for: the record says so
    assert call.usage.samples == 1 and call.usage.completion_tokens == len(good) // 4


def test_a_failed_redraw_of_one_message_keeps_the_other_messages_redraws():
    good = "```python\ndef algorithm(xs):\n    return xs[::-1]\n```"
    seen: dict[str, int] = {}

    def redraw_of_b_fails(req, i):
        seen[req.user] = seen.get(req.user, 0) + 1
        if seen[req.user] == 1:
            return "no code"  # each message's first draw is unusable
        if req.user == "B":
            raise RuntimeError("B is down")
        return good

    lm, calls = _improving(ScriptedBackend(redraw_of_b_fails), options=ModelOptions(redraw=2))
    assert lm.batch_prompt("sys", ["A", "B"]) == [good, "no code"]
    (call,) = calls
    assert call.error is None and call.messages == ["A", "B", "A"]
    assert call.answers == [2, 1] and call.usage.samples == 3
    assert any("drawing again failed" in note for note in call.notes)


def test_a_replay_asked_for_an_unrecorded_redraw_still_ends_the_run():
    from selftaught.errors import UnrecordedRequest

    seen: dict[str, int] = {}

    def unrecorded_redraw(req, i):
        seen[req.user] = seen.get(req.user, 0) + 1
        if seen[req.user] == 1:
            return "no code"
        raise UnrecordedRequest("replay: the recorded run never asked this")

    lm, _ = _improving(ScriptedBackend(unrecorded_redraw), options=ModelOptions(redraw=2))
    with pytest.raises(UnrecordedRequest):
        lm.batch_prompt("sys", ["A", "B"])


def test_a_call_halted_by_the_cap_records_what_its_other_requests_drew():
    from selftaught.errors import SpendingCapReached

    def cap_on_b(req, i):
        if req.user == "B":
            raise SpendingCapReached("the run's token cap is reached")
        return "```python\ndef algorithm(xs):\n    return xs[::-1]\n```"

    lm, calls = _improving(ScriptedBackend(cap_on_b))
    with pytest.raises(SpendingCapReached):
        lm.batch_prompt("sys", ["A", "B"])
    (call,) = calls
    assert call.error and "cap" in call.error and call.usage.samples == 1
    assert lm.usage.samples == 1


def test_attempts_count_every_request_of_a_call_answered_or_failed():
    from selftaught.errors import ModelCallFailed

    def b_fails_after_three(req, i):
        if req.user == "B":
            raise ModelCallFailed("B failed", sent=True, attempts=3)
        return "```python\ndef algorithm(xs):\n    return xs[::-1]\n```"

    lm, calls = _improving(ScriptedBackend(b_fails_after_three))
    with pytest.raises(Exception, match="B failed"):
        lm.batch_prompt("sys", ["A", "B"])
    assert calls[0].attempts == 4


def test_no_sample_is_drawn_again_when_every_one_is_good_or_redraw_is_off():
    good = _fenced("def algorithm(xs):\n    return xs\n")
    lm, backend, _ = _redrawing([good, good])
    assert lm.prompt("sys", "m", n_responses=2) == [good, good]
    assert len(backend.requests) == 1
    lm, backend, _ = _redrawing(["none", "none"], redraw=0)
    assert lm.prompt("sys", "m", n_responses=2) == ["none", "none"]
    assert len(backend.requests) == 1


def test_only_an_in_process_model_draws_again_by_default():
    from selftaught.lm.local import default_redraws

    assert default_redraws("local:smollm2") == 2 and default_redraws("local:/m.gguf") == 2
    assert default_redraws("openai:gpt-4.1") == 0 and default_redraws("scripted") == 0
    remote, _ = _improving(ScriptedBackend([], name="openai:m"))
    assert remote.redraws == 0


def test_a_cap_reached_while_drawing_again_keeps_and_records_the_call_and_ends_the_next():
    from selftaught.errors import SpendingCapReached
    from selftaught.lm.options import ModelOptions
    from selftaught.lm.registry import wrap

    # every sample is unusable and 100 tokens; the first draws cross the 150-token cap
    capped = wrap(
        ScriptedBackend(lambda r, i: "x" * 400, name="local:model.gguf"),
        ModelOptions(max_run_tokens=150),
    )
    lm, calls = _improving(capped, budget=2, max_responses=2, max_tokens=1024)
    assert lm.redraws == 2  # an in-process model's default
    assert lm.prompt("sys", "m", n_responses=2) == ["x" * 400] * 2
    (call,) = calls
    assert call.usage.samples == 2 and call.usage.completion_tokens == 200
    assert any("drawing again failed (SpendingCapReached" in note for note in call.notes)
    with pytest.raises(SpendingCapReached):
        lm.prompt("sys", "m")


@pytest.mark.parametrize("where", ["system", "message"])
def test_a_prompt_past_the_cap_is_refused_unsent_and_costs_no_call(where):
    # An improver's prompt may be as long as its message cap (4 MB): a server could take
    # minutes over it, or time out on every retry until the run stops for an outage.
    from selftaught.errors import LanguageModelError
    from selftaught.lm.base import MAX_PROMPT_CHARS

    backend = ScriptedBackend(lambda req, i: "x")
    lm, calls = _lm(backend, budget=1)
    huge = "y" * (MAX_PROMPT_CHARS + 1)
    system, message = (huge, "m") if where == "system" else ("s", huge)
    with pytest.raises(LanguageModelError, match="not sent"):
        lm.batch_prompt(system, ["m", message])
    assert backend.requests == [] and lm.calls == 0
    assert lm.prompt("s", "y" * MAX_PROMPT_CHARS)  # at the cap it goes, within the budget
