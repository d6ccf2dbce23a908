"""The notebook progress bar, through a real `IPython.display` (the `[notebook]` extra,
which the test command installs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from selftaught.lm.base import Usage
from selftaught.progress import NotebookProgress

pytest.importorskip("IPython", reason="needs selftaught[notebook]")


@pytest.fixture
def shell() -> Iterator[object]:
    """An IPython shell, as a notebook's kernel has one (`get_ipython()` finds it)."""
    from IPython.core.interactiveshell import InteractiveShell

    yield InteractiveShell.instance()
    InteractiveShell.clear_instance()


def test_the_notebook_bar_is_shown_once_and_then_updated_in_place(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as shown:
        progress = NotebookProgress()
        progress.start(2)
        progress.phase(1, "scoring <candidates>")
        progress.model_call(Usage(calls=3))
        progress.scored(1, 0.5)
        progress.note("info", "run directory: runs/x")
        progress.stop()
    outputs = shown.outputs
    assert len(outputs) == 6
    first, *updates = outputs
    assert not first.update and all(o.update for o in updates)  # one display, updated
    assert {o.transient["display_id"] for o in outputs} == {first.transient["display_id"]}
    during = outputs[3].data["text/html"]
    assert '<progress value="1" max="2"' in during
    assert "scoring &lt;candidates&gt;" in during  # the stage is escaped
    assert "model calls 3" in during and "best meta-utility 0.500" in during
    last = outputs[-1].data["text/html"]
    assert '<progress value="2" max="2"' in last and "done" in last
    assert "<div>run directory: runs/x</div>" in last


def test_outside_a_notebook_the_bar_shows_nothing():
    from IPython import get_ipython
    from IPython.utils.capture import capture_output

    assert get_ipython() is None
    with capture_output() as shown:
        progress = NotebookProgress()
        progress.start(1)
        progress.phase(1, "scoring")
        progress.stop()
    assert shown.outputs == [] and shown.stdout == ""
