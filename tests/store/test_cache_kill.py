"""The response cache keeps every sample whose `put` returned, even when the process is
killed at once afterwards (kill -9 mid-run): a resumed run is answered from it."""

import subprocess
import sys
from pathlib import Path

from selftaught.store.cache import SampleFile

CHILD = """
import os, signal, sys, threading
from selftaught.store.cache import CachedSample, SampleFile
f = SampleFile(sys.argv[1])
def more():  # a second writer still busy when the process dies
    for i in range(10_000):
        f.put(f"other{i}", CachedSample("y" * 100))
threading.Thread(target=more, daemon=True).start()
for i in range(200):
    f.put(f"k{i}", CachedSample("x" * 1000 + str(i), 10, i))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_samples_put_before_a_kill_are_all_there(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], timeout=120)
    assert done.returncode == -9
    f = SampleFile(path)
    try:
        for i in range(200):
            sample = f.get(f"k{i}")
            assert sample is not None, f"sample {i} lost"
            assert sample.text == "x" * 1000 + str(i) and sample.completion_tokens == i
    finally:
        f.close()
