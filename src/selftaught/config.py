"""Validated settings and presets. One `RunConfig` is passed down explicitly."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selftaught.errors import ConfigError
from selftaught.lm.base import DEFAULT_TEMPERATURE
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import DEFAULT_MODEL
from selftaught.sandbox.spec import SOLUTION_CPU_SECONDS

_STRICT = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Budgets(BaseModel):
    """What one improver run may spend. The paper: 4 calls, 6 samples, 25 utility calls."""

    model_config = _STRICT

    lm_calls: int = Field(1, ge=1)
    """Model calls per improver run (`language_model.budget`)."""
    samples_per_call: int = Field(3, ge=1)
    """Samples per call (`language_model.max_responses_per_call`)."""
    utility_calls: int = Field(4, ge=1)
    """Utility calls per improver run (`utility.budget`); past it the utility returns 0."""
    max_tokens: int = Field(400, ge=16)
    """Completion tokens per sample."""
    temperature: float = Field(DEFAULT_TEMPERATURE, ge=0.0, le=2.0)
    """Sampling temperature of every model call that does not set its own: the
    `language_model` of improvers (the seed and greedy improvers leave it to this) and
    the framework's own calls. An improver that passes `temperature=` gets its own."""


class SandboxSettings(BaseModel):
    """Limits for the workers that run model-written code."""

    model_config = _STRICT

    memory_mb: int = Field(2048, ge=64)
    """Address-space limit of one worker."""
    solution_cpu_seconds: int = Field(SOLUTION_CPU_SECONDS, ge=1)
    """CPU-time limit of one solution worker."""
    improver_cpu_seconds: int | None = Field(None, ge=1)
    """CPU-time limit of one improver worker (its own computation). Unset: derived from
    the budgets as `improver_timeout + 10`, above the wall-clock limit so that a
    single-threaded loop is ended by that limit (outcome `timeout`); a program that burns
    CPU on several threads meets this one first (outcome `killed`)."""
    improver_timeout: float | None = Field(None, gt=0)
    """Wall-clock seconds of an improver's own time (time serving its model and utility
    calls in the orchestrator is not counted). Unset: derived from the budgets as
    `10 + 5 * (lm_calls + utility_calls)`: 35 s in the default preset, 155 s in `paper`.
    An improver's own work between calls takes milliseconds, so this only ends programs
    that hang, sleep or loop."""
    isolate_network: bool = True
    """Put workers in a network namespace with no interfaces (where the platform allows)."""
    drop_privileges: bool = True
    """When running as root, run workers as `nobody`."""
    run_memory_mb: int | None = Field(None, ge=64)
    """Memory of all workers of the run together, scratch tmpfs included, enforced by a
    cgroup where the machine allows it. Default: room for (2 x parallel + 3) workers at
    memory_mb plus 512 MB of scratch, at most 3/4 of the machine's memory."""
    run_pids: int | None = Field(None, ge=16)
    """Processes and threads of all workers of the run together (the same cgroup).
    Default: 64 per worker, for (2 x parallel + 3) workers."""


class RunConfig(BaseModel):
    """Everything a STOP run needs; written resolved into the run directory."""

    model_config = _STRICT

    name: str = "lpn"
    """Name of the run; the run directory is `<output>/<timestamp>-<name>`."""
    model: str = DEFAULT_MODEL
    """Model string: `local:smollm2`, `local:/path/model.gguf`, `openai:MODEL`,
    `anthropic:MODEL`, `replay:RUN_DIR`, `echo`, `scripted:FILE.json`."""
    tasks: list[str] = Field(default_factory=lambda: ["lpn"], min_length=1)
    """The task suite of the meta-utility."""
    iterations: int = Field(2, ge=0)
    """Self-improvement iterations T."""
    runs: int = Field(2, ge=1)
    """Improver runs per task in one meta-utility evaluation (the paper: 5)."""
    budgets: Budgets = Field(default_factory=Budgets)
    """Budgets of every improver run, downstream and in the self-improvement step."""
    adoption: Literal["paired", "improved", "paper"] = "paired"
    """`paired`: adopt I_t only if the lower bound of a one-sided Student t interval (level
    `adoption_level`) on its mean per-run difference from its parent is above zero. The
    solutions run r of task k of both returned are scored on the same fresh confirmation
    instances, drawn for that iteration and run and seen by no utility call, so the
    differences pair up and no selection inside the step can win them (docs/loop.md).
    `paper`: always adopt (Algorithm 1). `improved`: adopt if its mean confirmation score
    beats its parent's by any amount."""
    adoption_level: float = Field(0.9, ge=0.5, lt=1.0)
    """Confidence level of the `paired` rule's one-sided interval."""
    keep_input: bool = True
    """The seed improver keeps its input among the candidates, so it never returns
    something that scores worse than what it was given. The paper's does not."""
    seed: int = 0
    """Seed for model sampling. Instances come from a secret instance key, not from this."""
    instance_key: str | None = None
    """Pin the instance key (a shared, reproducible benchmark). Unset: a run draws a secret
    key when it is created; `score`, `improve` and `transfer` use this user's key. A pinned
    key is only as secret as the place it is written; it is never copied into the records'
    config (the run keeps it in its private `instance.key`)."""
    parallel: int = Field(2, ge=1)
    """Improver runs of one meta-utility evaluation run at once."""
    executor: Literal["local", "ray"] = "local"
    """Where sandboxed work runs: `local` (this machine's fork server) or `ray` (Ray
    tasks and actors, each with its own sandbox; needs `pip install 'selftaught[ray]'`)."""
    ray_address: str | None = None
    """With `executor = "ray"`: `auto`, `ray://host:port`, or unset to start a local Ray."""
    improver: str = "seed"
    """The starting improver: `seed`, `greedy`, a path to an improver .py file, or
    `RUN_DIR:ITER` (that run's `improvers/iter_NNN.py`)."""
    mode: Literal["recursive", "non-recursive"] = "recursive"
    """`recursive`: STOP, the current improver improves itself. `non-recursive`: the
    seed improver improves the current improver each iteration (the reference code's
    `iterative=False`), a baseline that isolates the effect of self-application."""
    output: str = "runs"
    """Folder that holds run directories."""
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    lm: ModelOptions = Field(default_factory=ModelOptions)
    """How to reach the model and what the run may spend (`[lm]`: base_url, api_key_env,
    concurrency, cache, prices, max_run_tokens, max_run_cost, ...)."""

    @property
    def improver_timeout(self) -> float:
        """Wall-clock seconds of an improver's own time: `[sandbox] improver_timeout` if
        set, else sized to the budgets (`improver_timeout_for`). Derived here, never
        stored, so a config reused with other budgets gets limits sized to those."""
        explicit = self.sandbox.improver_timeout
        return explicit if explicit is not None else improver_timeout_for(self.budgets)

    @property
    def improver_cpu_seconds(self) -> int:
        """CPU seconds of one improver worker: `[sandbox] improver_cpu_seconds` if set,
        else ten more than the wall-clock limit, so a CPU loop ends by the same clock."""
        explicit = self.sandbox.improver_cpu_seconds
        return explicit if explicit is not None else math.ceil(self.improver_timeout) + 10


def improver_timeout_for(budgets: Budgets) -> float:
    """Seconds of an improver's own time: 10 + 5 per model or utility call it may make."""
    return 10.0 + 5.0 * (budgets.lm_calls + budgets.utility_calls)


RESOLVED = "resolved"
"""The table of a recorded config (`config.toml`, the records' `meta.config`) that holds
the values derived from the settings, as the run used them. It is for reading: loading a
recorded config drops it and derives them again, so a config reused with other budgets
gets limits sized to those (an explicit `[sandbox]` value stays in `[sandbox]`)."""


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": {
        "iterations": 3,
        "runs": 5,
        "adoption": "paper",
        "keep_input": False,
        "budgets": {"lm_calls": 4, "samples_per_call": 6, "utility_calls": 25, "max_tokens": 1024},
    },
}


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, tables merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"invalid config: {where}: {err['msg']}{more}"


def load_config(
    *, preset: str | None = None, file: Path | None = None, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """Preset, then the TOML file (which may name its own `preset`), then flags."""
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(Path(file).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from None
    chosen = preset or data.pop("preset", None) or "default"
    data.pop("preset", None)
    if chosen not in PRESETS:
        raise ConfigError(f"unknown preset {chosen!r}; known: {', '.join(PRESETS)}")
    merged = merge(merge(PRESETS[chosen], data), overrides or {})
    merged.pop(RESOLVED, None)  # what a recorded config says it ran with: derived again
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def recorded_config(cfg: RunConfig) -> dict[str, Any]:
    """The config as a run writes it down: everything but a pinned instance key, and
    under `resolved` the improver limits it ran with (`improver_timeout`,
    `improver_cpu_seconds`: set in `[sandbox]`, or derived from the budgets)."""
    out = cfg.model_dump(mode="json", exclude={"instance_key"})
    out[RESOLVED] = {
        "improver_timeout": cfg.improver_timeout,
        "improver_cpu_seconds": cfg.improver_cpu_seconds,
    }
    return out
