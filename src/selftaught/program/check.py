"""Checking a program before it runs: it parses and defines the function the caller will
call, with a signature that accepts the arguments it will get.

Checked in the orchestrator before any worker starts (parsing is safe; running is not).
"""

from __future__ import annotations

import ast

from selftaught.program.extract import parse


def check_program(src: str, function: str, arity: int | None = None) -> str | None:
    """Why `src` cannot be run as a program defining `function`, or None if it can."""
    if not isinstance(src, str) or not src.strip():
        return "empty program"
    try:
        tree = parse(src)  # one process-wide lock: 3.11's parser is not thread-safe
    except SyntaxError as exc:
        return f"syntax error: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:
        return f"syntax error: {exc}"
    defs = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
    ]
    if not defs:
        bound = any(
            isinstance(n, ast.Assign | ast.AnnAssign | ast.Import | ast.ImportFrom | ast.ClassDef)
            and function in ast.dump(n)
            for n in tree.body
        )
        return None if bound else f"the program does not define {function}()"
    fn = defs[-1]
    if isinstance(fn, ast.AsyncFunctionDef):
        return f"{function}() is async; it must be a plain function"
    if arity is not None:
        args = fn.args
        positional = len(args.posonlyargs) + len(args.args)
        required = positional - len(args.defaults)
        if args.vararg is None and positional < arity or required > arity:
            return f"{function}() takes {positional} arguments; it must accept {arity}"
        missing = [
            a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
        ]
        if missing:
            return f"{function}() requires keyword-only arguments {', '.join(missing)}"
    return None
