"""Getting the report ready while a run runs: its libraries imported and matplotlib's first
figure drawn in a background thread, so that writing the report when the run ends costs
only the report's own plots (docs/performance.md, "Fixed costs of a run").

The thread runs trusted code only and touches nothing of the run; the report waits for it
(`wait`) before drawing, since matplotlib is not safe to use from two threads at once.
"""

from __future__ import annotations

import atexit
import threading

_started: list[threading.Thread] = []
_lock = threading.Lock()


def _prepare() -> None:
    try:
        from selftaught.report import plots

        plots.warm_up()
    except Exception:  # noqa: BLE001 - the report then does it itself, and says what failed
        pass


def start() -> None:
    """Begin preparing the report in the background (once per process)."""
    with _lock:
        if not _started:
            thread = threading.Thread(target=_prepare, name="report-warm-up", daemon=True)
            thread.start()
            _started.append(thread)
            # A process that ends early (a run that failed to start) waits for it: a thread
            # still importing a C++ extension when the interpreter goes aborts the process.
            atexit.register(wait)


def wait() -> None:
    """Wait until a preparation started by `start` (if any) has finished."""
    with _lock:
        threads = list(_started)
    for thread in threads:
        thread.join()
