"""No program text can make the checks raise: parsing, extracting, checking, analysing
and hashing any text end in an outcome (usable, or unusable with a reason).

Deep nesting (`algorithm = 1+1+...+1` with thousands of terms made `ast.dump` and then
`ast.parse` itself raise RecursionError, and a hundred thousand unary minus signs a
MemoryError), huge literals, NULs, lone surrogates, control characters and random bytes,
fuzzed with Hypothesis and tried by hand."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selftaught.lm.edits import apply_edits
from selftaught.lm.usable import (
    REASONS,
    as_answer,
    check,
    defines_beside,
    header_of,
    nests_definitions,
    returns_value,
    same_program,
)
from selftaught.program import check_program, extract_code, find_problem, required_arity
from selftaught.program.analysis import Analysis, analyze_source
from selftaught.program.check import REASONS as PROBLEMS
from selftaught.program.extract import MAX_DEPTH, MAX_PROGRAM_CHARS, parse
from selftaught.store.db import program_hash

GOOD = "def algorithm(xs):\n    return sorted(xs)\n"

DEEP = {
    "sum of 2,000 terms": "algorithm = " + "+".join(["1"] * 2_000),
    "sum of 5,000 terms": "algorithm = " + "+".join(["1"] * 5_000),
    "sum of 40,000 terms": "algorithm = " + "+".join(["1"] * 40_000),
    "sum of 100,000 terms": "algorithm = " + "+".join(["1"] * 100_000),
    "sum in a function": "def algorithm(xs):\n    return " + "+".join(["1"] * 3_000) + "\n",
    "100,000 minus signs": "def algorithm(xs):\n    return " + "-" * 90_000 + "1\n",
    "5,000 nots": "algorithm = " + "not " * 5_000 + "1",
    "attribute chain": "algorithm = " + ".".join(["a"] * 2_000),
    "call chain": "algorithm = f" + "(1)" * 2_000,
    "subscript chain": "algorithm = a" + "[0]" * 3_000,
    "nested lambdas": "algorithm = " + "lambda: " * 2_000 + "1",
    "deep brackets": "algorithm = " + "(" * 199 + "1" + ")" * 199,
    "too deep brackets": "algorithm = " + "[" * 10_000 + "]" * 10_000,
    "elif chain": "def algorithm(n):\n    if n == 0:\n        return 0\n"
    + "".join(f"    elif n == {i}:\n        return {i}\n" for i in range(1, 3_000)),
    "deep string concat": "algorithm = " + " + ".join(["'a'"] * 1_000),
}

ODD = {
    "NUL bytes": "def algorithm(xs):\n    return xs\n" + "\x00" * 10_000,
    "NUL in a string": "def algorithm(xs):\n    return '\x00'\n",
    "lone surrogate": "def algorithm(xs):\n    return '\ud800'\n",
    "huge int": "def algorithm(xs):\n    return " + "9" * 50_000 + "\n",
    "huge string": "def algorithm(xs):\n    return '" + "a" * 99_000 + "'\n",
    "too long": "def algorithm(xs):\n    return xs\n" + "#" * 12_000_000,
    "escape sequences": "def algorithm(xs):\n    return '\x1b]52;c;AAAA\x07\x9b2J'\n",
    "control characters": "def algorithm(xs):\n\x0c    return xs\x1b\n",
    "form feeds and CRs": "def algorithm(xs):\r\n    return xs\r\n\x0c\n",
    "line separators before the def": "x = '\u2028\x1c'\ndef algorithm(xs):\n    return xs\n",
    "invalid UTF-8 as surrogateescape": b"def algorithm(xs):\n    return '\xff\xfe'\n".decode(
        "utf-8", "surrogateescape"
    ),
}


def _every_path(src: str) -> None:
    """Every check a program or a model answer goes through ends in an outcome."""
    problem = find_problem(src, "algorithm", 1)
    assert problem is None or problem.reason in PROBLEMS
    message = check_program(src, "algorithm", 1)
    assert (message is None) == (problem is None)
    assert message is None or "\n" not in message
    checked = check(as_answer(src), "algorithm", 1)
    assert checked.usable or checked.reason in REASONS
    assert check(src, "algorithm", 1, cut=True).usable in (True, False)
    assert check(src, "algorithm", 1, repair=False).usable in (True, False)
    assert isinstance(extract_code(src, function="algorithm"), str)
    assert isinstance(extract_code(as_answer(src)), str)
    assert isinstance(analyze_source(src), Analysis)
    assert required_arity(src, "algorithm") in (None, 0, 1)
    assert same_program(src, src) in (True, False)
    header = header_of(src, "algorithm")
    assert header is None or "algorithm" in header
    assert nests_definitions(src, "algorithm") in (True, False)
    assert defines_beside(src, "algorithm") in (True, False)
    assert returns_value(src, "algorithm") in (True, False)
    assert apply_edits(src, f"<<<<<<< SEARCH\n{src[:50]}\n=======\nx\n>>>>>>> REPLACE").reason in (
        None,
        "edit_no_match",
    )
    assert len(program_hash(src)) == 16


@pytest.mark.parametrize("name", list(DEEP))
def test_a_deeply_nested_program_is_unusable_with_a_reason_not_an_exception(name):
    src = DEEP[name]
    _every_path(src)
    if name in ("deep brackets", "deep string concat"):
        return  # within the bound
    message = check_program(src, "algorithm", 1)
    assert message is not None
    if len(src) > MAX_PROGRAM_CHARS:
        assert "characters long" in message
    else:
        assert "nests deeper" in message or "parenthes" in message, message


def test_nesting_within_the_bound_is_still_a_program():
    assert check_program("algorithm = " + "(" * 150 + "1" + ")" * 150, "algorithm", 1) is None
    src = "def algorithm(xs):\n    return " + "+".join(["1"] * (MAX_DEPTH // 2)) + "\n"
    assert check_program(src, "algorithm", 1) is None


@pytest.mark.parametrize("name", list(ODD))
def test_an_odd_program_ends_in_an_outcome(name):
    _every_path(ODD[name])


def test_a_program_of_nul_bytes_says_why_without_a_missing_line_number():
    message = check_program(ODD["NUL bytes"], "algorithm", 1)
    assert message is not None and "null bytes" in message and "None" not in message


def test_a_program_longer_than_the_bound_is_too_long():
    problem = find_problem(ODD["too long"], "algorithm", 1)
    assert problem is not None and problem.reason == "too_long"
    assert f"{MAX_PROGRAM_CHARS:,}" in problem.message
    assert check(as_answer(ODD["too long"]), "algorithm", 1, repair=False).reason == "too_long"
    repaired = check(as_answer(ODD["too long"]), "algorithm", 1)  # its complete first lines
    assert repaired.repaired and repaired.code == "def algorithm(xs):\n    return xs"


def test_the_header_is_the_def_line_as_the_parser_counts_lines():
    header = header_of(ODD["line separators before the def"], "algorithm")
    assert header is not None and header.endswith("def algorithm(xs):\n")


def test_parse_raises_only_syntax_errors():
    for src in [*DEEP.values(), *ODD.values()]:
        try:
            parse(src)
        except SyntaxError:
            pass


_DEEP_FORMS = [
    lambda n: "algorithm = " + "+".join(["1"] * n),
    lambda n: "algorithm = " + "(" * n + "1" + ")" * n,
    lambda n: "algorithm = " + "[" * n + "]" * n,
    lambda n: "algorithm = " + "-" * n + "1",
    lambda n: "algorithm = " + "not " * n + "1",
    lambda n: "algorithm = a" + ".b" * n,
    lambda n: "algorithm = f" + "(x)" * n,
    lambda n: "algorithm = " + "lambda: " * n + "1",
    lambda n: "".join("    " * i + "if x:\n" for i in range(n)) + "    " * n + "pass\n",
    lambda n: "algorithm = " + "9" * n,
    lambda n: "algorithm = '" + "a" * n + "'",
]

_NOISE = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\x1b]52;c;QUFB\x07", "\x9b", "\x1b[2J", "\r", "\x0c", "```", "\n"]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(_DEEP_FORMS))), st.integers(1, 6_000))
def test_fuzz_deep_nesting_and_huge_literals_end_in_an_outcome(form, n):
    _every_path(_DEEP_FORMS[form](n))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2_000))
def test_fuzz_any_text_ends_in_an_outcome(src):
    _every_path(src)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2_000))
def test_fuzz_random_bytes_end_in_an_outcome(data):
    _every_path(data.decode("utf-8", "surrogateescape"))
    _every_path(data.decode("latin-1"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GOOD)), _NOISE), max_size=6))
def test_fuzz_a_program_with_noise_inserted_ends_in_an_outcome(inserts):
    src = GOOD
    for at, noise in sorted(inserts, reverse=True):
        src = src[:at] + noise + src[at:]
    _every_path(src)


def _elif_ladder(n: int) -> str:
    lines = ["def algorithm(x):", "    if x == 0:", "        return 0"]
    for i in range(1, n):
        lines += [f"    elif x == {i}:", f"        return {i}"]
    return "\n".join(lines) + "\n"


def test_long_elif_ladders_and_sums_that_python_compiles_are_usable_programs():
    # each elif and each + is one level of the tree: 500 of them is an ordinary program
    from selftaught.lm.usable import same_program
    from selftaught.program import check_program

    for src in (
        _elif_ladder(500),
        "def algorithm(x):\n    return " + " + ".join(["x"] * 500) + "\n",
    ):
        compile(src, "<test>", "exec")
        assert check_program(src, "algorithm", 1) is None
        assert same_program(src, src) and not same_program(
            src, src.replace("return", "return -", 1)
        )
