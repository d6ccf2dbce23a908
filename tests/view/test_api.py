"""The view's JSON API and its guard, through Starlette's test client (no browser)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from selftaught.view import make_app
from selftaught.view.app import CSP
from tests.view.conftest import HOSTILE, HOSTILE_IMPROVER, file_state, run_names, view_server


def client(*paths: Path, **kw) -> TestClient:
    return TestClient(make_app(list(paths), **kw))


def test_runs_list_shows_each_run_with_status_model_iterations_and_scores(runs_folder):
    body = client(runs_folder).get("/api/runs").json()
    assert body["problems"] == []
    assert [r["name"] for r in body["runs"]] == run_names(runs_folder)
    for r in body["runs"]:
        assert r["status"] == "finished" and r["live"] is False
        assert r["model"] == "scripted:replies.json" and r["tasks"] == ["lpn"]
        assert r["iterations"] == 2 and r["calls"] > 0 and r["tokens"] > 0
        assert r["best_heldout"] > 0.9 and r["best_iteration"] == 1
        assert r["key"] == f"0/{r['name']}"


def test_run_api_holds_iterations_candidates_lineage_usage_and_stage(runs_folder):
    name = run_names(runs_folder)[0]
    run = client(runs_folder).get(f"/api/runs/0/{name}").json()
    assert [r["iteration"] for r in run["iteration_rows"]] == [0, 1]
    second = run["iteration_rows"][1]
    assert second["adopted"] and second["paired_n"] == 2 and second["paired_lower"] > 0
    assert second["heldout"] > run["iteration_rows"][0]["heldout"]
    assert run["candidates"] and any(c["adopted"] for c in run["candidates"])
    assert [s["iteration"] for s in run["lineage"]] == [0, 1] and run["lineage"][1]["adopted"]
    u = run["usage"]
    assert u["calls"] > 0 and 0 < u["usable"] < u["samples"]
    assert u["unusable_reasons"]  # the "no code today" replies
    assert run["now"]["stage"] == "finished" and run["now"]["iteration"] == 1
    assert run["config"]["iterations"] == 1
    assert 0 < len(run["recent_evaluations"]) <= run["evaluation_count"]


def test_drill_down_into_a_model_call_and_an_evaluation(runs_folder):
    name = run_names(runs_folder)[0]
    c = client(runs_folder)
    calls = c.get(f"/api/runs/0/{name}/calls").json()
    assert calls["total"] == len(calls["calls"]) > 0
    step_call = next(x for x in calls["calls"] if "/step" in (x["scope"] or ""))
    call = c.get(f"/api/runs/0/{name}/calls/{step_call['id']}").json()
    assert "meta_utility" in json.dumps(call["messages"])
    assert any(HOSTILE in r for r in call["responses"])  # the sample, as it was written
    assert call["answers"] is not None and call["samples"] == len(call["responses"])
    evals = c.get(f"/api/runs/0/{name}/evaluations").json()["evaluations"]
    solution = next(e for e in evals if e["kind"] == "solution")
    e = c.get(f"/api/runs/0/{name}/evaluations/{solution['id']}").json()
    assert e["program"] and e["split"] and e["instances"] >= e["solved"]
    assert e["outcome"] and "score" in e
    assert c.get(f"/api/runs/0/{name}/calls/999999").status_code == 404
    assert "no model call 999999" in c.get(f"/api/runs/0/{name}/calls/999999").json()["error"]


def test_lineage_step_diffs_the_improver_against_its_parent(runs_folder):
    name = run_names(runs_folder)[0]
    step = client(runs_folder).get(f"/api/runs/0/{name}/iterations/1").json()
    assert step["code"].strip() == HOSTILE_IMPROVER.strip()
    assert step["parent_code"] and step["parent_code"] != step["code"]
    assert f"+    # {HOSTILE}" in step["diff"] and step["diff"].startswith("--- parent ")
    assert "exhaustive" in step["code"] and step["adopted"]
    first = client(runs_folder).get(f"/api/runs/0/{name}/iterations/0").json()
    assert first["diff"] == "" and first["parent_hash"] is None


def test_compare_gives_each_curve_the_mean_and_the_settings_that_differ(runs_folder):
    a, b = run_names(runs_folder)
    body = client(runs_folder).get(f"/api/compare?run=0/{a}&run=0/{b}").json()
    assert [r["name"] for r in body["runs"]] == [a, b]
    assert [p["iteration"] for p in body["across"]] == [0, 1]
    held = [r["curve"][1]["heldout"] for r in body["runs"]]
    assert body["across"][1]["heldout"] == pytest.approx(sum(held) / 2)
    assert body["across"][1]["heldout_n"] == 2
    settings = {d["setting"]: d["values"] for d in body["config_differences"]}
    assert settings["seed"] == [0, 1] and settings["name"] == ["hostile0", "hostile1"]
    assert client(runs_folder).get("/api/compare?run=0/nope").status_code == 404


def test_the_live_api_answers_not_modified_until_the_records_change(runs_folder, tmp_path):
    run = tmp_path / "runs" / "copy"
    shutil.copytree(runs_folder / run_names(runs_folder)[0], run)
    c = client(tmp_path / "runs")
    first = c.get("/api/runs/0/copy")
    tag = first.headers["etag"]
    assert c.get("/api/runs/0/copy", headers={"If-None-Match": tag}).status_code == 304
    db = sqlite3.connect(run / "records.sqlite")  # the test writes, as a run would
    db.execute(
        "INSERT INTO events (iteration, scope, kind, detail) VALUES (1, 'it1/eval', 'x', 'y')"
    )
    db.commit()
    db.close()
    again = c.get("/api/runs/0/copy", headers={"If-None-Match": tag})
    assert (
        again.status_code == 200 and again.json()["event_count"] == first.json()["event_count"] + 1
    )


def test_no_endpoint_changes_a_file_of_the_runs(runs_folder):
    before = file_state(runs_folder)
    c = client(runs_folder)
    a, b = run_names(runs_folder)
    paths = ["/", "/api/runs", f"/run/0/{a}", f"/api/compare?run=0/{a}&run=0/{b}"]
    for name in (a, b):
        base = f"/api/runs/0/{name}"
        paths += [base, f"{base}/calls", f"{base}/evaluations", f"{base}/iterations/1"]
        paths += [f"{base}/calls/1", f"{base}/evaluations/1"]
        run = c.get(base).json()
        paths.append(f"{base}/programs/{run['lineage'][1]['improver_hash']}")
    for path in paths:
        assert c.get(path).status_code == 200, path
    after = file_state(runs_folder)
    assert after.keys() == before.keys()  # no -wal, -shm or journal appeared
    assert after == before


OUTSIDE = [
    "/api/runs/0/..",
    "/api/runs/0/../calls",
    "/api/runs/0/%2e%2e",
    "/api/runs/0/..%2F..%2Fetc",
    "/api/runs/0/%2Fetc%2Fpasswd",
    "/api/runs/0//etc/passwd",
    "/api/runs/0/outside",
    "/api/runs/1/anything",
    "/api/runs/0/outside/calls/1",
    "/api/runs/0/outside/programs/..%2F..%2Fetc",
    "/run/0/outside",
    "/run/0/..",
    "/run/0/%2e%2e%2f%2e%2e",
    "/static/..%2Fapp.py",
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/api/compare?run=0/outside",
    "/api/compare?run=0/../0",
    "/api/compare?run=0/%2Fetc",
]


def test_paths_outside_the_served_folders_are_refused(runs_folder, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    outside = tmp_path / "elsewhere"
    shutil.copytree(runs_folder / run_names(runs_folder)[0], outside)
    (served / "outside").symlink_to(outside)  # a run, but not in the folder
    with view_server(served) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        for path in OUTSIDE:
            # http.client sends the path as written: no client-side dot-segment removal
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read().decode(errors="replace")
            conn.close()
            assert res.status in (403, 404), (path, res.status, body[:200])
            assert "root:" not in body and "improve_algorithm" not in body, path


def test_a_symlinked_run_inside_its_folder_is_served(runs_folder, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copytree(runs_folder / run_names(runs_folder)[0], served / "real")
    (served / "alias").symlink_to(served / "real")
    assert client(served).get("/api/runs/0/alias").status_code == 200


def test_a_folder_without_runs_a_newer_schema_and_a_corrupt_database_are_messages(
    runs_folder, tmp_path
):
    empty = tmp_path / "empty"
    empty.mkdir()
    folder = tmp_path / "runs"
    newer = folder / "newer"
    shutil.copytree(runs_folder / run_names(runs_folder)[0], newer)
    db = sqlite3.connect(newer / "records.sqlite")
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    (folder / "corrupt").mkdir()
    (folder / "corrupt" / "records.sqlite").write_bytes(b"not a database at all " * 100)
    (folder / "notes").mkdir()
    c = client(empty, folder)
    body = c.get("/api/runs").json()
    messages = {Path(p["path"]).name: p["message"] for p in body["problems"]}
    assert "not a run directory and holds no run directories" in messages["empty"]
    assert "schema version 99 comes from a newer selftaught" in messages["newer"]
    assert "not a run directory" in messages["corrupt"]
    assert body["runs"] == []
    for name in ("newer", "corrupt"):
        res = c.get(f"/api/runs/1/{name}")
        assert res.status_code == 409 and "Traceback" not in res.text
        assert res.json()["error"]
        assert c.get(f"/run/1/{name}").status_code == 200  # the page shows the message


def test_the_view_refuses_every_method_that_could_write(runs_folder):
    c = client(runs_folder)
    name = run_names(runs_folder)[0]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        res = c.request(method, f"/api/runs/0/{name}")
        assert res.status_code == 405


def test_a_loopback_view_answers_only_loopback_host_names(runs_folder):
    c = client(runs_folder, hosts={"127.0.0.1:8000", "localhost:8000"})
    assert c.get("/api/runs", headers={"host": "127.0.0.1:8000"}).status_code == 200
    assert c.get("/api/runs", headers={"host": "evil.example:8000"}).status_code == 403


def test_with_a_token_every_request_needs_it(runs_folder):
    c = client(runs_folder, token="s3cret")
    assert c.get("/api/runs").status_code == 401
    assert c.get("/").status_code == 401
    assert c.get("/static/view.js").status_code == 401
    assert c.get("/api/runs", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/runs", headers={"authorization": "Bearer s3cret"}).status_code == 200
    first = c.get("/?token=s3cret", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert "httponly" in first.headers["set-cookie"].lower()
    assert c.get("/api/runs").status_code == 200  # the cookie it set


def test_every_answer_carries_the_content_security_policy(runs_folder):
    c = client(runs_folder)
    for path in ("/", "/api/runs", "/static/view.js", "/api/nope", "/run/0/nope"):
        res = c.get(path)
        assert res.headers["content-security-policy"] == CSP, path
        assert res.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in CSP and "unsafe" not in CSP


def test_the_pages_hold_no_inline_script_and_insert_no_markup():
    static = Path(__file__).parents[2] / "src" / "selftaught" / "view" / "static"
    for page in static.glob("*.html"):
        text = page.read_text()
        assert "<script>" not in text and not re.search(r"\son\w+\s*=", text)
        for tag in text.split("<script")[1:]:
            assert tag.lstrip().startswith("src=")
    js = (static / "view.js").read_text()
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert sink not in js, sink


def test_a_finished_run_closing_with_its_lock_held_reads_finished(tmp_path):
    import fcntl
    import os

    from selftaught.view.folders import live_status

    (tmp_path / "run.lock").write_text(f"{os.getpid()}\n")
    fd = os.open(tmp_path / "run.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert live_status(tmp_path, "finished", os.getpid()) == "finished"
        assert live_status(tmp_path, "running", os.getpid()) == "running"
        assert live_status(tmp_path, "stopped", os.getpid()) == "locked"  # a resume getting ready
    finally:
        os.close(fd)
    (tmp_path / "run.lock").write_text("999999999\n")
    assert live_status(tmp_path, "running", 999999999) == "stopped"  # killed, lock gone


def test_the_live_answer_reads_a_bounded_number_of_event_rows(tmp_path, monkeypatch):
    """The run page polls `/api/runs/...` every second while the run writes, and shows the
    last 200 events and their count; a poll must not read every event of the run (one
    paper-preset iteration of a hostile seed improver recorded 651,310, and each poll of
    that run then took 5 to 7 s; six pollers at once took the view to 1.5 GB and slowed a
    run beside it by 41%: tests/report/test_events_bound.py says how they were made)."""
    from tests.report.test_events_bound import count_event_rows, noisy_run

    noisy_run(tmp_path / "runs" / "noisy")
    count = count_event_rows(monkeypatch)
    run = client(tmp_path / "runs").get("/api/runs/0/noisy").json()
    assert run["event_count"] == 20_000 and len(run["events"]) == 200
    assert count[0] <= 1_000, f"one poll built {count[0]:,} event rows"


def test_an_evaluations_page_counts_all_its_events_and_lists_a_bounded_number(tmp_path):
    from selftaught.store.db import Store
    from selftaught.store.rows import EventRow
    from selftaught.view.data import LIVE_EVENTS
    from tests.report.test_events_bound import noisy_run

    noisy_run(tmp_path / "runs" / "noisy")  # 200 events per program hash
    c = client(tmp_path / "runs")
    store = Store(tmp_path / "runs" / "noisy" / "records.sqlite")
    store.add_evaluation(
        {"iteration": 0, "kind": "solution", "program_hash": f"{0:016x}", "score": 0.5}
    )
    for _ in range(LIVE_EVENTS):  # as many again for that program: 400 in all
        store.add_event(
            EventRow(iteration=0, scope="it0/x", program_hash=f"{0:016x}", kind="k", detail="d")
        )
    store.close()
    (evaluation,) = c.get("/api/runs/0/noisy/evaluations").json()["evaluations"]
    detail = c.get(f"/api/runs/0/noisy/evaluations/{evaluation['id']}").json()
    assert detail["event_count"] == 2 * LIVE_EVENTS and len(detail["events"]) == LIVE_EVENTS
