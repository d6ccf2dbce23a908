"""The examples run as written (on the `echo` and `scripted:` models), and the notebook is
valid JSON whose code makes the same calls and runs too."""

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent.parent / "examples"

SIEVE = '''def count_primes(n):
    """The number of primes below n, by a sieve."""
    if n < 3:
        return 0
    sieve = bytearray([1]) * n
    sieve[0] = sieve[1] = 0
    for p in range(2, int(n ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p :: p] = bytearray(len(range(p * p, n, p)))
    return sum(sieve)
'''


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stderr
    return out


def test_improve_quality_example(tmp_path):
    out = run([str(EXAMPLES / "improve_quality.py"), "echo"], tmp_path).stdout
    assert "algorithm(xs)" in out and "Twenty random integers" in out  # the written text
    assert "validation" in out and "held-out" in out and "records:" in out
    assert "validation score: 0." in out
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_make_faster_example_on_a_model_that_knows_a_sieve(tmp_path):
    (tmp_path / "replies.json").write_text(
        json.dumps([{"when": "", "reply": f"```python\n{SIEVE}```"}])
    )
    out = run([str(EXAMPLES / "make_faster.py"), "scripted:replies.json"], tmp_path).stdout
    before, after = out.split("speed score: ")[1].split()[0:3:2]
    assert 0.2 < float(before) < 0.8 and float(after) > 0.8  # the seed ~0.5, the sieve ~1
    assert "by a sieve" in out


def test_stop_run_example(tmp_path):
    out = run([str(EXAMPLES / "stop_run.py"), "echo"], tmp_path).stdout
    assert "iteration" in out and "held-out" in out and "status: finished" in out
    assert "model calls" in out


def test_notebook_is_valid_and_makes_the_same_calls_and_runs(tmp_path):
    notebook = json.loads((EXAMPLES / "selftaught.ipynb").read_text())
    assert notebook["nbformat"] == 4
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    code = "\n\n".join("".join(c["source"]) for c in cells)
    for call in ["selftaught.task(", "selftaught.improve(", "selftaught.run(", "open_run("]:
        assert call in code
    compile(code, "notebook", "exec")
    (tmp_path / "notebook.py").write_text(code)
    out = run(["notebook.py"], tmp_path, env={"SELFTAUGHT_MODEL": "echo"})
    assert "model calls" in out.stdout
