"""Naming improvers: `seed`, `greedy`, a path to an improver .py file, or `RUN_DIR:ITER`."""

from __future__ import annotations

import re
from pathlib import Path

from selftaught.errors import ProgramError
from selftaught.program.check import check_program
from selftaught.stop.baselines import greedy_improver
from selftaught.stop.seed_improver import seed_improver

NAMED = ("seed", "greedy")
_RUN_ITER = re.compile(r"^(?P<run>.+):(?P<iter>\d+)$")


def run_improver_path(spec: str, *, runs_dir: Path = Path("runs")) -> Path | None:
    """The file `RUN_DIR:ITER` names (`<run dir>/improvers/iter_NNN.py`), or None if
    `spec` does not have that shape. RUN_DIR is a path, or a name under `runs_dir`."""
    match = _RUN_ITER.match(spec)
    if match is None:
        return None
    run = Path(match["run"])
    if not run.is_dir() and (runs_dir / run).is_dir():
        run = runs_dir / run
    if not run.is_dir():
        raise ProgramError(f"improver {spec}: run directory {match['run']} not found")
    path = run / "improvers" / f"iter_{int(match['iter']):03d}.py"
    if not path.is_file():
        raise ProgramError(
            f"improver {spec}: {path} not found (that run has no iteration {match['iter']})"
        )
    return path


def resolve_improver(spec: str, *, keep_input: bool = True, runs_dir: Path = Path("runs")) -> str:
    """The source of the improver `spec` names; a broken or missing file is a user error."""
    if spec == "seed":
        return seed_improver(keep_input=keep_input)
    if spec == "greedy":
        return greedy_improver()
    path = run_improver_path(spec, runs_dir=runs_dir) or Path(spec)
    try:
        src = path.read_text()
    except FileNotFoundError:
        raise ProgramError(
            f"improver file not found: {spec} (give seed, greedy, a .py file or RUN_DIR:ITER)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(f"cannot read improver file {spec}: {exc}") from None
    problem = check_program(src, "improve_algorithm", 3)
    if problem is not None:
        raise ProgramError(f"improver file {spec}: {problem}")
    return src


def improver_label(spec: str) -> str:
    """A short name for tables: `seed`, `greedy`, the file stem or `RUN:ITER`."""
    if spec in NAMED or _RUN_ITER.match(spec):
        return spec.rstrip("/")
    return Path(spec).stem
