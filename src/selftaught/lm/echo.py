"""`echo`: answers with the first program in the prompt, unchanged, in a code fence.

Instant and free: a dry run of a task, a config and its budgets before spending money,
and the way to measure what the framework itself costs.
"""

from __future__ import annotations

from selftaught.lm.base import Backend, Completion, Reply, Request
from selftaught.program.extract import fenced_blocks


def first_program(text: str) -> str:
    """The first fenced program of `text`, ending in one newline as a source file does, or
    "" if there is none. A program that holds fences itself (an improver's prompt
    template) is kept whole."""
    for code, _terminated in fenced_blocks(text):
        if code.strip():
            return code.strip("\n") + "\n"
    return ""


class EchoBackend(Backend):
    """Every sample is the prompt's first program."""

    name = "echo"
    supports_n = True

    def complete(self, request: Request) -> Reply:
        code = first_program(request.user)
        text = f"```python\n{code}```" if code else "There is no program in the prompt."
        return Reply(completions=[Completion(text=text) for _ in range(request.n)])
