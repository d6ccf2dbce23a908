"""How much one improver run can add to the records, within its budgets.

Runs `selftaught improve` once (default preset: 1 model call of 3 samples, 4 utility
calls) with an improver that writes as much as it can: one model call whose system text
and messages are megabytes long, four distinct multi-megabyte programs to the utility,
thousands of calls past the utility budget, and a multi-megabyte program returned. The
model is `scripted:` and answers with a long text. Prints the rows of each table, the
characters of text they hold, and the bytes of the run directory.

    python bench/records_growth.py [--mb 3] [--over 20000]

To compare with another checkout, run it with that checkout's `src` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

FLOOD = """def improve_algorithm(initial_solution, utility, language_model):
    big = "x" * (__MB__ * 1_000_000)
    try:
        language_model.batch_prompt(big, [big + str(i) for i in range(3)])
    except Exception:
        pass
    for i in range(4):
        utility(initial_solution + "\\n#" + "p" * (__MB__ * 1_000_000) + str(i))
    for i in range(__OVER__):
        utility(initial_solution)
    return initial_solution + "\\n#" + "r" * (__MB__ * 1_000_000)
"""

SEED = "def algorithm(t, dist):\n    return t\n"

TABLES = {
    "programs": "source",
    "model_calls": "COALESCE(system, '') || COALESCE(messages, '') || COALESCE(responses, '')",
    "evaluations": "COALESCE(message, '')",
    "improver_runs": "COALESCE(message, '')",
    "events": "COALESCE(detail, '')",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=3, help="megabytes of each long text")
    parser.add_argument("--over", type=int, default=20000, help="calls past the utility budget")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "seed.py").write_text(SEED)
        flood = FLOOD.replace("__MB__", str(args.mb)).replace("__OVER__", str(args.over))
        (folder / "flood.py").write_text(flood)
        (folder / "replies.json").write_text(
            json.dumps(["```python\n" + "z" * 200_000 + "\n```"] * 8)
        )
        proc = subprocess.run(
            [sys.executable, "-m", "selftaught", "improve", "seed.py", "--task", "grid"]
            + ["--improver", "flood.py", "--model", "scripted:replies.json", "--output", "runs"]
            + ["-o", "out.py"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "COLUMNS": "120"},
        )
        if not (folder / "runs").is_dir():
            sys.exit(f"improve wrote no run directory: {proc.stderr.strip()}")
        (run_dir,) = (folder / "runs").iterdir()
        db = sqlite3.connect(run_dir / "records.sqlite")
        print(f"improve exit {proc.returncode}; stdout {len(proc.stdout):,} characters")
        print(f"{'table':<14}{'rows':>8}{'text chars':>14}")
        total_rows = total_chars = 0
        for table, text in TABLES.items():
            rows, chars = db.execute(
                f"SELECT COUNT(*), SUM(LENGTH({text})) FROM {table}"
            ).fetchone()
            total_rows += rows
            total_chars += chars or 0
            print(f"{table:<14}{rows:>8}{chars or 0:>14,}")
        db.close()
        size = sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file())
        print(f"{'total':<14}{total_rows:>8}{total_chars:>14,}")
        print(f"run directory: {size:,} bytes")


if __name__ == "__main__":
    main()
