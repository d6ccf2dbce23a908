"""Whether a sample gives a usable program, repairing what can be repaired first.

A sample is usable when its code is a usable program by the one rule the orchestrator
also runs it by (`selftaught.program.check.find_problem`): it parses and binds the
required function at module level with a signature that accepts the number of arguments
the function is called with (`arity_of`). Before a sample is rejected, a
completion cut at the token limit, or followed by prose, is trimmed to its last complete
top-level statement and checked again. A function of the right arity under another name
is not renamed (that would change what the model wrote): it is `missing_function`.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections import Counter
from dataclasses import dataclass

from selftaught.program.check import find_problem, required_arity
from selftaught.program.extract import (
    MAX_PROGRAM_CHARS,
    MAX_TRIMS,
    TRIM_CHARS,
    fenced_blocks,
    parse,
    parses,
    trim_to_parse,
)

REASONS = {
    "no_code": "no code in the answer",
    "syntax": "the code does not parse",
    "missing_function": "the code does not define the required function",
    "wrong_arity": "the required function takes the wrong number of arguments",
    "cut_at_limit": "cut at the token limit, and nothing complete was left",
    "edit_no_match": "an edit's search text is not in the program",
    "too_long": "the code is longer than a program may be",
}
"""Why a sample is unusable, in the order of the report's legend."""

_LINES = re.compile(r"\r\n|\r|\n")

REPAIRED_BLOCKS = 4
"""Code blocks of one answer that repair is tried on (an answer holds one to three)."""

_TOP_LEVEL = re.compile(r"^(?![ \t#)\]}]|else\b|elif\b|except\b|finally\b|case\b)\S", re.M)


@dataclass(frozen=True)
class Checked:
    """One sample after checking: its code when usable, else why not."""

    code: str | None
    reason: str | None = None
    repaired: bool = False
    """The code is a trimmed prefix of what the model wrote."""

    @property
    def usable(self) -> bool:
        return self.code is not None


_DEFS = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _top_level(src: str) -> list[ast.stmt]:
    """The top-level statements of `src`, or none if it does not parse."""
    try:
        return parse(src).body
    except SyntaxError:
        return []


def _defs(src: str, function: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The top-level definitions of `function` in `src`, in order."""
    return [
        n
        for n in _top_level(src)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
    ]


def arity_of(src: str, function: str) -> int | None:
    """How many arguments `function` in `src` is called with, if it defines it: its
    positional parameters without defaults (`program.check.required_arity`, the rule
    tasks take their arity by), so an answer may drop a parameter the program defaults."""
    return required_arity(src, function)


def header_of(src: str, function: str) -> str | None:
    """`src` up to and including the `def` line of `function`: its imports and the header
    the model's answer can start with, or None if `src` does not define it on one line."""
    for node in _defs(src, function):
        if isinstance(node, ast.FunctionDef) and node.body:
            lines = _LINES.split(src)  # as the parser counts lines (not str.splitlines)
            if node.decorator_list or node.body[0].lineno == node.lineno:
                return None
            header = lines[node.lineno - 1]
            if not header.rstrip().endswith(":"):
                return None
            return "\n".join(lines[: node.lineno]) + "\n"
    return None


def nests_definitions(src: str, function: str) -> bool:
    """Whether `function` in `src` defines a function or class anywhere in its body."""
    defs = _defs(src, function)
    return bool(defs) and any(isinstance(n, _DEFS) for s in defs[0].body for n in ast.walk(s))


def defines_beside(src: str, function: str) -> bool:
    """Whether `src` defines functions or classes at the top level besides `function`."""
    return any(isinstance(n, _DEFS) and n.name != function for n in _top_level(src))


def returns_value(src: str, function: str) -> bool:
    """Whether `function` in `src` gives back something other than None: a `return` of a
    value other than the constant None, or a `yield` (a generator), in its own body,
    outside the functions and classes defined inside it."""
    defs = _defs(src, function)
    todo: list[ast.AST] = list(defs[-1].body) if defs else []
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if not (isinstance(value, ast.Constant) and value.value is None):
                return True
        if not isinstance(node, _DEFS | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return False


def same_program(a: str, b: str) -> bool:
    """Whether two programs have the same syntax tree, docstrings aside (a grammar can
    hold an answer to no docstrings); False if either does not parse."""
    trees = [_top_level(src) for src in (a, b)]
    if not all(trees):
        return False
    trees = [tree[1:] if _is_docstring(tree[0]) else tree for tree in trees]
    for tree in trees:
        for node in (n for stmt in tree for n in ast.walk(stmt)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and _is_docstring(body[0]):
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return _shape(trees[0]) == _shape(trees[1])


def _shape(tree: list[ast.stmt]) -> list[object]:
    """What `ast.dump` compares (node types, fields, constants; no positions), walked
    without recursion, so a program as deep as `parse` takes is compared too."""
    out: list[object] = []
    todo: list[object] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.AST):
            out.append(type(node).__name__)
            todo.extend(reversed([value for _, value in ast.iter_fields(node)]))
        elif isinstance(node, list):
            out.append(("list", len(node)))
            todo.extend(reversed(node))
        else:
            out.append((type(node).__name__, node))
    return out


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


_REASON_OF = {
    "empty": "no_code",
    "too_long": "too_long",
    "syntax": "syntax",
    "missing_function": "missing_function",
    "not_plain": "missing_function",
    "wrong_arity": "wrong_arity",
}
"""The reason a sample is unusable, for each reason of `program.check.find_problem`."""


def _problem(code: str, function: str, arity: int | None) -> str | None:
    """Why `code` is unusable (a key of `REASONS`), or None: the orchestrator's rule."""
    problem = find_problem(code, function, arity)
    return None if problem is None else _REASON_OF[problem.reason]


def trims(code: str, limit: int = MAX_TRIMS, chars: int = TRIM_CHARS) -> list[str]:
    """Prefixes of `code` ending at a complete top-level statement, longest first, then
    (for a last statement cut in its body) prefixes ending at a complete line: none
    longer than a program may be, at most `limit` of them and `chars` characters in all
    (the first always), which bounds what checking one answer can cost."""
    text = code.rstrip()
    starts = [m.start() for m in _TOP_LEVEL.finditer(text)]
    ends = [s for s in reversed(starts) if 0 < s <= MAX_PROGRAM_CHARS + 1]
    lines = text.splitlines()
    length = sum(len(line) for line in lines) + len(lines) - 1  # of "\n".join(lines)
    by_line = []
    for k in range(len(lines) - 1, 0, -1):
        length -= len(lines[k]) + 1
        if length <= MAX_PROGRAM_CHARS:  # longer ones are not usable: not built
            by_line.append(k)
    out: dict[str, None] = {}  # in order, each once
    spent = 0
    for prefix in itertools.chain(
        (text[:end].rstrip() for end in ends),
        ("\n".join(lines[:k]).rstrip() for k in by_line),
    ):
        if not prefix.strip() or prefix in out:
            continue
        if len(out) >= limit or out and spent + len(prefix) > chars:
            break
        out[prefix] = None
        spent += len(prefix)
    return list(out)


def _repair(code: str, function: str, arity: int | None) -> str | None:
    for prefix in trims(code):
        if _problem(prefix, function, arity) is None:
            return prefix
    return None


def check(
    text: str,
    function: str,
    arity: int | None = None,
    *,
    cut: bool = False,
    repair: bool = True,
) -> Checked:
    """Check one sample. `cut`: generation stopped at the token limit.

    The same sample met again (the samples of one call often repeat, and a model told to
    may repeat a text it was given) is checked once: one check may cost seconds
    (docs/security.md, "Checked"), and the orchestrator's time spent on it is not the
    improver's."""
    if not isinstance(text, str):
        return Checked(None, "no_code")
    return _check(text, function, arity, cut, repair)


@functools.lru_cache(maxsize=16)  # samples are at most 200,000 characters: 3.2 MB at most
def _check(text: str, function: str, arity: int | None, cut: bool, repair: bool) -> Checked:
    blocks = [(c.strip("\n"), done) for c, done in fenced_blocks(text)]
    if not blocks and "```" not in text and "def " in text:
        blocks = [(text.strip("\n"), not cut)]
    if not repair:  # what code extraction always did: a cut-off block keeps what parses
        blocks = [
            (c if done or len(c) > MAX_PROGRAM_CHARS or parses(c) else trim_to_parse(c), done)
            for c, done in blocks
        ]
    blocks = [(c, done) for c, done in blocks if c.strip()]
    if not blocks:
        return Checked(None, "cut_at_limit" if cut else "no_code")
    problems = []
    for code, _ in blocks:
        problem = _problem(code, function, arity)
        if problem is None:
            return Checked(code)
        problems.append(problem)
    if repair:
        for code, _ in blocks[:REPAIRED_BLOCKS]:
            fixed = _repair(code, function, arity)
            if fixed is not None:
                return Checked(fixed, repaired=True)
    if cut and not blocks[-1][1]:
        return Checked(None, "cut_at_limit")
    for reason in ("wrong_arity", "missing_function", "syntax", "too_long"):
        if reason in problems:
            return Checked(None, reason)
    return Checked(None, problems[0])


def as_answer(code: str) -> str:
    """A checked program as the answer an improver's `extract_code` takes apart."""
    return f"```python\n{code}\n```"


def tally(checked: list[Checked]) -> dict[str, int]:
    """Unusable samples by reason."""
    return dict(Counter(c.reason for c in checked if c.reason is not None))


SHORT = {
    "no_code": "no code",
    "syntax": "syntax",
    "missing_function": "no function",
    "wrong_arity": "arity",
    "cut_at_limit": "cut",
    "edit_no_match": "no match",
    "too_long": "too long",
}
"""Reasons in a table cell."""


LEGEND = (
    "usable: share of samples with code defining the required function with its arity;"
    " the others by reason: cut (at the token limit, nothing complete left), syntax,"
    " no code, no function (not defined, or under another name), arity, no match (an"
    " edit's search text is not in the program), too long (longer than a program may be)"
)


def add_reasons(total: dict[str, int], recorded: str | None) -> dict[str, int]:
    """`total` plus the reasons of one call as recorded (JSON, or None)."""
    import json

    for name, n in (json.loads(recorded) if recorded else {}).items():
        total[name] = total.get(name, 0) + int(n)
    return total


def short(reasons: dict[str, int]) -> str:
    """`cut 3, syntax 1`: reasons in a table cell, most first."""
    parts = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{SHORT.get(name, name)} {n}" for name, n in parts if n)


def describe(reasons: dict[str, int]) -> str:
    """`cut at limit 3, syntax 1`: reasons by count, most first."""
    parts = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in parts if n)
