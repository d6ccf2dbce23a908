"""What `show`, the report and the view do with the audit events of one evaluation,
whose number a hostile improver sets.

Each utility call scores a solution the improver wrote, and its worker may report 200
claims (docs/security.md, "Events"), recorded under the improver run's scope. A seed
improver that sends 25 distinct solutions per run, each reporting 200 refused reads
(`tests/store/test_improver_run_records.py::NOISY_UTILITY`), run as
`selftaught run --preset paper --model echo --task lpn --iterations 0 --improver <it>`,
recorded 25,000 events for iteration 0 (2.8 s of run); `selftaught show` then printed
25,062 lines (5.0 MB) for that iteration alone. With `--iterations 1` the step's candidates
(the same improver) recorded 651,310 events (189 million characters, a 389 MB records file,
67 s of run): the report written at the end of the run took 6.5 s and 830 MB (the run's peak
RSS 859 MB), and the view's live answer, polled every second, 5 to 7 s per poll.

The tests count rows instead of timing: a run of `EVENTS` events in one iteration's
evaluation, far fewer than the paper preset allows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from selftaught.report.content import gather
from selftaught.report.provenance import format_provenance, provenance
from selftaught.report.records import RunRecords
from selftaught.store.db import Store
from selftaught.store.rows import EventRow

EVENTS = 20_000
SHOWN = 500
"""The most events the HTML report lists (`report/html.py`); the view keeps the last 200."""

SEED = "def improve_algorithm(initial_solution, utility, language_model):\n    return initial_solution\n"


def noisy_run(folder: Path, events: int = EVENTS) -> Path:
    """A finished run's records: iteration 0's evaluation holds `events` worker claims."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "records.sqlite")
    store.set_meta("kind", "stop")
    store.set_meta("status", "finished")
    store.set_meta("config", {"model": "echo", "tasks": ["lpn"], "iterations": 0, "runs": 5})
    digest = store.save_program(SEED, "improver")
    store.add_iteration(
        {"iteration": 0, "improver_hash": digest, "adopted": 1, "validation": 0.5, "outcome": "ok"}
    )
    detail = "open /etc/" + "x" * 280
    for i in range(events):
        store.add_event(
            EventRow(
                iteration=0,
                scope=f"it0/eval/lpn/r{i % 5}/u{i // 1000 + 1}",
                program_hash=f"{i // 200:016x}",
                kind="read_outside_roots",
                detail=f"{detail}{i}",
                source="worker",
            )
        )
    store.close()
    return folder


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Path:
    return noisy_run(tmp_path_factory.mktemp("noisy") / "run")


def count_event_rows(monkeypatch) -> list[int]:
    """A counter of the event rows code turns into `EventRow`s from now on."""
    count = [0]
    made = EventRow.of.__func__

    def counting(cls, values):
        count[0] += 1
        return made(cls, values)

    monkeypatch.setattr(EventRow, "of", classmethod(counting))
    return count


@pytest.fixture
def rows_read(monkeypatch) -> list[int]:
    """How many event rows the code under test turned into `EventRow`s."""
    return count_event_rows(monkeypatch)


def test_show_prints_a_bounded_number_of_an_evaluations_events(noisy):
    with RunRecords(noisy) as records:
        text = format_provenance(provenance(records, 0))
    event_lines = [line for line in text.splitlines() if "read_outside_roots" in line]
    assert len(event_lines) <= SHOWN, (
        f"`show` printed {len(event_lines):,} event lines ({len(text):,} characters)"
    )


def test_the_report_reads_a_bounded_number_of_event_rows(noisy, rows_read):
    with RunRecords(noisy) as records:
        gather(records)
    assert rows_read[0] <= 2 * SHOWN, f"the report built {rows_read[0]:,} event rows"
