"""What `selftaught view` costs a run, and how soon its page shows a new record.

    python bench/view_overhead.py                    # 3 runs without, 3 with the view polling
    python bench/view_overhead.py --repeats 5 --iterations 3
    python bench/view_overhead.py --browser          # the poller is a real chromium page
    python bench/view_overhead.py --latency 20       # only the record-to-page latency

Overhead: the same scripted run (`selftaught run --model scripted:...`, the view's own
test model, with a `--delay` per reply so a run lasts like one against a hosted model)
is run alternately without and with a view open on its folder and a client polling the
run's live page as the browser does (the live API every second, with the ETag of the
last answer; `--browser` polls with the page itself in Debian's chromium). It prints each
run's wall time, the medians side by side and their ratio.

Latency: a finished run is copied; the view serves the copy to chromium; this script
writes an event into the copy's records (as a run does) and times how long the page
takes to show it (the "Sandbox events (N)" heading). Needs chromium and playwright.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """BETTER-IMPROVER: asks for a brute-force search over parity subsets."""
    message = "BETTER-IMPROVER please solve by exhaustive search:\\n" + initial_solution
    responses = language_model.batch_prompt("expert", [message] * 2)
    candidates = [initial_solution] + [c for c in extract_code(responses) if c]
    return max(candidates, key=utility)
'''
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def prepare(where: Path, iterations: int, delay: float) -> None:
    solver = (HERE.parent / "tests" / "data" / "lpn_bruteforce.py").read_text()
    rules = [
        {"when": "meta_utility", "reply": f"```python\n{IMPROVER}```", "delay": delay},
        {"when": "BETTER-IMPROVER", "reply": f"```python\n{solver}```", "delay": delay},
        {"when": "", "reply": "no code today", "delay": delay},
    ]
    (where / "replies.json").write_text(json.dumps(rules))
    (where / "run.toml").write_text(
        f'name = "bench"\nmodel = "scripted:replies.json"\niterations = {iterations}\nruns = 2\n'
        "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
    )


def start_view(folder: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "view", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("selftaught view: "):
        proc.kill()
        raise SystemExit(f"the view did not start: {line!r}")
    url = line.split(": ", 1)[1].strip()
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "static/view.css", timeout=2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def new_run(folder: Path, known: set[str], done: threading.Event) -> str | None:
    while not done.is_set():
        if folder.is_dir():
            fresh = [p.name for p in folder.iterdir() if p.name not in known]
            if fresh and (folder / fresh[0] / "records.sqlite").exists():
                return fresh[0]
        time.sleep(0.05)
    return None


def api_poller(url: str, folder: Path, known: set[str], done: threading.Event, out: dict) -> None:
    """The run page's requests: the live API once a second, with the last ETag."""
    name = new_run(folder, known, done)
    etag = None
    while name and not done.is_set():
        req = urllib.request.Request(f"{url}api/runs/0/{name}")
        if etag:
            req.add_header("If-None-Match", etag)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                etag = r.headers.get("etag")
                r.read()
                out["full"] = out.get("full", 0) + 1
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                out["unchanged"] = out.get("unchanged", 0) + 1
        time.sleep(1.0)


def browser_poller(
    url: str, folder: Path, known: set[str], done: threading.Event, out: dict
) -> None:
    from playwright.sync_api import sync_playwright

    name = new_run(folder, known, done)
    if not name:
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{url}run/0/{name}")
        while not done.is_set():
            time.sleep(0.2)
        out["page"] = page.text_content("#stage")
        browser.close()


def timed_run(where: Path, *, view: bool, browser: bool) -> tuple[float, dict]:
    folder = where / "runs"
    known = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    folder.mkdir(exist_ok=True)
    out: dict = {}
    done = threading.Event()
    viewer = poller = None
    if view:
        viewer, url = start_view(folder)
        target = browser_poller if browser else api_poller
        poller = threading.Thread(target=target, args=(url, folder, known, done, out))
        poller.start()
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "selftaught", "run", "--config", "run.toml"],
        cwd=where,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - start
    done.set()
    if poller is not None:
        poller.join()
    if viewer is not None:
        stop(viewer)
    if result.returncode != 0:
        raise SystemExit(f"the run failed: {result.stderr[-2000:]}")
    return seconds, out


def overhead(args: argparse.Namespace) -> Path:
    where = Path(tempfile.mkdtemp(prefix="view-overhead-"))
    prepare(where, args.iterations, args.delay)
    timed_run(where, view=False, browser=False)  # warm caches (imports, instance data)
    without, with_view = [], []
    for i in range(args.repeats):
        for view in (False, True) if i % 2 == 0 else (True, False):
            seconds, out = timed_run(where, view=view, browser=args.browser)
            (with_view if view else without).append(seconds)
            polled = f" polls: {out}" if view else ""
            print(f"run {i + 1} {'with' if view else 'without'} the view: {seconds:.2f} s{polled}")
    a, b = statistics.median(without), statistics.median(with_view)
    print(f"\nmedian wall time without the view: {a:.2f} s  (runs: {_list(without)})")
    print(f"median wall time with the view:    {b:.2f} s  (runs: {_list(with_view)})")
    print(f"ratio with/without: {b / a:.4f} ({100 * (b / a - 1):+.2f}%)")
    return where / "runs"


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def latency(folder: Path, trials: int) -> None:
    from playwright.sync_api import sync_playwright

    runs = sorted(p for p in folder.iterdir() if (p / "records.sqlite").exists())
    copy = Path(tempfile.mkdtemp(prefix="view-latency-")) / "runs"
    shutil.copytree(runs[-1], copy / "run")
    viewer, url = start_view(copy)
    seen = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{url}run/0/run")
            page.wait_for_selector("h2")
            db = sqlite3.connect(copy / "run" / "records.sqlite")
            for _ in range(trials):
                n = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
                time.sleep(random.uniform(0.2, 1.2))  # at any phase of the page's polling
                start = time.monotonic()
                db.execute(
                    "INSERT INTO events (iteration, scope, kind, detail, created)"
                    " VALUES (0, 'it0/eval', 'bench', 'latency', ?)",
                    (time.time(),),
                )
                db.commit()
                page.wait_for_function(
                    "n => [...document.querySelectorAll('h2')].some("
                    "h => h.textContent === `Sandbox events (${n})`)",
                    arg=n + 1,
                    timeout=10000,
                    polling="raf",
                )
                seen.append(time.monotonic() - start)
            db.close()
            browser.close()
    finally:
        stop(viewer)
    median = statistics.median(seen)
    print(
        f"\nrecord written -> page shows it, {trials} trials: median {median:.3f} s,"
        f" max {max(seen):.3f} s, min {min(seen):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per model reply")
    parser.add_argument("--browser", action="store_true", help="poll with a chromium page")
    parser.add_argument("--latency", type=int, default=10, help="latency trials (0: none)")
    parser.add_argument("--latency-only", action="store_true")
    args = parser.parse_args()
    if args.latency_only:
        where = Path(tempfile.mkdtemp(prefix="view-overhead-"))
        prepare(where, 1, 0.0)
        timed_run(where, view=False, browser=False)
        folder = where / "runs"
    else:
        folder = overhead(args)
    if args.latency:
        latency(folder, args.latency)


if __name__ == "__main__":
    main()
