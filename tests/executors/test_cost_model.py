"""The cost model of docs/scaling.md, checked against what a run records.

The scripted model answers every prompt with code, so the seed improver's counts are
exact: per run 1 call of n = min(S, U - 1) samples and n + 1 utility calls.
"""

import pytest

from selftaught.stop import run_stop, seed_improver
from tests.stop.test_loop import BETTER_IMPROVER, scripted


def evaluation(runs, samples_per_run, utility_calls, utility_budget, heldout):
    """Counts of one meta-utility evaluation: R*K improver runs of one improver."""
    return {
        "model_calls": runs,
        "samples": runs * samples_per_run,
        # utility calls within budget, the final validation score, the held-out score
        "evaluations": runs * (min(utility_calls, utility_budget) + 1 + heldout),
    }


def add(*counts):
    return {k: sum(c[k] for c in counts) for k in counts[0]}


def expected(R, K, S, U):
    n = max(1, min(S, U - 1))  # the seed improver's samples (it keeps its input)
    seed = lambda h: evaluation(R * K, n, n + 1, U, h)  # noqa: E731
    better = lambda h: evaluation(R * K, 2, 3, U, h)  # noqa: E731 - BETTER_IMPROVER: 2 samples
    it0 = seed(1)
    # Step: the seed improver on itself: 1 call of n samples, then the meta-utility on
    # its input and its n candidates (within U), each an evaluation without held-out.
    step = {"model_calls": 1, "samples": n, "evaluations": 0}
    scored = [seed(0)] + [better(0)] * (min(n + 1, U) - 1)
    # Adoption: the parent's and the candidate's solution of every (task, run) scored on
    # a fresh confirmation draw (docs/loop.md, "What it costs")
    confirm = {"model_calls": 0, "samples": 0, "evaluations": 2 * R * K}
    it1 = add(step, *scored, better(1), confirm)
    return [it0, it1]


@pytest.mark.parametrize("runs, samples, utility_calls", [(2, 3, 4), (3, 2, 3)])
def test_recorded_counts_match_the_cost_model(make_ctx, runs, samples, utility_calls):
    ctx = make_ctx(
        scripted(BETTER_IMPROVER),
        iterations=1,
        runs=runs,
        budgets={"samples_per_call": samples, "utility_calls": utility_calls},
    )
    run_stop(ctx, seed_improver(), ctx.run_dir)
    recorded = [
        {k: row[k] for k in ("model_calls", "samples", "evaluations")}
        for row in ctx.store.iterations()
    ]
    assert recorded == expected(runs, 1, samples, utility_calls)
