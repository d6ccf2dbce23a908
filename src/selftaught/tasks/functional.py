"""Tasks from Python functions: `selftaught.task(...)`.

The seed solution may be a function (its source is what the improver gets, its name the
function solutions define); `make_instance(rng)` makes one instance; `score(output,
answer)` scores one output. Without `utility_text`, one is written from the docstrings
and signatures of the seed, `make_instance` and `score`, so the model sees what is scored.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any, Literal

from selftaught.errors import TaskError
from selftaught.program.check import required_arity
from selftaught.tasks.base import Task
from selftaught.tasks.speed import SPEED_TEXT, SpeedTask


def _source(fn: Any, what: str) -> str:
    if isinstance(fn, str):
        return fn
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise TaskError(f"{what}: cannot read the source of {fn!r}: {exc}") from None


def _signature(fn: Callable[..., Any]) -> str:
    try:
        return f"{fn.__name__}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return f"{getattr(fn, '__name__', 'function')}(...)"


def _doc(fn: Any) -> str:
    return inspect.cleandoc(fn.__doc__) if getattr(fn, "__doc__", None) else ""


def _arity(fn: Callable[..., Any]) -> int:
    """`program.check.required_arity` of a live function: its positional parameters
    without defaults."""
    params = inspect.signature(fn).parameters.values()
    return sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        for p in params
    )


def written_utility_text(
    *,
    function: str,
    seed_solution: Any,
    make_instance: Callable[..., Any],
    score: Callable[..., Any] | None,
    reference: Callable[..., Any] | None,
    objective: str,
    description: str,
    n_validation: int,
) -> str:
    """A utility text from docstrings and signatures (the parts that exist)."""
    lines = [description.rstrip(".") + "."] if description else []
    if callable(seed_solution):
        sig, doc = _signature(seed_solution), _doc(seed_solution)
        lines.append(f"Your program must define {sig}." + (f" {doc}" if doc else ""))
    else:
        lines.append(f"Your program must define {function}().")
    made = f"{_signature(make_instance)}"
    doc = _doc(make_instance)
    lines.append(
        f"It is scored on {n_validation} instances; each is made by {made}"
        + (f": {doc}" if doc else "")
        + (
            " (it returns the arguments of one call)"
            if reference is not None
            else " (it returns the arguments of one call and the expected answer)"
        )
    )
    if reference is not None:
        doc = _doc(reference)
        lines.append(
            f"The expected answer is computed by {_signature(reference)}"
            + (f": {doc}" if doc else ".")
        )
    if score is not None:
        doc = _doc(score)
        lines.append(
            f"Each output is scored by {_signature(score)} in [0, 1]" + (f": {doc}" if doc else ".")
        )
    if objective == "speed":
        lines.append(SPEED_TEXT)
    else:
        lines.append("The utility is the mean score over the instances (1 is best).")
    return "\n".join(lines)


def task(
    *,
    name: str,
    seed_solution: str | Callable[..., Any],
    make_instance: Callable[[Any], Any],
    score: Callable[[Any, Any], float] | None = None,
    utility_text: str | None = None,
    description: str | None = None,
    reference: Callable[..., Any] | None = None,
    objective: Literal["quality", "speed"] = "quality",
    function: str | None = None,
    n_validation: int = 20,
    n_heldout: int = 50,
    instance_timeout: float = 1.0,
) -> Task:
    """A task from Python functions, checked like a task file and usable by name.

    - `seed_solution`: the starting program, a function (its source) or source text.
    - `make_instance(rng)`: one instance from a numpy Generator: `(args_tuple, answer)`;
      with `reference`, just `args_tuple`, and the answer is `reference(*args)`.
    - `score(output, answer) -> float in [0, 1]`: required for `objective="quality"`; for
      `"speed"` it is each output's correctness (default: equal to the answer).
    - `objective="speed"`: a faster correct program scores higher (CPU time measured by
      the orchestrator against the seed's; see docs/api.md for the formula).
    - `utility_text`: what the model is shown; omitted, it is written from the docstrings
      and signatures of the functions above.
    """
    from selftaught.tasks.loader import task_from_object
    from selftaught.tasks.registry import register_task

    if objective not in ("quality", "speed"):
        raise TaskError(f"task {name!r}: objective must be quality or speed, not {objective!r}")
    if score is None and objective == "quality":
        raise TaskError(f"task {name!r}: a quality task needs score(output, answer)")
    fn_name = function or getattr(seed_solution, "__name__", None) or "algorithm"
    src = _source(seed_solution, f"task {name!r}: seed_solution")
    attrs: dict[str, Any] = {
        "name": name,
        "description": description or _doc(seed_solution).split("\n")[0] or name,
        "function": fn_name,
        "seed_solution": src,
        "n_validation": n_validation,
        "n_heldout": n_heldout,
        "instance_timeout": instance_timeout,
    }
    # The arity by the one rule (`program.check.required_arity`) on the seed's source; a
    # seed whose source holds no `def` of its name (a lambda) by the same rule on its
    # signature.
    arity = required_arity(src, fn_name)
    if arity is None and callable(seed_solution):
        arity = _arity(seed_solution)
    attrs["arity"] = 0 if arity is None else arity
    attrs["utility_text"] = utility_text or written_utility_text(
        function=fn_name,
        seed_solution=seed_solution,
        make_instance=make_instance,
        score=score,
        reference=reference,
        objective=objective,
        description=attrs["description"],
        n_validation=n_validation,
    )
    if reference is not None:

        def make(self: Task, rng: Any) -> tuple[tuple, Any]:
            args = make_instance(rng)
            args = args if isinstance(args, tuple) else (args,)
            return args, reference(*args)

    else:

        def make(self: Task, rng: Any) -> tuple[tuple, Any]:
            return make_instance(rng)

    attrs["make_instance"] = make
    if score is not None:
        attrs["score"] = lambda self, output, answer: score(output, answer)
    base = SpeedTask if objective == "speed" else Task
    cls = type(f"FunctionTask_{name}", (base,), attrs)
    checked = task_from_object(cls(), default_name=name, where=f"task {name!r}")
    register_task(checked)
    for fn in (make_instance, reference):  # the files that make instances and answers
        _hide_source(fn)
    return checked


def _hide_source(fn: Any) -> None:
    """Keep the file that defines `fn` from workers started from now on (a notebook cell
    has no file)."""
    from selftaught.sandbox import hidden

    try:
        path = inspect.getsourcefile(fn) if fn is not None else None
    except TypeError:
        path = None
    if path and not path.startswith("<"):
        hidden.hide(path, name_it=True)
