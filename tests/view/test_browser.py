"""The view in a real browser (Debian's chromium, driven by Playwright): live updates
without a reload, the lineage's diffs, drill-downs, compare, and hostile record text
shown as text. Screenshots go to each test's tmp_path."""

from __future__ import annotations

import time

from tests.view.browser import browser_page, wait_until
from tests.view.conftest import HOSTILE, run_names, start_run, view_server


def _shot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)


def test_a_running_run_updates_its_page_without_a_reload(tmp_path):
    proc = start_run(tmp_path, "live", iterations=2, delay=0.6)
    runs = tmp_path / "runs"
    try:
        for _ in range(600):
            if runs.is_dir() and run_names(runs):
                break
            time.sleep(0.1)
        (name,) = run_names(runs)
        with view_server(runs) as (url, _), browser_page() as b:
            page = b.page
            page.goto(f"{url}run/0/{name}")
            page.wait_for_selector("#iteration")
            page.evaluate("window.__sameDocument = true")
            seen: list[tuple[str, str, str]] = []
            shots = 0
            while True:
                done = proc.poll() is not None
                state = (
                    page.text_content("#iteration") or "",
                    page.text_content("#candidate-count") or "",
                    page.get_attribute(".badge", "data-status") or "",
                )
                if not seen or seen[-1] != state:
                    seen.append(state)
                    if shots < 3 and state[0] not in ("", "–"):
                        _shot(page, tmp_path / f"live-{shots}.png")
                        shots += 1
                if done:
                    break
                time.sleep(0.2)
            wait_until(page, "document.querySelector('.badge').dataset.status === 'finished'")
            _shot(page, tmp_path / "live-finished.png")
            assert page.evaluate("window.__sameDocument") is True  # never reloaded
            assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            iterations = {s[0] for s in seen if s[0] not in ("", "–")}
            candidates = [int(s[1]) for s in seen if s[1].isdigit()]
            assert len(iterations) >= 2, seen
            assert len(set(candidates)) >= 2 and candidates == sorted(candidates), seen
            assert "running" in {s[2] for s in seen}, seen
            assert b.errors == [] and b.dialogs == [], (b.errors, b.dialogs)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == 0


def test_hostile_program_text_is_shown_as_text_and_runs_nothing(runs_folder, tmp_path):
    name = run_names(runs_folder)[0]
    with view_server(runs_folder) as (url, _), browser_page() as b:
        page = b.page
        page.add_init_script("window.__ran = []; window.alert = (m) => window.__ran.push(m);")
        page.goto(f"{url}run/0/{name}/iteration/1")
        page.wait_for_selector("pre.diff span.add")
        added = page.eval_on_selector_all("pre.diff span.add", "s => s.map(x => x.textContent)")
        assert f"+    # {HOSTILE}" in added
        code = page.text_content("pre.program") or ""
        assert HOSTILE in code
        assert (
            page.eval_on_selector_all("main script, main img, main textarea", "s => s.length") == 0
        )
        _shot(page, tmp_path / "lineage-diff.png")
        # the model's sample holding it, in the call drill-down
        page.goto(f"{url}run/0/{name}/calls")
        page.wait_for_selector("table.calls a")
        for link in page.eval_on_selector_all("table.calls a", "s => s.map(a => a.href)"):
            page.goto(link)
            page.wait_for_selector("h1")
            if page.locator("pre.response", has_text=HOSTILE).count():
                break
        else:
            raise AssertionError("no call shows the hostile sample")
        _shot(page, tmp_path / "call.png")
        assert (
            page.eval_on_selector_all("main script, main img, main textarea", "s => s.length") == 0
        )
        assert page.evaluate("window.__ran") == []
    assert b.dialogs == [] and b.errors == [], (b.dialogs, b.errors)
    assert [m for m in b.console if m.startswith("error")] == [], b.console


def test_runs_list_filters_sorts_and_leads_to_runs_evaluations_and_compare(runs_folder, tmp_path):
    a, b_name = run_names(runs_folder)
    with view_server(runs_folder) as (url, _), browser_page() as b:
        page = b.page
        page.goto(url)
        page.wait_for_selector("table.runs tbody tr")
        assert page.locator("table.runs tbody tr").count() == 2
        _shot(page, tmp_path / "runs.png")
        page.fill("#filter", "hostile1")
        wait_until(page, "document.querySelectorAll('table.runs tbody tr').length === 1")
        page.fill("#filter", "")
        wait_until(page, "document.querySelectorAll('table.runs tbody tr').length === 2")
        page.check(f"input[data-key='0/{a}']")
        page.check(f"input[data-key='0/{b_name}']")
        page.click("#compare-link")
        page.wait_for_selector("table.compare")
        assert page.locator("table.compare tbody tr").count() == 2
        assert page.locator("table.config-diff", has_text="seed").count() == 1
        assert page.locator("svg.chart polyline").count() >= 4  # two runs faint, two means
        _shot(page, tmp_path / "compare.png")
        page.goto(f"{url}run/0/{a}")
        page.wait_for_selector("table.evaluations a")
        _shot(page, tmp_path / "run.png")
        page.click("table.evaluations a")
        page.wait_for_selector("pre.program")
        assert "Evaluation #" in (page.text_content("h1") or "")
        assert page.locator("dl.fields", has_text="solved / failed / timed out").count() == 1
    assert b.errors == [] and b.dialogs == []
    assert [m for m in b.console if m.startswith("error")] == [], b.console


def test_a_path_outside_the_folders_shows_not_found(runs_folder, tmp_path):
    with view_server(runs_folder) as (url, _), browser_page() as b:
        res = b.page.goto(f"{url}run/0/..%2F..%2Fetc")
        assert res is not None and res.status == 404
        res = b.page.goto(f"{url}run/0/nope")
        assert res is not None and res.status == 404
        assert "No such run" in (b.page.text_content("main") or "")
