"""How the paired difference reads in tables and reports."""

from selftaught.report.format import paired, paired_note


def test_a_run_with_no_scored_candidate_says_so_instead_of_inventing_a_level():
    rows = [{"paired_level": None, "paired_n": None, "paired_diff": None}]
    note = paired_note(rows)
    assert "no new improver" in note and "n=?" not in note and "90%" not in note
    assert paired(rows[0]) == "-"


def test_the_note_names_the_level_and_pairs_the_rows_used():
    rows = [{"paired_level": 0.8, "paired_n": 2, "paired_diff": 0.1, "paired_lower": -0.2}]
    assert "one-sided 80% interval (n=2 pairs)" in paired_note(rows)
    assert paired(rows[0]) == "+0.100 [-0.200, ∞)"


def test_pairs_with_no_spread_say_so_instead_of_an_interval():
    row = {"paired_level": 0.9, "paired_n": 2, "paired_diff": 0.0, "paired_lower": None}
    assert paired(row) == "+0.000 (no spread, n=2)"
    assert paired({**row, "paired_n": 1}) == "+0.000 (n=1)"
