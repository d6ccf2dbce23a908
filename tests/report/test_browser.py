"""report.html in a real headless chromium (Debian's `chromium` package): it renders its
plots and tables, asks for nothing over the network and logs nothing to the console."""

from __future__ import annotations

import json

import pytest

from selftaught.report.build import write_report
from tests.report.chromium import Chromium, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

PAGE_FACTS = """JSON.stringify({
  plots: [...document.querySelectorAll('figure.plot svg')].map(s => {
    const b = s.getBoundingClientRect(); return [b.width, b.height, s.querySelectorAll('path').length];
  }),
  tables: [...document.querySelectorAll('table')].map(t => t.className),
  rows: document.querySelectorAll('table.iterations tbody tr').length,
  diffLines: document.querySelectorAll('.diff .highlight .gi').length,
  resources: performance.getEntriesByType('resource').map(r => r.name),
  title: document.title,
})"""


def test_report_renders_in_headless_chromium_without_console_errors(run_copy, tmp_path):
    (run_copy / "transfer.json").write_text(
        json.dumps([{"task": "sat", "seed solution": 0.0, "improved": 0.751}])
    )
    html_path = write_report([run_copy]).html
    with Chromium(CHROMIUM) as browser:
        load = browser.open(html_path.resolve().as_uri())
        facts = json.loads(browser.evaluate(PAGE_FACTS))
        png = browser.screenshot()
    assert load.console == [], load.console
    assert len(facts["plots"]) == 3
    for width, height, paths in facts["plots"]:
        assert width > 200 and height > 100 and paths > 5
    for cls in ["iterations", "costs", "lineage", "strategies", "flags", "audit", "transfer"]:
        assert cls in facts["tables"], facts["tables"]
    assert facts["rows"] == 3 and facts["diffLines"] > 0
    assert facts["resources"] == []  # nothing fetched, not even from disk
    assert facts["title"].startswith("STOP report")
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    (tmp_path / "report.png").write_bytes(png)


def test_the_console_check_would_catch_an_error(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><body><img src="http://127.0.0.1:9/x.png">'
        "<script>console.error('boom'); missing();</script></body></html>"
    )
    with Chromium(CHROMIUM) as browser:
        load = browser.open(page.as_uri())
    kinds = {m["type"] for m in load.console}
    assert "error" in kinds and "exception" in kinds, load.console
