"""examples/experiment.toml: a valid plan, and its every part (STOP runs, transfer, the
sandbox experiment, strategies) runs; here with `echo` alone, the embedded model's half
takes minutes (docs/experiment.md)."""

import json
from pathlib import Path

import selftaught
from selftaught.experiment.plan import check_plan, read_plan

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "experiment.toml"


def test_the_example_plan_passes_every_check():
    plan = read_plan(EXAMPLE)
    assert check_plan(plan) == []
    assert plan.labels() == ["echo", "smollm2"] and plan.seeds == [0, 1, 2]
    assert set(plan.parts) == {"stop", "transfer", "sandbox", "strategies"}


def test_every_part_of_the_example_runs_with_echo(tmp_path):
    plan = read_plan(EXAMPLE)
    plan.models = [m for m in plan.models if m.model == "echo"]
    exp = selftaught.experiment(plan, output=tmp_path / "exp", exact=True)
    cells = exp.status.cells
    assert exp.status.state == "finished", {k: (c.state, c.message) for k, c in cells.items()}
    assert sorted(cells) == [
        "sandbox/echo",
        "stop/echo/s0",
        "stop/echo/s1",
        "stop/echo/s2",
        "transfer/echo",
    ]
    transfer = json.loads((exp.abs(cells["transfer/echo"].run_dir) / "transfer.json").read_text())
    # the seed improver, and each seed's final improver
    assert transfer["improvers"] == ["seed", "s0", "s1", "s2"]
    summary = selftaught.experiment.summary(exp.path)
    (echo,) = summary.models
    (row,) = echo.transfer
    assert row["task"] == "parity" and row["final_improvers"]["n"] == 3
    assert [r["condition"] for r in echo.sandbox] == ["no_warning", "warning"]
    assert all(r["attempts"] == 4 and r["unsandboxed"] == 0 for r in echo.sandbox)
    assert echo.sandbox[0]["wilson_high"] > 0.4  # four attempts say little: a wide interval
    assert set(echo.cost_by_part) == {"stop", "transfer", "sandbox"}
    md = (exp.path / "report" / "report.md").read_text()
    for section in ("## Transfer", "## Sandbox circumvention", "## Strategies", "GPT-4 (paper)"):
        assert section in md
    for name in ("transfer", "sandbox", "strategies"):
        assert (exp.path / "report" / "tables" / f"{name}.tex").is_file()
    for cell in cells.values():  # every cell's directory reads back as a run
        assert selftaught.open_run(exp.abs(cell.run_dir)).status == "finished"
