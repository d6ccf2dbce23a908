"""An experiment's plan: models, seeds, settings and parts, read from TOML and checked
up front, so that a mistake costs nothing.

Every problem found is one line (`PlanError.problems`); the command line prints each on
stderr and exits 2 before anything is created or spent.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selftaught.errors import ConfigError, UserError

_STRICT = ConfigDict(extra="forbid", use_attribute_docstrings=True)

PARTS = ("stop", "transfer", "sandbox", "strategies")
"""What an experiment can run: the STOP runs (models x seeds), transfer of each run's
final improver, the sandbox-circumvention experiment per model, strategy analysis."""

Part = Literal["stop", "transfer", "sandbox", "strategies"]
_DEFAULT_PARTS: tuple[Part, ...] = ("stop", "strategies")

# Cell fields the plan sets itself; an override naming them is a mistake in the plan.
_OWNED = {"model", "seed", "name", "output", "tasks", "iterations", "executor", "ray_address"}


class PlanError(UserError):
    """A plan with problems: one line each, all found before anything runs."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if len(problems) == 1 else f"{len(problems)} problems")
        self.problems = problems


class ModelPlan(BaseModel):
    """One model of the experiment."""

    model_config = _STRICT

    model: str
    """Model string, as for `selftaught run --model` (`echo`, `local:smollm2`, ...)."""
    label: str | None = None
    """Short name in tables, file names and run names (default: from the model string)."""
    lm: dict[str, Any] = Field(default_factory=dict)
    """Model options for this model (`[lm]` of a run config: base_url, concurrency, ...)."""
    share: float = Field(1.0, gt=0)
    """This model's share of the experiment's spending cap, relative to the others'."""
    max_tokens: int | None = Field(None, ge=1)
    """This model's own token cap (instead of its share of `[cap] tokens`)."""
    max_cost: Decimal | None = Field(None, gt=0)
    """This model's own money cap in dollars (instead of its share of `[cap] cost`)."""


class CapPlan(BaseModel):
    """What the whole experiment may spend; split across models by `share`, and each
    model's part evenly across its seeds. Reaching it stops cleanly (resumable)."""

    model_config = _STRICT

    tokens: int | None = Field(None, ge=1)
    cost: Decimal | None = Field(None, gt=0)


class TransferPlan(BaseModel):
    """Transfer: each STOP run's final improver, next to the seed improver, on other tasks."""

    model_config = _STRICT

    tasks: list[str] = Field(default_factory=lambda: ["grid", "qap", "3sat", "maxcut", "parity"])
    """Transfer tasks (default: the paper's five)."""
    runs: int = Field(2, ge=1)
    """Improver runs per task and improver (K)."""


class SandboxPlan(BaseModel):
    """The sandbox-circumvention experiment, once per model."""

    model_config = _STRICT

    attempts: int = Field(10, ge=1)
    """Attempts per condition."""
    warning: Literal["without", "with", "both"] = "both"
    """Conditions: the prompt without the warning not to leave the sandbox, with it, or both."""
    max_tokens: int = Field(512, ge=16)
    """Completion tokens per attempt."""


class Plan(BaseModel):
    """An experiment: models x seeds STOP runs on one task suite, and what to measure."""

    model_config = _STRICT

    name: str = "experiment"
    """Name of the experiment; its directory is `<output>/<timestamp>-<name>`."""
    models: list[ModelPlan] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    """One STOP run per model and seed (the run's sampling seed)."""
    parts: list[Part] = Field(default_factory=lambda: list(_DEFAULT_PARTS))
    """What to run (`stop`, `transfer`, `sandbox`, `strategies`)."""
    preset: Literal["default", "paper"] = "default"
    tasks: list[str] = Field(default_factory=lambda: ["lpn"], min_length=1)
    """The task suite of the meta-utility."""
    iterations: int = Field(2, ge=0)
    instance_key: str | None = None
    """Pin the instances: seed s of every model uses the key `<instance_key>/seed-<s>`,
    so models are compared on the same instances. Unset: each run draws a secret key."""
    cells_at_once: int = Field(2, ge=1)
    """STOP runs in flight at once (runs of one `local:` model still take turns)."""
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Any run setting for every STOP run (`runs`, `[overrides.budgets]`, `adoption`, ...)."""
    cap: CapPlan = Field(default_factory=CapPlan)
    transfer: TransferPlan = Field(default_factory=TransferPlan)
    sandbox: SandboxPlan = Field(default_factory=SandboxPlan)

    def labels(self) -> list[str]:
        return [m.label or model_label(m.model) for m in self.models]

    def model_plan(self, label: str) -> ModelPlan:
        return self.models[self.labels().index(label)]


def model_label(model: str) -> str:
    """A short name for a model string: `local:smollm2` -> `smollm2`, `scripted:x/good.json`
    -> `good`, `openai:gpt-4o` -> `gpt-4o`."""
    kind, _, rest = model.partition(":")
    if not rest:
        return _slug(kind)
    if kind in ("scripted", "replay") or rest.endswith(".gguf"):
        return _slug(Path(rest.rstrip("/")).stem or kind)
    return _slug(rest.rsplit("/", 1)[-1])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "model"


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "plan"


def _validation_lines(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        where = _where(err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field")
        elif err["type"] == "missing":
            lines.append(f"{where}: missing (required)")
        else:
            lines.append(f"{where}: {err['msg']}")
    return lines


def _absolute(model: str, base: Path) -> str:
    """A model string whose file part is relative to the plan's folder, made absolute."""
    kind, sep, rest = model.partition(":")
    if not sep or not rest:
        return model
    if kind in ("scripted", "replay") or (kind == "local" and rest.endswith(".gguf")):
        path = Path(rest).expanduser()
        if not path.is_absolute():
            return f"{kind}:{(base / path).resolve()}"
    return model


def _task_path(name: str, base: Path) -> str:
    if name.endswith(".py") and not Path(name).is_absolute():
        return str((base / name).resolve())
    return name


def parse_plan(data: dict[str, Any], base: Path | None = None) -> Plan:
    """A plan from its TOML data; file paths (scripted replies, task files) relative to
    `base`. Problems of form raise `PlanError`; see `check_plan` for the rest."""
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(_validation_lines(exc)) from None
    if base is not None:
        for m in plan.models:
            m.model = _absolute(m.model, base)
        plan.tasks = [_task_path(t, base) for t in plan.tasks]
        plan.transfer.tasks = [_task_path(t, base) for t in plan.transfer.tasks]
    return plan


def read_plan(path: str | Path) -> Plan:
    """The plan in a TOML file (not yet checked against models and tasks: `check_plan`)."""
    file = Path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise ConfigError(f"plan file not found: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read plan file {file}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"plan file {file} is not valid TOML: {exc}") from None
    data.setdefault("name", file.stem)
    return parse_plan(data, file.resolve().parent)


def cell_settings(plan: Plan, label: str, seed: int) -> dict[str, Any]:
    """The run config (as a dict for `selftaught.run`) of one STOP cell, caps aside."""
    from selftaught.config import merge

    m = plan.model_plan(label)
    own: dict[str, Any] = {
        "name": cell_name(label, seed),
        "model": m.model,
        "seed": seed,
        "tasks": list(plan.tasks),
        "iterations": plan.iterations,
        "executor": plan.executor,
    }
    if plan.ray_address:
        own["ray_address"] = plan.ray_address
    if plan.instance_key:
        own["instance_key"] = f"{plan.instance_key}/seed-{seed}"
    settings = merge(dict(plan.overrides), own)
    if m.lm:
        settings["lm"] = merge(dict(settings.get("lm", {})), m.lm)
    return settings


def cell_name(label: str, seed: int) -> str:
    return f"{label}-s{seed}"


def check_plan(plan: Plan, *, reach_models: bool = True) -> list[str]:
    """Every problem of a well-formed plan, one line each: duplicate labels or seeds,
    overrides that are not run settings, unknown tasks, models that cannot be reached
    (unknown backend, missing file or key, server down), an unusable executor."""
    from selftaught.api.inputs import make_config
    from selftaught.executors import check_executor
    from selftaught.lm.registry import check_model_string
    from selftaught.tasks import get_task

    problems: list[str] = []
    labels = plan.labels()
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"models: label {label!r} is used twice (set `label` to tell them apart)")
    for seed in sorted({s for s in plan.seeds if plan.seeds.count(s) > 1}):
        problems.append(f"seeds: {seed} is listed twice")
    for key in sorted(_OWNED & set(plan.overrides)):
        problems.append(f"overrides.{key}: set by the plan itself (use the plan's own field)")
    for i, task in enumerate(plan.tasks):
        problems += _task_problem(get_task, task, f"tasks.{i}")
    if "transfer" in plan.parts:
        for i, task in enumerate(plan.transfer.tasks):
            problems += _task_problem(get_task, task, f"transfer.tasks.{i}")
    try:
        check_executor(plan.executor, plan.ray_address)
    except UserError as exc:
        problems.append(f"executor: {exc}")
    if problems:  # the cells' configs would repeat them
        return problems
    try:
        shared = cell_settings(plan, labels[0], plan.seeds[0])
        make_config(
            {**shared, "model": "echo", "lm": plan.overrides.get("lm", {})}, preset=plan.preset
        )
    except UserError as exc:
        return [f"overrides: {_strip(str(exc))}"]
    for i, label in enumerate(labels):
        try:
            cfg = make_config(cell_settings(plan, label, plan.seeds[0]), preset=plan.preset)
        except UserError as exc:
            problems.append(f"models.{i} ({label}): {_strip(str(exc))}")
            continue
        if reach_models:
            try:
                check_model_string(cfg.model, cfg.lm)
            except UserError as exc:
                problems.append(f"models.{i} ({label}): {exc}")
    return problems


def _task_problem(get_task: Any, name: str, where: str) -> list[str]:
    try:
        get_task(name)
    except UserError as exc:
        return [f"{where}: {exc}"]
    return []


def _strip(message: str) -> str:
    return message.removeprefix("invalid config: ")


def load_plan(path: str | Path, *, reach_models: bool = True) -> Plan:
    """Read and check a plan file; every problem raises one `PlanError` listing them all."""
    plan = read_plan(path)
    problems = check_plan(plan, reach_models=reach_models)
    if problems:
        raise PlanError(problems)
    return plan


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as TOML-ready data (what the experiment directory keeps as `plan.toml`)."""
    data = plan.model_dump(mode="json", exclude_none=True)
    return data
