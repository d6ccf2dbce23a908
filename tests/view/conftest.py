"""Real runs for the view's tests: `selftaught run` with a scripted model whose improver
carries hostile text, and a view server started as a user starts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import data
from tests.stop.test_loop import BETTER_IMPROVER

HOSTILE = '</textarea><script>alert("script")</script><img src=x onerror=alert("onerror")>'
"""Model-written text that would run if a page inserted it as markup."""

HOSTILE_IMPROVER = BETTER_IMPROVER.replace(
    '"""BETTER-IMPROVER:', f'# {HOSTILE}\n    """BETTER-IMPROVER:'
)


def replies(delay: float = 0.0) -> list[dict]:
    return [
        {"when": "meta_utility", "reply": f"```python\n{HOSTILE_IMPROVER}```", "delay": delay},
        {
            "when": "BETTER-IMPROVER",
            "reply": f"```python\n{data('lpn_bruteforce.py')}```",
            "delay": delay,
        },
        {"when": "", "reply": f"no code today {HOSTILE}", "delay": delay},
    ]


def run_config(name: str, *, iterations: int = 1, seed: int = 0) -> str:
    return (
        f'name = "{name}"\nmodel = "scripted:replies.json"\niterations = {iterations}\n'
        f"runs = 2\nseed = {seed}\n"
        "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
    )


def selftaught(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_run(where: Path, name: str, *, iterations: int = 1, seed: int = 0, delay: float = 0.0):
    """`selftaught run` in `where`, started (not waited for)."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "replies.json").write_text(json.dumps(replies(delay)))
    (where / f"{name}.toml").write_text(run_config(name, iterations=iterations, seed=seed))
    return subprocess.Popen(
        [sys.executable, "-m", "selftaught", "run", "--config", f"{name}.toml"],
        cwd=where,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="session")
def runs_folder(tmp_path_factory) -> Path:
    """A folder with two finished runs (seeds 0 and 1) whose adopted improver holds
    `HOSTILE`."""
    where = tmp_path_factory.mktemp("view")
    for seed in (0, 1):
        proc = start_run(where, f"hostile{seed}", seed=seed)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    return where / "runs"


def run_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "records.sqlite").is_file())


@contextmanager
def view_server(
    *paths: Path, extra: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`selftaught view PATHS` started as a user starts it: (the URL it printed, process)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "view", *map(str, paths), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("selftaught view: http"):
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"the view did not start: {line!r} {err}")
        url = line.split(": ", 1)[1].strip()
        _wait_listening(url)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _wait_listening(url: str) -> None:
    import urllib.error
    import urllib.request

    base = url.split("?")[0]
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "static/view.css", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 401 without the token)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the view at {url} does not answer")


def file_state(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder`: (mtime_ns, bytes)."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            p = Path(root) / name
            out[str(p.relative_to(folder))] = (p.stat().st_mtime_ns, p.read_bytes())
    return out
