"""Adoption rules: the paired rule adopts only a difference that is larger than its noise,
weighed on confirmation pairs (the parent's and the candidate's confirmation scores of run r
of task k)."""

import pytest

from selftaught.stop import decide, should_adopt
from selftaught.stop.evaluation import ConfirmationPair
from selftaught.tasks import get_task
from selftaught.tasks.base import Task, confirmation_split
from selftaught.tasks.keys import pinned


def pairs(candidate: list[float], parent: list[float], task: str = "lpn"):
    return [
        ConfirmationPair(task, r, p, c)
        for r, (c, p) in enumerate(zip(candidate, parent, strict=True))
    ]


def scores(*values: float) -> list[float]:
    return list(values)


def decide_on(rule: str, candidate: list[float], parent: list[float], *, level: float):
    return decide(rule, pairs(candidate, parent), level=level)


def test_old_rules_are_unchanged():
    assert should_adopt("paper", 0.1, 0.9)
    assert should_adopt("improved", 0.6, 0.5)
    assert not should_adopt("improved", 0.5, 0.5)
    with pytest.raises(ValueError):
        should_adopt("sometimes", 1, 0)


def test_a_consistent_improvement_is_adopted_with_its_interval():
    d = decide_on("paired", scores(0.7, 0.8, 0.75), scores(0.5, 0.55, 0.5), level=0.9)
    assert d.adopted and d.n == 3 and d.level == 0.9
    assert d.diff == pytest.approx(0.2333333)
    # mean - t(0.9, 2) * sd / sqrt(3), sd of (0.2, 0.25, 0.25)
    assert d.lower == pytest.approx(0.2333333 - 1.885618 * 0.0288675 / 3**0.5, abs=1e-6)


def test_a_higher_mean_that_is_noise_is_adopted_by_improved_but_not_by_paired():
    candidate, parent = scores(0.9, 0.1, 0.6), scores(0.4, 0.5, 0.5)
    assert decide_on("improved", candidate, parent, level=0.9).adopted
    paired = decide_on("paired", candidate, parent, level=0.9)
    assert not paired.adopted
    assert paired.diff == pytest.approx(0.0666667) and paired.lower < 0


def test_equal_scores_are_not_adopted():
    d = decide_on("paired", scores(0.5, 0.6), scores(0.5, 0.6), level=0.9)
    assert d.diff == 0 and d.lower is None and not d.adopted
    assert not decide_on("improved", scores(0.5, 0.6), scores(0.5, 0.6), level=0.9).adopted


def test_pairs_that_all_differ_by_the_same_amount_give_no_interval_and_no_adoption():
    # What a candidate that only selects among fixed programs gives when both are scored
    # on the instances it selected on: the same gain in every run, an interval of no width.
    d = decide_on("paired", scores(0.6, 0.7, 0.55), scores(0.5, 0.6, 0.45), level=0.9)
    assert d.diff == pytest.approx(0.1) and d.lower is None and d.n == 3
    assert not d.adopted
    worse = decide_on("paired", scores(0.4, 0.5), scores(0.5, 0.6), level=0.9)
    assert worse.lower is None and not worse.adopted
    # the other rules still decide on the mean
    assert decide_on("improved", scores(0.6, 0.7), scores(0.5, 0.6), level=0.9).adopted


def test_one_pair_gives_no_interval_and_no_adoption():
    d = decide_on("paired", scores(1.0), scores(0.0), level=0.9)
    assert d.n == 1 and d.diff == 1.0 and d.lower is None and not d.adopted
    # the other rules still decide, and the difference is still reported
    assert decide_on("improved", scores(1.0), scores(0.0), level=0.9).adopted


def test_a_higher_level_asks_for_more_evidence():
    candidate, parent = scores(0.7, 0.6, 0.9), scores(0.5, 0.5, 0.5)
    assert decide_on("paired", candidate, parent, level=0.8).adopted
    assert not decide_on("paired", candidate, parent, level=0.99).adopted


def test_improved_compares_the_mean_confirmation_scores():
    assert decide_on("improved", scores(0.9, 0.1), scores(0.4, 0.5), level=0.9).adopted
    assert not decide_on("improved", scores(0.4, 0.1), scores(0.4, 0.5), level=0.9).adopted
    assert decide_on("paper", scores(0.0, 0.0), scores(1.0, 1.0), level=0.9).adopted


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="sometimes"):
        decide_on("sometimes", scores(1.0, 1.0), scores(0.0, 0.0), level=0.9)


def test_a_confirmation_draw_is_fresh_instances_that_the_same_key_draws_again():
    task = get_task("lpn")
    key, other = pinned("confirmation test"), pinned("another key")

    def samples(split: str, k=key, t: Task = task) -> list[bytes]:
        """Each instance's training samples (100 random rows: no two instances share them)."""
        return [inst.inputs[0].tobytes() for inst in t.instances(split, k)]

    draw = samples(confirmation_split(1, 0))
    assert len(draw) == task.n_validation
    seen = samples("validation") + samples("heldout")
    for split in (confirmation_split(1, 1), confirmation_split(2, 0)):
        seen += samples(split)
    assert not set(draw) & set(seen)  # none of its instances is one of the others
    again = type(task)()  # no cached instances: made again from the key alone
    assert samples(confirmation_split(1, 0), t=again) == draw
    assert not set(samples(confirmation_split(1, 0), other)) & set(draw)


def test_a_candidate_that_gains_the_same_on_every_fresh_draw_is_adopted_by_the_sign_test():
    # the parent fails every run (0) and the candidate solves every draw (1): no spread,
    # and the strongest evidence there is; 4 gains in a row happen by chance 1 time in 16
    d = decide_on("paired", scores(1.0, 1.0, 1.0, 1.0), scores(0.0, 0.0, 0.0, 0.0), level=0.9)
    assert d.lower is None and d.adopted
    # three gains are too few at level 0.9 (1 in 8), and no gain is never adopted
    assert not decide_on("paired", scores(1.0, 1.0, 1.0), scores(0.0, 0.0, 0.0), level=0.9).adopted
    same = decide_on(
        "paired", scores(0.5, 0.5, 0.5, 0.5, 0.5), scores(0.5, 0.5, 0.5, 0.5, 0.5), level=0.9
    )
    assert not same.adopted
