"""The statistics of the ground floor: Student t quantiles, the paired interval of the
adoption rule, Wilson intervals, means with standard errors."""

import pytest

from selftaught.stats import mean_se, paired_lower, t_quantile, wilson_interval


@pytest.mark.parametrize(
    "p, df, expected",
    [  # Student t quantiles from the standard tables
        (0.9, 1, 3.077684),
        (0.9, 2, 1.885618),
        (0.9, 4, 1.533206),
        (0.95, 9, 1.833113),
        (0.975, 2, 4.302653),
        (0.99, 30, 2.457262),
        (0.9, 100_000, 1.281560),
        (0.5, 3, 0.0),
    ],
)
def test_t_quantile_matches_the_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-5)


def test_t_quantile_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        t_quantile(0.9, 0)


@pytest.mark.parametrize(
    "successes, n, low, high",
    [
        (42, 10_000, 0.0031, 0.0057),  # the paper's GPT-4 figure: 0.42% (0.31-0.57)
        (12, 10_000, 0.0007, 0.0021),  # the paper's GPT-3.5 figure: 0.12% (0.07-0.21)
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 100, 0.0018, 0.0545),
    ],
)
def test_wilson_interval_matches_known_values(successes, n, low, high):
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def test_wilson_interval_of_nothing_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_mean_se_of_one_value_has_no_error_and_of_none_is_zero():
    assert mean_se([0.5]) == (0.5, 0.0)
    assert mean_se([]) == (0.0, 0.0)
    assert mean_se([1.0, 3.0]) == (2.0, 1.0)


def test_paired_lower_weighs_only_what_it_can():
    assert paired_lower([], 0.9) == (None, None)
    assert paired_lower([0.2], 0.9) == (0.2, None)  # one pair: no estimate of the noise
    assert paired_lower([0.1, 0.1, 0.1], 0.9) == (pytest.approx(0.1), pytest.approx(0.1))
    mean, lower = paired_lower([0.0, 0.2], 0.9)
    assert mean == pytest.approx(0.1)
    assert lower == pytest.approx(0.1 - 3.077684 * 0.1414214 / 1.4142136, abs=1e-5)
