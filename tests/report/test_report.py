"""The report, provenance, export and runs listing, on a recorded scripted run."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from selftaught.errors import UserError
from selftaught.report.build import report_after_run, write_report
from selftaught.report.format import paired
from selftaught.report.provenance import list_runs, provenance
from selftaught.report.records import RunRecords
from selftaught.store.db import program_hash
from tests.report.conftest import CACHING_IMPROVER, FIRST_IMPROVER


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    return {
        str(p.relative_to(folder)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def selftaught(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_reading_a_run_never_changes_its_directory(recorded_run):
    before = snapshot(recorded_run)
    with RunRecords(recorded_run) as records:
        assert [r["iteration"] for r in records.iterations()] == [0, 1, 2]
        assert records.candidates() and records.costs()
    list_runs(recorded_run.parent)
    assert snapshot(recorded_run) == before


def test_candidates_are_marked_adopted_and_costs_add_up(recorded_run):
    with RunRecords(recorded_run) as records:
        candidates = records.candidates()
        assert {c.iteration for c in candidates} == {1, 2}
        adopted = [c for c in candidates if c.adopted]
        assert {c.iteration for c in adopted} == {1, 2}
        assert records.candidate_source(adopted[0]).strip() == FIRST_IMPROVER.strip()
        costs = records.costs()
        iters = records.iterations()
        assert [c.model_calls for c in costs] == [r["model_calls"] for r in iters]
        assert all(c.tokens > 0 for c in costs)


def test_report_html_and_markdown_hold_every_section(run_copy):
    (run_copy / "transfer.json").write_text(
        json.dumps(
            {
                "runs": 2,
                "model": "scripted",
                "improvers": ["seed", "it2"],
                "rows": [
                    {
                        "task": "maxcut",
                        "seed_solution": 0.0,
                        "improvers": {
                            "seed": {"mean": 0.587, "se": 0.02, "values": [0.5]},
                            "it2": {"mean": 0.742, "se": 0.01, "values": [0.7]},
                        },
                    }
                ],
            }
        )
    )
    files = write_report([run_copy])
    assert files.html == run_copy / "report.html"
    page = files.html.read_text()
    assert page.count("<svg") == 3  # meta-utility, cost, candidates
    for marker in [
        'id="plot-meta-utility"',
        'class="iterations"',
        'class="costs"',
        'class="lineage"',
        'class="strategies"',
        'class="flags"',
        'class="audit"',
        'class="transfer"',
        'class="diff"',
    ]:
        assert marker in page, marker
    assert not re.findall(r'(?:src|href)="(?!#|data:)', page)  # nothing to fetch
    assert "<script" not in page
    assert "0.742±0.010" in page and "maxcut" in page
    assert "subprocess_blocked" in page
    assert "flag: budget_tampering" in page  # the caching improver raises its own budget
    # diffs are highlighted: pygments wraps inserted lines in spans of class gi
    assert '<span class="gi">+    language_model.budget = 100' in page
    md = files.markdown.read_text()
    assert "| iter | validation | held-out | paired Δ | adopted |" in md and "```diff" in md
    with RunRecords(run_copy) as records:
        rows = records.iterations()
    for row in rows[1:]:  # each adoption decision with its paired difference and interval
        assert row["paired_n"] == 2 and row["paired_level"] == 0.9
        shown = paired(row)
        assert shown.startswith(f"{row['paired_diff']:+.3f} ") and shown in page
        assert shown.replace("[", "\\[") in md  # a Markdown cell escapes its brackets
    assert "one-sided 90% interval (n=2 pairs)" in md
    assert "report_plots/meta-utility.svg" in md
    assert (run_copy / "report_plots" / "meta-utility.svg").read_text().startswith("<svg")


def test_report_without_transfer_says_so(run_copy):
    page = write_report([run_copy]).html.read_text()
    assert "No transfer results" in page


def test_several_runs_show_mean_and_standard_error_across_runs(run_copy, recorded_run, tmp_path):
    other = tmp_path / "other"
    import shutil

    shutil.copytree(recorded_run, other)
    db = sqlite3.connect(other / "records.sqlite")
    db.execute("UPDATE iterations SET heldout = heldout - 0.2 WHERE iteration = 0")
    db.commit()
    db.close()
    files = write_report([run_copy, other], tmp_path / "both")
    page = files.html.read_text()
    assert "mean of 2 runs" in page and 'class="across"' in page
    with RunRecords(run_copy) as a:
        h0 = a.iterations()[0]["heldout"]
    mean, se = h0 - 0.1, 0.1  # two values h0 and h0 - 0.2: stdev 0.1414, / sqrt(2) = 0.1
    assert f"{mean:.3f}±{se:.3f}" in page


def test_provenance_of_an_adopted_improver(recorded_run):
    with RunRecords(recorded_run) as records:
        p = provenance(records, 2)
        parent = records.iterations()[1]["improver_hash"]
    assert p["adopted"] and p["parent_hash"] == parent
    assert "+    language_model.budget = 100" in p["diff"]
    assert p["model"] == "scripted:replies.json" and p["settings"]["runs"] == 2
    assert p["cost"]["model_calls"] > 0
    kinds = [e["kind"] for e in p["audit_events"]]
    assert "subprocess_blocked" in kinds and "tamper" in kinds  # the sandbox saw the budget write
    assert all(e["scope"].startswith("it2/eval") for e in p["audit_events"])
    assert "caching" in p["strategies"] and "budget_tampering" in p["flags"]
    assert p["heldout"] is not None and p["heldout_se"] is not None


def test_show_export_and_runs_commands(recorded_run, tmp_path):
    before = snapshot(recorded_run)
    shown = selftaught("show", str(recorded_run), "2", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "iteration 2: improver" in shown.stdout and "diff against its parent" in shown.stdout
    with RunRecords(recorded_run) as records:
        row = records.iterations()[2]
    # both improvers return the same solution in both runs: the pairs do not differ
    assert row["paired_lower"] is None and paired(row) == "+0.000 (no spread, n=2)"
    assert f"paired Δ:   {paired(row)} (no interval, 2 paired runs, rule paper)" in shown.stdout
    exported = selftaught("export", str(recorded_run), "2", "-o", "imp.py", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "imp.py").read_text().strip() == CACHING_IMPROVER.strip()
    listed = selftaught("runs", str(recorded_run.parent), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert recorded_run.name in listed.stdout and "finished" in listed.stdout
    assert snapshot(recorded_run) == before


@pytest.mark.parametrize("command", ["report", "show", "export", "analyze", "runs"])
def test_a_folder_that_is_not_a_run_is_one_line_and_untouched(tmp_path, command):
    folder = tmp_path / "notarun"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    before = snapshot(folder)
    args = [command, str(folder)] + (["1"] if command == "export" else [])
    if command == "runs":
        args = [command, str(folder / "missing")]
    result = selftaught(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert snapshot(folder) == before


def test_an_incompatible_schema_version_is_refused_without_writing(run_copy, tmp_path):
    db = sqlite3.connect(run_copy / "records.sqlite")
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    before = snapshot(run_copy)
    with pytest.raises(UserError, match="schema version 99"):
        RunRecords(run_copy)
    result = selftaught("report", str(run_copy), cwd=tmp_path)
    assert result.returncode == 2 and "incompatible run records" in result.stderr
    assert snapshot(run_copy) == before


def test_a_sqlite_file_of_something_else_is_not_a_run(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    db = sqlite3.connect(folder / "records.sqlite")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(UserError, match="lacks the tables"):
        RunRecords(folder)


def test_a_report_failure_is_a_warning_not_an_error(tmp_path):
    class Console:
        lines: list[str] = []

        def print(self, text, **_):
            self.lines.append(text)

    console = Console()
    assert report_after_run(tmp_path / "gone", console) is None
    assert re.match(r"warning: no report written: UserError", console.lines[0])


def test_analyze_command_labels_the_generated_improvers(recorded_run, tmp_path):
    result = selftaught("analyze", str(recorded_run), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    by_iter = {(i["iteration"], i["program_hash"]): i for i in found["improvers"]}
    (caching,) = [i for i in by_iter.values() if "caching" in i["strategies"]]
    assert caching["iteration"] == 2 and "budget_tampering" in caching["flags"]
    assert found["score_out_of_bounds"] == 0
    assert found["solutions"] and all("flags" in s for s in found["solutions"])
    table = selftaught("analyze", str(recorded_run), "--rules", cwd=tmp_path)
    assert table.returncode == 0 and "budget_tampering" in table.stdout
    assert "imports_selftaught" in table.stdout and "solutions" in table.stdout


def test_records_from_before_paired_differences_still_read_and_resume_adds_them(run_copy, tmp_path):
    db = sqlite3.connect(run_copy / "records.sqlite")
    for column in ["paired_diff", "paired_lower", "paired_n", "paired_level"]:
        db.execute(f"ALTER TABLE iterations DROP COLUMN {column}")
    db.commit()
    db.close()
    page = write_report([run_copy]).html.read_text()
    assert "paired Δ" in page
    shown = selftaught("show", str(run_copy), "1", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "paired Δ:   -" in shown.stdout
    from selftaught.store import Store

    store = Store(run_copy / "records.sqlite")  # as resume opens it
    try:
        row = store.iterations()[1]
    finally:
        store.close()
    assert row["paired_diff"] is None and "paired_lower" in row


def test_analyze_flags_a_solution_that_looks_for_answers(run_copy, tmp_path):
    thief = "import selftaught.tasks\n\ndef algorithm(a, b, c):\n    return open('x').read()\n"
    digest = program_hash(thief)
    db = sqlite3.connect(run_copy / "records.sqlite")
    db.execute(
        "INSERT INTO programs (hash, kind, source) VALUES (?, 'solution', ?)", (digest, thief)
    )
    db.execute(
        "INSERT INTO evaluations (iteration, scope, kind, program_hash, task, split, score)"
        " VALUES (1, 'it1/eval/lpn/r0/u1', 'solution', ?, 'lpn', 'validation', 0.5)",
        (digest,),
    )
    db.commit()
    db.close()
    result = selftaught("analyze", str(run_copy), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (found,) = [s for s in json.loads(result.stdout)["solutions"] if s["program_hash"] == digest]
    assert {"imports_selftaught", "file_access"} <= set(found["flags"])
    table = selftaught("analyze", str(run_copy), cwd=tmp_path)
    assert "flagged solutions" in table.stdout and digest in table.stdout


def test_each_plot_is_drawn_once_for_both_the_html_and_the_markdown(run_copy, monkeypatch):
    from selftaught.report import plots

    drawn: list[str] = []
    for name in ("meta_utility_svg", "cost_svg", "candidates_svg"):
        real = getattr(plots, name)
        monkeypatch.setattr(
            plots, name, lambda *a, _real=real, _name=name: drawn.append(_name) or _real(*a)
        )
    files = write_report([run_copy])
    assert sorted(drawn) == ["candidates_svg", "cost_svg", "meta_utility_svg"]
    page, md = files.html.read_text(), files.markdown.read_text()
    svg = (run_copy / "report_plots" / "meta-utility.svg").read_text()
    assert svg in page and "report_plots/meta-utility.svg" in md


def test_a_report_written_while_the_warm_up_runs_waits_for_it_and_is_whole(run_copy):
    from selftaught.report import warm

    warm.start()  # the thread a run starts; writing at once must not draw beside it
    files = write_report([run_copy])
    assert not any(t.is_alive() for t in warm._started)
    assert files.html.read_text().count("<svg") >= 3
