"""What one improver run can add to the records is bounded, whatever it sends.

An improver that floods within its budgets (megabytes of prompt, long programs to the
utility, thousands of calls past the utility budget) adds at most `IMPROVER_RUN_CHARS`
of model-call text and event details, programs of at most `MAX_PROGRAM_CHARS`, and
`OVER_BUDGET_EVENTS` over-budget events; every cut says so. (Measured by
bench/records_growth.py: 28 MB in 20,016 rows before the bound, 1 MB in 21 rows after.)
"""

from __future__ import annotations

import json

from selftaught.lm import ScriptedBackend
from selftaught.program.extract import MAX_PROGRAM_CHARS
from selftaught.stop import Scope
from selftaught.stop.improver_run import OVER_BUDGET_EVENTS, run_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.store.limits import (
    CUT_FLOOR,
    IMPROVER_RUN_CHARS,
    ITERATION_EVENT_ROWS,
    RUN_EVENT_ROWS,
)
from selftaught.tasks.registry import get_task

FLOOD = """def improve_algorithm(initial_solution, utility, language_model):
    big = "x" * 390_000  # four texts, each under the prompt cap (400,000 characters)
    language_model.batch_prompt(big, [big + str(i) for i in range(3)])
    for i in range(2):
        utility(initial_solution + "\\n#" + "p" * 300_000 + str(i))  # too long to be a program
    for i in range(2):
        utility(initial_solution + "\\n#" + "q" * 90_000 + str(i))
    for i in range(3_000):
        utility(initial_solution)  # past the budget of 4
    return initial_solution
"""


def _run_on_task(ctx, improver: str, task_name: str, scope_name: str):
    """`improver` run once on a task's seed solution, its utility scoring in the sandbox."""
    task = get_task(task_name)
    scorer = SolutionScorer(ctx)
    scope = Scope(0, scope_name)
    return run_improver(
        ctx,
        improver,
        initial_solution=task.seed_solution,
        utility=lambda src, k: scorer.evaluate(src, task, "validation", scope.child(f"u{k}")).score,
        utility_str=task.utility_text,
        required_function=task.function,
        scope=scope,
    )


def test_one_improver_run_adds_a_bounded_amount_to_the_records(make_ctx):
    ctx = make_ctx(ScriptedBackend(lambda request, i: "z" * 300_000))
    run = _run_on_task(ctx, FLOOD, "grid", "flood")
    assert run.outcome == "ok", run.message
    assert run.utility_calls == 3_004  # every call counted, though few are recorded
    store = ctx.store
    calls = store.query("SELECT system, messages, responses, notes FROM model_calls")
    events = store.query("SELECT kind, detail FROM events WHERE scope = 'flood'")
    texts = [c["system"] for c in calls]
    for c in calls:
        texts += json.loads(c["messages"]) + json.loads(c["responses"])
    texts += [e["detail"] for e in events]
    pieces = len(texts)
    assert sum(len(t) for t in texts) <= IMPROVER_RUN_CHARS + CUT_FLOOR * pieces
    assert all("records: texts cut" in c["notes"] for c in calls)
    assert any("characters, cut to" in t for t in texts)  # each cut says so
    over = [e for e in events if e["kind"] == "utility_over_budget"]
    assert len(over) == OVER_BUDGET_EVENTS and "not recorded one by one" in over[-1]["detail"]
    sources = store.query("SELECT source FROM programs")
    assert all(len(s["source"]) <= MAX_PROGRAM_CHARS for s in sources)
    assert len(sources) <= 1 + 2 + 1  # the improver, two utility programs, the seed
    evaluations = store.query("SELECT outcome, message FROM evaluations")
    assert len(evaluations) == 4
    assert (
        sum(e["outcome"] == "error" and "characters long" in e["message"] for e in evaluations) == 2
    )


NOISY_UTILITY = """import os


def improve_algorithm(initial_solution, utility, language_model):
    # Each utility call scores a distinct solution whose worker reports 200 refused reads
    # (100 as it loads, 100 in its first instance), each detail near the 300-character cut.
    nonce = os.urandom(8).hex()
    language_model.batch_prompt("s", ["y" * 330_000 + str(i) for i in range(3)])
    for k in range(1000):
        noisy = (
            "def _noise(tag):\\n"
            "    for i in range(100):\\n"
            "        try:\\n"
            "            open('/etc/' + 'x' * 270 + tag + str(i))\\n"
            "        except Exception:\\n"
            "            pass\\n"
            f"_noise('{nonce}{k}')\\n"
            "_first = [True]\\n"
            + initial_solution.replace("def algorithm(", "def _inner(")
            + "\\ndef algorithm(*args):\\n"
            "    if _first[0]:\\n"
            "        _first[0] = False\\n"
            "        _noise('i')\\n"
            "    return _inner(*args)\\n"
        )
        utility(noisy)
    return initial_solution
"""


def test_the_events_of_the_solutions_an_improver_has_scored_count_against_its_run(make_ctx):
    """The solutions an improver sends to `utility` are its text too: the events their
    workers report are recorded under the run's scope (`<run>/u<k>`), and must share the
    run's `IMPROVER_RUN_CHARS` with its model calls and its own events (here its one model
    call spends the allowance first, so each later detail should keep `CUT_FLOOR`
    characters; every one keeps its 290). Measured with the
    paper's budgets (25 utility calls): 5,000 event rows holding 1,456,000 characters of
    detail for one improver run, none of it charged to the run's allowance; a paper-preset
    iteration 0 of `selftaught run --model echo --improver <this>` recorded 25,000 such
    rows (7.3 million characters), and iteration 1's step 651,310 (189 million)."""
    ctx = make_ctx(ScriptedBackend(lambda request, i: "unused"), budgets={"utility_calls": 25})
    run = _run_on_task(ctx, NOISY_UTILITY, "lpn", "noisy")
    assert run.outcome == "ok", run.message
    assert run.utility_calls == 1000
    events = ctx.store.events(scope="noisy")
    calls = ctx.store.query("SELECT system, messages, responses FROM model_calls")
    texts = [e.detail or "" for e in events]
    for c in calls:
        texts += [c["system"], *json.loads(c["messages"]), *json.loads(c["responses"])]
    total = sum(len(t) for t in texts)
    assert total <= IMPROVER_RUN_CHARS + CUT_FLOOR * len(texts), (
        f"{total:,} characters in {len(texts):,} texts ({len(events):,} event rows)"
    )
    rows = ctx.store.event_count(scope="noisy")
    assert rows <= RUN_EVENT_ROWS + 1, f"{rows:,} event rows for one improver run"
    assert [e.kind for e in events].count("events_not_recorded") == 1


def test_an_iteration_records_a_bounded_number_of_events_across_resumes(make_ctx):
    """Whatever nests in an iteration (improver runs in the meta-utility's, in threads of
    their own), its events stop at `ITERATION_EVENT_ROWS`, one row saying so; a resumed
    run counts what the records already hold."""
    from dataclasses import replace

    ctx = make_ctx(ScriptedBackend(lambda request, i: "unused"))
    flood = [{"kind": "read_outside_roots", "detail": "x" * 50, "source": "worker"}] * 900
    for k in range(ITERATION_EVENT_ROWS // 900 + 3):
        ctx.record_events(Scope(1, f"it1/step/c{k}"), "h", flood)
    assert ctx.store.event_count(iteration=1) == ITERATION_EVENT_ROWS + 1
    notes = ctx.store.events(iteration=1, limit=1, last=True)
    assert notes[0].kind == "events_not_recorded"
    ctx.record_events(Scope(2, "it2/step"), "h", flood)  # another iteration: its own bound
    assert ctx.store.event_count(iteration=2) == 900
    resumed = replace(ctx)  # a new context on the same records, as `resume` builds
    resumed.record_events(Scope(1, "it1/step/c99"), "h", flood)
    assert ctx.store.event_count(iteration=1) == ITERATION_EVENT_ROWS + 1
