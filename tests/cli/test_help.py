"""`selftaught --help` lists every command, and showing it imports none of the heavy modules a
command needs (models, stores, sandbox, tasks, report): those are imported inside the commands."""

import subprocess
import sys
from pathlib import Path

from tests.cli.test_run import selftaught

COMMANDS = [
    "run",
    "resume",
    "tasks",
    "score",
    "improve",
    "transfer",
    "report",
    "show",
    "export",
    "runs",
    "analyze",
    "sandbox-experiment",
    "models",
    "view",
    "experiment",
]

# Modules no command needs to be *listed*; each pulls in a large tree (pydantic, numpy, SQLite,
# the sandbox, matplotlib) that used to make every process pay ~0.3 s before doing anything.
HEAVY = [
    "numpy",
    "pydantic",
    "sqlite3",
    "selftaught.config",
    "selftaught.lm",
    "selftaught.report",
    "selftaught.sandbox",
    "selftaught.stop",
    "selftaught.store",
    "selftaught.tasks",
]


def test_help_lists_every_command(tmp_path: Path) -> None:
    out = selftaught("--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    listed = {
        line.split()[1]
        for line in out.stdout.splitlines()
        if line.startswith("│ ") and len(line.split()) > 1
    }
    assert set(COMMANDS) <= listed
    from typer.main import get_command

    from selftaught.cli import app

    registered = set(get_command(app).commands)  # type: ignore[attr-defined]
    assert registered == set(COMMANDS)


def test_help_imports_no_heavy_module(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from selftaught.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', ','.join(heavy), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY \n" in out.stderr, out.stderr
