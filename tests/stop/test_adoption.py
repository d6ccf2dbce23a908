"""Adoption rules: the paired rule adopts only a difference that is larger than its noise."""

import pytest

from selftaught.stop import MetaEvaluation, decide, should_adopt
from selftaught.stop.evaluation import RunScore


def evaluation(*scores: float, task: str = "lpn") -> MetaEvaluation:
    return MetaEvaluation([RunScore(task, r, "ok", s, None) for r, s in enumerate(scores)])


def test_old_rules_are_unchanged():
    assert should_adopt("paper", 0.1, 0.9)
    assert should_adopt("improved", 0.6, 0.5)
    assert not should_adopt("improved", 0.5, 0.5)
    with pytest.raises(ValueError):
        should_adopt("sometimes", 1, 0)


def test_a_consistent_improvement_is_adopted_with_its_interval():
    d = decide("paired", evaluation(0.7, 0.8, 0.75), evaluation(0.5, 0.55, 0.5), level=0.9)
    assert d.adopted and d.n == 3 and d.level == 0.9
    assert d.diff == pytest.approx(0.2333333)
    # mean - t(0.9, 2) * sd / sqrt(3), sd of (0.2, 0.25, 0.25)
    assert d.lower == pytest.approx(0.2333333 - 1.885618 * 0.0288675 / 3**0.5, abs=1e-6)


def test_a_higher_mean_that_is_noise_is_adopted_by_improved_but_not_by_paired():
    candidate, parent = evaluation(0.9, 0.1, 0.6), evaluation(0.4, 0.5, 0.5)
    assert decide("improved", candidate, parent, level=0.9).adopted
    paired = decide("paired", candidate, parent, level=0.9)
    assert not paired.adopted
    assert paired.diff == pytest.approx(0.0666667) and paired.lower < 0


def test_runs_pair_by_task_and_run_not_by_order():
    parent = MetaEvaluation(
        [RunScore("lpn", 1, "ok", 0.9, None), RunScore("lpn", 0, "ok", 0.1, None)]
    )
    candidate = evaluation(0.2, 1.0)
    d = decide("paired", candidate, parent, level=0.9)
    assert d.diff == pytest.approx(0.1) and d.lower == pytest.approx(0.1) and d.adopted


def test_equal_scores_are_not_adopted():
    d = decide("paired", evaluation(0.5, 0.6), evaluation(0.5, 0.6), level=0.9)
    assert d.diff == 0 and d.lower == 0 and not d.adopted


def test_zero_variance_makes_the_lower_bound_the_difference():
    d = decide("paired", evaluation(0.6, 0.7), evaluation(0.5, 0.6), level=0.9)
    assert d.lower == pytest.approx(d.diff) and d.adopted
    worse = decide("paired", evaluation(0.4, 0.5), evaluation(0.5, 0.6), level=0.9)
    assert worse.lower == pytest.approx(-0.1) and not worse.adopted


def test_one_pair_gives_no_interval_and_no_adoption():
    d = decide("paired", evaluation(1.0), evaluation(0.0), level=0.9)
    assert d.n == 1 and d.diff == 1.0 and d.lower is None and not d.adopted
    # the other rules still decide, and the difference is still reported
    assert decide("improved", evaluation(1.0), evaluation(0.0), level=0.9).adopted


def test_a_higher_level_asks_for_more_evidence():
    candidate, parent = evaluation(0.7, 0.6, 0.9), evaluation(0.5, 0.5, 0.5)
    assert decide("paired", candidate, parent, level=0.8).adopted
    assert not decide("paired", candidate, parent, level=0.99).adopted
