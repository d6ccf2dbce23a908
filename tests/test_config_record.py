"""A run records what it ran with: the improver limits resolved from the settings, in
`config.toml` and in the records' config, without freezing them into a reused config."""

from __future__ import annotations

import tomllib

import selftaught
from selftaught.config import load_config, recorded_config


def test_the_recorded_config_holds_the_improver_limits_derived_or_set():
    assert recorded_config(load_config())["resolved"] == {
        "improver_timeout": 35.0,
        "improver_cpu_seconds": 45,
    }
    assert recorded_config(load_config(preset="paper"))["resolved"] == {
        "improver_timeout": 155.0,
        "improver_cpu_seconds": 165,
    }
    set_here = load_config(overrides={"sandbox": {"improver_timeout": 20}})
    assert recorded_config(set_here)["resolved"] == {
        "improver_timeout": 20.0,
        "improver_cpu_seconds": 30,
    }


def test_a_run_writes_its_limits_into_config_toml_and_its_records(tmp_path):
    result = selftaught.run(
        model="echo", iterations=0, runs=1, utility_calls=2, output=str(tmp_path / "runs")
    )
    assert result.status == "finished"
    written = tomllib.loads((result.run_dir / "config.toml").read_text())
    limits = {"improver_timeout": 10.0 + 5 * (1 + 2), "improver_cpu_seconds": 35}
    assert written["resolved"] == limits
    assert selftaught.open_run(result.run_dir).config["resolved"] == limits
    # Read back (as resume does), the same limits; reused with bigger budgets, limits
    # sized to those, not the recorded ones.
    again = load_config(file=result.run_dir / "config.toml")
    assert (again.improver_timeout, again.improver_cpu_seconds) == (25.0, 35)
    assert again.sandbox.improver_timeout is None
    bigger = load_config(
        file=result.run_dir / "config.toml", overrides={"budgets": {"utility_calls": 25}}
    )
    assert bigger.improver_timeout == 10 + 5 * (1 + 25)
