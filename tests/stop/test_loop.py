"""The self-improvement loop with the scripted backend: improvement is found and adopted."""

import pytest

from selftaught.lm import ScriptedBackend
from selftaught.stop import run_stop, seed_improver, should_adopt
from tests.conftest import data

# An improver that writes prompts the scripted model answers well.
BETTER_IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """BETTER-IMPROVER: asks for a brute-force search over parity subsets."""
    message = "BETTER-IMPROVER please solve by exhaustive search:\\n" + initial_solution
    responses = language_model.batch_prompt("expert", [message] * 2)
    candidates = [initial_solution] + [c for c in extract_code(responses) if c]
    return max(candidates, key=utility)
'''

BROKEN_IMPROVER = """def improve_algorithm(initial_solution, utility, language_model):
    raise RuntimeError("broken")
"""


def scripted(improver_reply: str) -> ScriptedBackend:
    good_solution = data("lpn_bruteforce.py")

    def respond(request, index):
        if "meta_utility" in request.user:  # the self-improvement step
            return f"```python\n{improver_reply}```"
        if "BETTER-IMPROVER" in request.user:
            return f"Sure.\n```python\n{good_solution}```"
        return "```python\ndef algorithm(train_samples, train_parity, test_samples):\n    return 0\n```"

    return ScriptedBackend(respond)


def test_adoption_rules():
    assert should_adopt("paper", 0.1, 0.9)
    assert should_adopt("improved", 0.6, 0.5)
    assert not should_adopt("improved", 0.5, 0.5)
    assert not should_adopt("improved", 0.4, 0.5)
    with pytest.raises(ValueError):
        should_adopt("sometimes", 1, 0)


def test_meta_utility_rises_and_the_better_improver_is_adopted(make_ctx):
    ctx = make_ctx(scripted(BETTER_IMPROVER), iterations=1, runs=2)
    rows = run_stop(ctx, seed_improver(), ctx.run_dir)
    first, second = rows
    assert 0.35 < first.evaluation.validation < 0.65  # the seed keeps the random seed solution
    assert second.improver.strip() == BETTER_IMPROVER.strip()
    assert second.adopted
    assert second.evaluation.validation > 0.95 and second.evaluation.heldout > 0.95
    stored = ctx.store.iterations()
    assert [r["adopted"] for r in stored] == [1, 1]
    assert stored[1]["heldout"] > stored[0]["heldout"]
    assert ctx.run_dir.improver_path(1).read_text().strip() == BETTER_IMPROVER.strip()
    assert stored[1]["model_calls"] > 0 and stored[1]["evaluations"] > 0


def test_improved_rule_rejects_a_worse_improver_that_paper_adopts(make_ctx):
    # The paper's seed improver (no input kept) must pick among what the model returned.
    for rule, expect in [("improved", False), ("paper", True)]:
        ctx = make_ctx(
            scripted(BROKEN_IMPROVER), iterations=1, runs=1, adoption=rule, keep_input=False
        )
        rows = run_stop(ctx, seed_improver(keep_input=False), ctx.run_dir)
        assert rows[1].improver.strip() == BROKEN_IMPROVER.strip()
        assert rows[1].evaluation.validation == 0.0
        assert rows[1].adopted is expect


def test_every_model_call_and_evaluation_is_recorded(make_ctx):
    ctx = make_ctx(scripted(BETTER_IMPROVER), iterations=1, runs=1)
    run_stop(ctx, seed_improver(), ctx.run_dir)
    calls = ctx.store.query("SELECT * FROM model_calls")
    assert calls and all(c["responses"] and c["samples"] for c in calls)
    evals = ctx.store.query("SELECT * FROM evaluations WHERE kind = 'solution'")
    assert evals and {e["split"] for e in evals} == {"validation", "heldout"}
    # held-out scores are only ever computed for the iteration evaluations, never in the step
    held = {e["scope"].split("/")[1] for e in evals if e["split"] == "heldout"}
    assert held == {"eval"}
