"""`selftaught analyze --confirm`: static strategy labels confirmed by asking a model."""

from __future__ import annotations

import json

import pytest

from selftaught.assembly import confirm_backend
from selftaught.errors import UserError
from selftaught.lm import ScriptedBackend
from selftaught.program.analysis import STRATEGY_RULES
from selftaught.report.confirm import (
    DESCRIPTIONS,
    confirm_labels,
    output_path,
    parse_answer,
    with_sources,
)
from selftaught.report.content import analyze_run
from selftaught.report.records import RunRecords
from tests.report.test_report import selftaught, snapshot


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("yes", "yes"),
        ("Yes.", "yes"),
        ("  YES, it keeps a cache", "yes"),
        ("**Yes**", "yes"),
        ('"yes"', "yes"),
        ("Answer: yes", "yes"),
        ("No", "no"),
        ("no, it does not", "no"),
        ("\n- No.", "no"),
        ("ANSWER - NO", "no"),
        ("Yesterday I saw a cache", "unclear"),
        ("Nothing here", "unclear"),
        ("The program does use caching. Yes.", "unclear"),
        ("maybe", "unclear"),
        ("", "unclear"),
    ],
)
def test_answers_are_yes_or_no_only_at_the_start(reply, expected):
    assert parse_answer(reply) == expected


def test_every_strategy_label_has_a_question():
    assert set(DESCRIPTIONS) == set(STRATEGY_RULES)


def _says_caching_only(request, index):
    return "Yes, it does." if "caching of utility calls" in request.user else "No."


def test_each_static_label_gets_one_question_with_the_code(recorded_run):
    before = snapshot(recorded_run)
    backend = ScriptedBackend(_says_caching_only)
    with RunRecords(recorded_run) as records:
        analyses = analyze_run(records)
        improvers = with_sources(records, analyses)
        found = confirm_labels(improvers, backend, run=str(recorded_run), concurrency=2)
    assert snapshot(recorded_run) == before
    labels = sum(len(a.analysis.strategies) for a, _ in improvers)
    assert labels > 0 and len(backend.requests) == labels
    assert all("```python" in r.user and r.temperature == 0.0 for r in backend.requests)
    counts = found.counts()
    assert counts["caching"]["static"] == counts["caching"]["yes"] >= 1
    for label, c in counts.items():
        if label != "caching":
            assert c["yes"] == 0 and c["no"] == c["static"]
    by_hash = {i.program_hash: i for i in found.improvers}
    for a, src in improvers:
        answered = by_hash[a.program_hash].answers
        assert [x.label for x in answered] == a.analysis.strategies
        if "caching" in a.analysis.strategies:
            assert "cache" in src
    as_json = found.to_json()
    assert as_json["counts"]["caching"]["yes"] == counts["caching"]["yes"]
    assert as_json["usage"]["calls"] == labels


def test_a_failed_question_is_unclear_and_recorded(recorded_run):
    def broken(request, index):
        raise RuntimeError("server down")

    with RunRecords(recorded_run) as records:
        improvers = with_sources(records, analyze_run(records))
    found = confirm_labels(improvers, ScriptedBackend(broken), run="r")
    answers = [x for i in found.improvers for x in i.answers]
    assert answers and all(x.answer == "unclear" and "server down" in x.error for x in answers)


def test_the_answers_file_never_goes_into_the_run_directory(recorded_run, tmp_path):
    with pytest.raises(UserError, match="inside the run directory"):
        output_path(recorded_run, recorded_run / "improvers" / "confirm.json")
    assert output_path(recorded_run, tmp_path / "c.json") == (tmp_path / "c.json").resolve()


def test_confirm_command_asks_the_runs_own_model_by_default(recorded_run, tmp_path):
    # The recorded run's model is `scripted:replies.json`, relative to the current folder.
    rules = [{"when": "caching of utility calls", "reply": "yes"}, {"when": "", "reply": "No"}]
    (tmp_path / "replies.json").write_text(json.dumps(rules))
    before = snapshot(recorded_run)
    result = selftaught("analyze", str(recorded_run), "--confirm", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["confirm"]["model"] == "scripted:replies.json"
    (caching,) = [i for i in found["improvers"] if "caching" in i["strategies"]]
    assert caching["confirmed"]["caching"] == "yes"
    assert found["confirm"]["counts"]["caching"]["yes"] >= 1
    written = json.loads((tmp_path / f"confirm_{recorded_run.name}.json").read_text())
    assert written["counts"] == found["confirm"]["counts"]
    assert snapshot(recorded_run) == before


def test_confirm_command_with_another_model_shows_confirmed_and_static_counts(
    recorded_run, tmp_path
):
    (tmp_path / "maybe.json").write_text(json.dumps([{"when": "", "reply": "maybe"}]))
    out = tmp_path / "answers" / "c.json"
    result = selftaught(
        "analyze",
        str(recorded_run),
        "--confirm",
        "--model",
        "scripted:maybe.json",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "confirmed" in result.stdout and "unclear" in result.stdout
    written = json.loads(out.read_text())
    assert written["model"] == "scripted:maybe.json"
    caching = written["counts"]["caching"]
    assert caching["static"] == caching["unclear"] >= 1 and caching["yes"] == 0


def test_confirm_command_refuses_to_write_into_the_run(recorded_run, tmp_path):
    before = snapshot(recorded_run)
    result = selftaught(
        "analyze",
        str(recorded_run),
        "--confirm",
        "--model",
        "echo",
        "-o",
        str(recorded_run / "confirm.json"),
        cwd=tmp_path,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "inside the run directory" in result.stderr
    assert snapshot(recorded_run) == before


def test_a_replayed_model_cannot_confirm(recorded_run):
    with pytest.raises(UserError, match="can answer questions"):
        confirm_backend({"model": f"replay:{recorded_run}"}, None)
    with pytest.raises(UserError, match="names no model"):
        confirm_backend({}, None)
