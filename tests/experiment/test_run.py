"""An experiment of `echo` and a scripted model whose replies are better programs, three
seeds each: one ordinary run directory per cell, a report that shows the improvement with
its intervals, and `show`."""

import csv
import json
from pathlib import Path

import pytest

import selftaught
from tests.experiment.helpers import selftaught as cli
from tests.experiment.helpers import write_plan


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("experiment")
    plan = write_plan(folder, extra='parts = ["stop", "strategies"]')
    exp = selftaught.experiment(plan, output=folder / "exp", exact=True)
    assert exp.status.state == "finished", exp.status
    return exp.path


def test_each_cell_is_an_ordinary_run_directory(finished):
    status = json.loads((finished / "experiment.json").read_text())
    cells = status["cells"]
    assert sorted(cells) == [f"stop/{m}/s{s}" for m in ("echo", "good") for s in (0, 1, 2)]
    for cell in cells.values():
        assert cell["state"] == "finished" and cell["iterations"] == 2
        run_dir = finished / cell["run_dir"]
        assert run_dir.parent == finished / "runs"
        recorded = selftaught.open_run(run_dir)
        assert recorded.status == "finished" and len(recorded.rows) == 2
        assert recorded.config["seed"] == cell["seed"]
        assert recorded.usage.calls == cell["calls"] > 0
    assert (finished / "plan.toml").is_file()


def test_each_run_directory_opens_with_show_and_report(finished, tmp_path):
    run_dir = next((finished / "runs").glob("*-good-s1"))
    shown = cli("show", str(run_dir), cwd=tmp_path)
    assert shown.returncode == 0 and "iteration 1" in shown.stdout, shown.stderr
    report = cli("report", str(run_dir), "-o", str(tmp_path / "r"), cwd=tmp_path)
    assert report.returncode == 0 and (tmp_path / "r" / "report.html").is_file(), report.stderr
    listed = cli("runs", str(finished / "runs"), cwd=tmp_path)
    assert listed.returncode == 0 and listed.stdout.count("finished") == 6


def test_the_report_shows_the_better_model_improving_with_an_interval(finished):
    summary = selftaught.experiment.summary(finished)
    echo, good = summary.models
    assert [s.seed for s in good.seeds] == [0, 1, 2]
    # echo gives back what it was given: nothing changes, nothing is adopted
    assert echo.gain.mean == 0.0 and echo.adopted == 0 and echo.steps == 3
    # the scripted model's improver asks for exhaustive search: every seed improves
    assert good.adopted == 3 and good.final.mean == 1.0
    assert good.gain.n == 3 and good.gain.low > 0.3 and good.gain.high < 0.7
    assert good.start.se > 0  # seeds differ (each has its own instances)
    assert good.tokens > 0 and echo.tokens == 0
    (comparison,) = summary.comparisons
    assert comparison["a"] == "echo" and comparison["b"] == "good"
    assert comparison["final"]["high"] < 0  # good ends above echo on every seed
    assert good.strategies[1] == {"(none)": 3}  # one improver written per seed, no label


def test_the_report_files_hold_every_figure_and_table(finished):
    report = finished / "report"
    html = (report / "report.html").read_text()
    assert (
        "Content-Security-Policy" in html
        and "<svg" in html
        and "http://" not in html.replace("http://www.w3.org", "")
    )
    for section in ("Headline", "Meta-utility over iterations", "Adoption", "Cost and tokens"):
        assert section in html
    md = (report / "report.md").read_text()
    assert "![" in md and "figures/meta_utility.svg" in md
    with (report / "data" / "meta_utility_seeds.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12  # 2 models x 3 seeds x 2 iterations
    series = json.loads((report / "data" / "meta_utility.json").read_text())
    good_held = [p for p in series if p["model"] == "good" and p["split"] == "heldout"]
    assert good_held[1]["mean"] == 1.0 and good_held[0]["seeds"] == 3
    tex = (report / "tables" / "headline.tex").read_text()
    assert r"\begin{tabular}" in tex and r"$\pm$" in tex
    for name in ("headline", "meta_utility", "adoption", "cost", "comparisons", "strategies"):
        assert (report / "tables" / f"{name}.md").is_file(), name
        assert (report / "tables" / f"{name}.tex").is_file(), name
    for name in ("meta_utility", "adoption", "cost", "strategies"):
        assert (report / "figures" / f"{name}.svg").read_text().startswith("<svg"), name
        assert (report / "data" / f"{name}.csv").is_file(), name


def test_show_prints_status_and_headline_and_json(finished, tmp_path):
    shown = cli("experiment", "show", str(finished), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "experiment tiny: finished" in shown.stdout and "held-out final" in shown.stdout
    assert "1.000 ± 0.000" in shown.stdout
    as_json = cli("experiment", "show", str(finished), "--json", cwd=tmp_path)
    data = json.loads(as_json.stdout)
    assert data["state"] == "finished" and len(data["cells"]) == 6
    assert [r["model"] for r in data["headline"]] == ["echo", "good"]


def test_show_and_resume_refuse_a_folder_that_is_not_an_experiment(tmp_path):
    for command in ("show", "resume"):
        result = cli("experiment", command, str(tmp_path), cwd=tmp_path)
        assert result.returncode == 2 and "not an experiment directory" in result.stderr
        assert "Traceback" not in result.stderr


def test_resume_of_a_finished_experiment_runs_nothing(finished, tmp_path):
    before = json.loads((finished / "experiment.json").read_text())["cells"]
    exp = selftaught.experiment.resume(finished)
    assert exp.status.state == "finished"
    after = json.loads((finished / "experiment.json").read_text())["cells"]
    assert after == before
