"""One frozen sandbox spec, built once from the config, sets every sandbox of a run."""

import pickle

import pytest

from selftaught.assembly import sandbox_spec
from selftaught.config import RunConfig, SandboxSettings
from selftaught.executors import LocalExecutor
from selftaught.sandbox import SandboxSpec
from selftaught.sandbox.spec import IMPROVER_CPU_SECONDS, SOLUTION_CPU_SECONDS


def test_the_default_spec_and_the_default_config_agree():
    spec, settings = SandboxSpec(), SandboxSettings()
    assert spec.solution_limits.cpu_seconds == settings.solution_cpu_seconds == SOLUTION_CPU_SECONDS
    assert spec.improver_limits.cpu_seconds == IMPROVER_CPU_SECONDS


def test_a_run_sandbox_gets_the_improver_limits_its_config_resolves():
    cfg = RunConfig()
    spec = sandbox_spec(cfg)
    assert spec.improver_limits.cpu_seconds == cfg.improver_cpu_seconds == 45


def test_the_spec_of_a_config_carries_its_sandbox_settings():
    cfg = RunConfig(
        parallel=3,
        sandbox=SandboxSettings(
            memory_mb=1024,
            solution_cpu_seconds=7,
            improver_cpu_seconds=11,
            isolate_network=False,
            drop_privileges=False,
            run_pids=99,
        ),
    )
    spec = sandbox_spec(cfg)
    assert (spec.solution_limits.cpu_seconds, spec.solution_limits.memory_mb) == (7, 1024)
    assert (spec.improver_limits.cpu_seconds, spec.improver_limits.memory_mb) == (11, 1024)
    assert not spec.isolate_network and not spec.drop_privileges
    assert spec.run_bounds is not None and spec.run_bounds.pids == 99


def test_the_spec_is_frozen_and_travels_by_pickle():
    spec = sandbox_spec(RunConfig())
    with pytest.raises(AttributeError):
        spec.isolate_network = False  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert hash(pickle.loads(pickle.dumps(spec))) == hash(spec)  # Ray's side keys on it


def test_the_local_executor_builds_its_sandbox_from_the_spec():
    spec = SandboxSpec.from_settings(SandboxSettings(solution_cpu_seconds=5), parallel=1)
    with LocalExecutor().sandbox(spec) as sb:
        assert sb.spec is spec
        assert sb.solution_limits.cpu_seconds == 5
        assert sb.improver_limits.cpu_seconds == IMPROVER_CPU_SECONDS
