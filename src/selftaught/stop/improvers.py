"""Naming improvers: `seed`, or a path to an improver .py file."""

from __future__ import annotations

from pathlib import Path

from selftaught.errors import UserError
from selftaught.sandbox.runner import check_program
from selftaught.stop.seed_improver import seed_improver


def resolve_improver(spec: str, *, keep_input: bool = True) -> str:
    """The source of the improver `spec` names; a broken or missing file is a user error."""
    if spec == "seed":
        return seed_improver(keep_input=keep_input)
    path = Path(spec)
    try:
        src = path.read_text()
    except FileNotFoundError:
        raise UserError(f"improver file not found: {spec}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read improver file {spec}: {exc}") from None
    problem = check_program(src, "improve_algorithm", 3)
    if problem is not None:
        raise UserError(f"improver file {spec}: {problem}")
    return src
