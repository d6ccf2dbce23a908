"""The self-improvement loop with the scripted backend: improvement is found and adopted."""

from selftaught.lm import ScriptedBackend
from selftaught.lm.registry import make_backend
from selftaught.stop import run_stop, seed_improver
from selftaught.stop.resume import load_state
from selftaught.tasks import get_task
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

TRIVIAL_SEED = get_task("lpn").seed_solution
"""What the seed improver returns when the model gives it nothing better."""

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
    # the default rule is paired; its comparison is recorded with the decision
    assert ctx.config.adoption == "paired"
    assert stored[1]["paired_n"] == 2 and stored[1]["paired_level"] == 0.9
    assert 0 < stored[1]["paired_lower"] <= stored[1]["paired_diff"]
    assert stored[1]["paired_diff"] == second.decision.diff
    assert stored[0]["paired_diff"] is None  # the starting improver has no parent


def test_improved_rule_rejects_a_worse_improver_that_paper_adopts(make_ctx):
    # The paper's seed improver (no input kept) must pick among what the model returned.
    for rule, expect in [("improved", False), ("paper", True), ("paired", False)]:
        ctx = make_ctx(
            scripted(BROKEN_IMPROVER), iterations=1, runs=2, adoption=rule, keep_input=False
        )
        rows = run_stop(ctx, seed_improver(keep_input=False), ctx.run_dir)
        assert rows[1].improver.strip() == BROKEN_IMPROVER.strip()
        assert rows[1].evaluation.validation == 0.0
        assert rows[1].adopted is expect
        assert rows[1].decision.diff <= 0 and rows[1].decision.n == 2


def test_an_improver_that_only_selects_among_fixed_guessers_is_not_adopted(make_ctx):
    # The step is offered an improver that never asks the model and returns the best of a
    # fixed set of coin-flip guessers under the utility. On the validation instances it
    # selected on it beats its parent by the same amount in every run; compared there, the
    # paired interval had no width and `paired` adopted it (+0.043 [+0.043, inf) here).
    guessers = data("improvers/fixed_guessers.py")
    ctx = make_ctx(scripted(guessers), iterations=1)  # the default preset: paired, 2 runs
    parent, candidate = run_stop(ctx, seed_improver(), ctx.run_dir)
    assert candidate.improver.strip() == guessers.strip()
    runs = zip(parent.evaluation.runs, candidate.evaluation.runs, strict=True)
    gains = {round(c.validation - p.validation, 9) for p, c in runs}
    assert len(gains) == 1  # the same in every run: what fooled the rule
    gain = gains.pop()
    assert gain > 0
    d = candidate.decision
    assert not candidate.adopted, d
    # The decision weighed each run's two solutions on instances drawn for it afresh, where
    # the selection gains nothing (there the candidate's expected gain is zero, so `paired`
    # adopts it at most 1 - level of the time; the tests' instance key is pinned, so this
    # is one fixed draw: -0.0125 in both runs, which gives no interval either).
    assert d.n == 2 and d.diff is not None and d.diff < gain
    assert d.lower is None or d.lower < 0
    splits = {
        (r["scope"], r["split"])
        for r in ctx.store.query("SELECT scope, split FROM evaluations WHERE kind = 'solution'")
    }
    confirmed = {s for s in splits if s[0].startswith("it1/confirm/")}
    assert confirmed == {
        (f"it1/confirm/lpn/r{r}/{who}", f"confirmation/it1/r{r}")
        for r in (0, 1)
        for who in ("parent", "candidate")
    }
    # no utility call, in the step or in an improver run, scored on them
    assert {split for scope, split in splits - confirmed} == {"validation", "heldout"}


def test_a_resumed_iteration_confirms_the_parent_it_read_back_on_the_same_instances(make_ctx):
    whole = make_ctx(scripted(BETTER_IMPROVER), iterations=1)
    expected = run_stop(whole, seed_improver(), whole.run_dir)[1].decision
    started = make_ctx(scripted(BETTER_IMPROVER), iterations=0)
    run_stop(started, seed_improver(), started.run_dir)
    state = load_state(started.store)  # iteration 0 done, as a stopped run holds it
    assert state.current_eval is not None
    assert [r.returned for r in state.current_eval.runs] == [TRIVIAL_SEED] * 2
    resumed = make_ctx(scripted(BETTER_IMPROVER), iterations=1)
    rows = run_stop(resumed, seed_improver(), resumed.run_dir, resume=state)
    assert [r.iteration for r in rows] == [1]
    assert rows[0].decision == expected and expected.lower is not None


def test_a_parent_solution_the_records_lost_takes_part_in_no_comparison(make_ctx):
    # a run recorded before returned solutions were kept: its parent's solutions are not
    # in `programs`; scoring them 0 would make any candidate look better
    started = make_ctx(scripted(BETTER_IMPROVER), iterations=0)
    run_stop(started, seed_improver(), started.run_dir)
    lost = [r.returned_hash for r in started.store.improver_runs(scope_like="it0/eval/%")]
    for digest in lost:
        started.store._db.execute("DELETE FROM programs WHERE hash = ?", (digest,))
    state = load_state(started.store)
    assert state.current_eval is not None
    assert all(r.lost and r.returned is None for r in state.current_eval.runs)
    resumed = make_ctx(scripted(BETTER_IMPROVER), iterations=1)
    (row,) = run_stop(resumed, seed_improver(), resumed.run_dir, resume=state)
    assert row.decision.n == 0 and not row.adopted


def test_run_r_of_parent_and_candidate_samples_with_the_same_seeds(make_ctx):
    ctx = make_ctx(scripted(BETTER_IMPROVER), iterations=1, runs=2)
    run_stop(ctx, seed_improver(), ctx.run_dir)
    seeds: dict[str, set[int]] = {}
    for call in ctx.store.query("SELECT scope, seed FROM model_calls"):
        seeds.setdefault(call["scope"], set()).add(call["seed"])
    for r in (0, 1):
        assert seeds[f"it0/eval/lpn/r{r}"] == seeds[f"it1/eval/lpn/r{r}"]
    assert seeds["it0/eval/lpn/r0"] != seeds["it0/eval/lpn/r1"]
    # the step scores its candidates on other draws than the adoption test uses
    step = {s for scope, v in seeds.items() if scope.startswith("it1/step/") for s in v}
    assert step and not step & (seeds["it0/eval/lpn/r0"] | seeds["it0/eval/lpn/r1"])


def test_paired_adopts_nothing_from_a_single_pair(make_ctx):
    ctx = make_ctx(scripted(BETTER_IMPROVER), iterations=1, runs=1)
    rows = run_stop(ctx, seed_improver(), ctx.run_dir)
    assert rows[1].evaluation.validation > rows[0].evaluation.validation
    assert not rows[1].adopted
    assert rows[1].decision.n == 1 and rows[1].decision.lower is None


def test_an_improver_echoed_back_is_its_input_not_a_new_improver(make_ctx):
    # The paper's seed improver returns a model answer, never its input; `echo` answers
    # with the input, which the loop must recognise despite the code fence's newlines.
    ctx = make_ctx(make_backend("echo"), iterations=1, runs=1, adoption="paper", keep_input=False)
    start = seed_improver(keep_input=False)
    rows = run_stop(ctx, start, ctx.run_dir)
    assert rows[1].message == "returned its input unchanged"
    assert rows[1].improver == start and not rows[1].adopted and rows[1].decision is None
    assert not ctx.store.query("SELECT 1 FROM improver_runs WHERE scope LIKE 'it1/eval/%'")


def test_every_model_call_and_evaluation_is_recorded(make_ctx):
    ctx = make_ctx(scripted(BETTER_IMPROVER), iterations=1, runs=1)
    run_stop(ctx, seed_improver(), ctx.run_dir)
    calls = ctx.store.query("SELECT * FROM model_calls")
    assert calls and all(c["responses"] and c["samples"] for c in calls)
    evals = ctx.store.query("SELECT * FROM evaluations WHERE kind = 'solution'")
    splits = {e["split"] for e in evals}
    assert splits == {"validation", "heldout", "confirmation/it1/r0"}
    # held-out scores are only ever computed for the iteration evaluations, never in the
    # step; confirmation scores only for the adoption decision
    held = {e["scope"].split("/")[1] for e in evals if e["split"] == "heldout"}
    assert held == {"eval"}
    confirmed = {e["scope"].split("/")[1] for e in evals if e["split"].startswith("confirm")}
    assert confirmed == {"confirm"}
