"""Checking samples: repair before rejection, and why a sample is unusable."""

from selftaught.lm.usable import (
    arity_of,
    check,
    defines_beside,
    header_of,
    nests_definitions,
    short,
    trims,
)

GOOD = "import numpy as np\n\ndef algorithm(a, b):\n    return np.add(a, b)"


def test_a_complete_program_is_usable_as_it_is():
    c = check(f"```python\n{GOOD}\n```", "algorithm", 2)
    assert c.code == GOOD and not c.repaired


def test_a_completion_cut_at_the_limit_keeps_its_last_complete_top_level_statement():
    cut = f"```python\n{GOOD}\n\ndef helper(x):\n    for i in range(x):\n        y = (i +"
    c = check(cut, "algorithm", 2, cut=True)
    assert c.code == GOOD and c.repaired


def test_a_cut_repetition_loop_inside_the_function_is_trimmed_to_a_complete_line():
    body = "".join(f"    x{i} = a + b\n" for i in range(30))
    cut = f"```python\ndef algorithm(a, b):\n{body}    x30 = (a +"
    c = check(cut, "algorithm", 2, cut=True)
    assert c.usable and c.repaired and c.code.endswith("x29 = a + b")


def test_trailing_prose_inside_the_block_is_trimmed():
    text = f"```python\n{GOOD}\nThis function adds the two arrays.\n```"
    c = check(text, "algorithm", 2)
    assert c.code == GOOD and c.repaired


def test_without_repair_a_block_with_trailing_prose_is_a_syntax_error():
    text = f"```python\n{GOOD}\nThis function adds the two arrays.\n```"
    assert check(text, "algorithm", 2, repair=False).reason == "syntax"


def test_a_cut_with_nothing_complete_left_is_cut_at_limit():
    c = check("```python\ndef algorithm(a, b):\n    return (a +", "algorithm", 2, cut=True)
    assert not c.usable and c.reason == "cut_at_limit"


def test_reasons_for_unusable_samples():
    assert check("I cannot help with that.", "algorithm", 2).reason == "no_code"
    assert check("```python\n```", "algorithm", 2).reason == "no_code"
    assert check("```python\ndef algorithm(a, b):\n    return (\n```", "algorithm", 2).reason in (
        "syntax"
    )
    assert check("```python\ndef helper(a):\n    return a\n```", "algorithm", 2).reason == (
        "missing_function"
    )
    assert check("```python\ndef algorithm(a):\n    return a\n```", "algorithm", 2).reason == (
        "wrong_arity"
    )


def test_the_right_arity_under_another_name_is_not_renamed():
    c = check("```python\ndef solve(a, b):\n    return a + b\n```", "algorithm", 2)
    assert not c.usable and c.reason == "missing_function"


def test_defaults_and_varargs_can_meet_the_arity():
    assert check("```python\ndef algorithm(a, b, c=1):\n    return a\n```", "algorithm", 2).usable
    assert check("```python\ndef algorithm(*args):\n    return 1\n```", "algorithm", 2).usable
    assert check(
        "```python\ndef algorithm(a, b, c):\n    return a\n```", "algorithm", 2
    ).reason == ("wrong_arity")


def test_the_block_defining_the_function_wins_over_an_earlier_one():
    text = "```python\nprint(1)\n```\nand\n```python\n" + GOOD + "\n```"
    assert check(text, "algorithm", 2).code == GOOD


def test_trims_end_at_top_level_statements_longest_first():
    code = "import os\n\ndef f():\n    return 1\n\nx = f(\n"
    assert trims(code)[0] == "import os\n\ndef f():\n    return 1"


def test_arity_and_header_come_from_the_program_being_improved():
    assert arity_of(GOOD, "algorithm") == 2
    assert header_of(GOOD, "algorithm") == "import numpy as np\n\ndef algorithm(a, b):\n"
    assert header_of("def algorithm(a): return a", "algorithm") is None
    assert arity_of(GOOD, "other") is None


def test_short_reasons_most_first():
    assert short({"syntax": 1, "cut_at_limit": 3}) == "cut 3, syntax 1"


def test_definitions_nested_in_the_required_function_are_found():
    nested = "def algorithm(F):\n    def cost(a):\n        return a\n    return cost(F)\n"
    deep = "def algorithm(F):\n    if F:\n        class C:\n            x = 1\n    return F\n"
    beside = "def helper(a):\n    return a\n\ndef algorithm(F):\n    return helper(F)\n"
    assert nests_definitions(nested, "algorithm") and nests_definitions(deep, "algorithm")
    assert not nests_definitions(beside, "algorithm")
    assert not nests_definitions(nested, "other") and not nests_definitions("def (", "algorithm")
    assert defines_beside(beside, "algorithm") and not defines_beside(nested, "algorithm")


def test_a_function_returns_a_value_only_from_its_own_body():
    from selftaught.lm.usable import returns_value

    assert returns_value("def f(x):\n    if x:\n        return 1\n    pass\n", "f")
    assert not returns_value("def f(x):\n    y = x\n", "f")
    assert not returns_value("def f(x):\n    return\n", "f")
    assert not returns_value("def f(x):\n    return None\n", "f")
    assert returns_value("def f(x):\n    yield x\n", "f")
    assert returns_value("async def f(x):\n    return x\n", "f")
    assert not returns_value("def f(x):\n    def g():\n        return 1\n    g()\n", "f")
    assert not returns_value("def f(x):\n    g = lambda: 1\n", "f")
    assert not returns_value("def g(x):\n    return 1\n", "f")
    # the definition in effect is the last one
    assert not returns_value("def f(x):\n    return 1\n\ndef f(x):\n    pass\n", "f")


def test_a_sample_met_again_is_checked_once(monkeypatch):
    # One check of a hostile answer may cost seconds of the orchestrator's time, which is
    # not charged to the improver that asked: the samples of a call that repeat one text
    # (as `echo` and an obedient model do) cost one check, not one each.
    from selftaught.lm import usable

    usable._check.cache_clear()
    calls = []
    real = usable._problem

    def counted(code, function, arity):
        calls.append(code)
        return real(code, function, arity)

    monkeypatch.setattr(usable, "_problem", counted)
    answer = "```python\ndef algorithm(x):\n    return x +\n```"  # unusable: repaired
    first = [usable.check(answer, "algorithm", 1) for _ in range(6)]
    assert len(set(first)) == 1 and calls
    once = len(calls)
    usable._check.cache_clear()
    calls.clear()
    usable.check(answer, "algorithm", 1)
    assert len(calls) == once
