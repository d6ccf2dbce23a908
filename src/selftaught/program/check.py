"""Checking a program before it runs: the one rule for a usable program.

A program is usable as a definition of `function` called with `arity` arguments when it
is text of at most `MAX_PROGRAM_CHARS` characters that parses (`extract.parse`: no NULs,
no lone surrogates, at most `extract.MAX_DEPTH` levels deep) and binds `function` at
module level: a plain `def` (not `async`) whose signature accepts `arity` positional
arguments and needs no keyword-only ones, or an assignment, import or class of that
name (their signature cannot be read without running them). Every part of the framework
asks `find_problem` (or `check_program`, its message): the orchestrator before a worker
starts, the model layer before it hands an answer on (`lm.usable`), task loading for a
seed solution. `required_arity` is the one rule for how many arguments a program's
function is called with: its positional parameters without defaults.

Checked in the orchestrator before any worker starts (parsing is safe; running is not).
Nothing here raises on any text: every input ends in a problem or None.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from selftaught.program.extract import MAX_PROGRAM_CHARS, parse

REASONS = ("empty", "too_long", "syntax", "missing_function", "not_plain", "wrong_arity")
"""What `Problem.reason` can be."""


@dataclass(frozen=True)
class Problem:
    """Why a program cannot be run as the required function: a `reason` from `REASONS`
    and a message that says it for a person."""

    reason: str
    message: str


def _syntax(exc: SyntaxError) -> str:
    line = f" (line {exc.lineno})" if exc.lineno else ""
    return f"syntax error: {exc.msg}{line}"


def _binds(node: ast.stmt, function: str) -> bool:
    """Whether a top-level statement other than a `def` binds the name `function`."""
    if isinstance(node, ast.ClassDef):
        return node.name == function
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any((a.asname or a.name.split(".")[0]) == function for a in node.names)
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    while targets:  # a, (b, algorithm) = ... unpacks into names; walked without recursion
        target = targets.pop()
        if isinstance(target, ast.Name) and target.id == function:
            return True
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
    return False


def signature_problem(args: ast.arguments, function: str, arity: int) -> Problem | None:
    """Why a function with these parameters cannot be called with `arity` positional
    arguments, or None if it can."""
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    if args.vararg is None and positional < arity or required > arity:
        return Problem(
            "wrong_arity", f"{function}() takes {positional} arguments; it must accept {arity}"
        )
    missing = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    if missing:
        return Problem(
            "wrong_arity", f"{function}() requires keyword-only arguments {', '.join(missing)}"
        )
    return None


def find_problem(src: object, function: str, arity: int | None = None) -> Problem | None:
    """Why `src` cannot be run as a program defining `function` that is called with
    `arity` positional arguments (None: any), or None if it can. Never raises."""
    if not isinstance(src, str) or not src.strip():
        return Problem("empty", "empty program")
    if len(src) > MAX_PROGRAM_CHARS:
        return Problem(
            "too_long",
            f"the program is {len(src):,} characters long; at most {MAX_PROGRAM_CHARS:,}",
        )
    try:
        tree = parse(src)  # one process-wide lock: 3.11's parser is not thread-safe
    except SyntaxError as exc:
        return Problem("syntax", _syntax(exc))
    defs = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
    ]
    if not defs:
        if any(_binds(n, function) for n in tree.body):
            return None
        return Problem("missing_function", f"the program does not define {function}()")
    fn = defs[-1]
    if isinstance(fn, ast.AsyncFunctionDef):
        return Problem("not_plain", f"{function}() is async; it must be a plain function")
    if arity is not None:
        return signature_problem(fn.args, function, arity)
    return None


def check_program(src: str, function: str, arity: int | None = None) -> str | None:
    """Why `src` cannot be run as a program defining `function`, or None if it can (the
    message of `find_problem`)."""
    problem = find_problem(src, function, arity)
    return None if problem is None else problem.message


def required_arity(src: object, function: str) -> int | None:
    """How many arguments `function` in `src` is called with: the positional parameters
    of its last top-level `def` that have no default. None if `src` does not parse or
    defines no such function."""
    if not isinstance(src, str):
        return None
    try:
        tree = parse(src)
    except SyntaxError:
        return None
    defs = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
    ]
    if not defs:
        return None
    args = defs[-1].args
    return len(args.posonlyargs) + len(args.args) - len(args.defaults)
