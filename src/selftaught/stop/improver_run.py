"""One improver run in the sandbox, with its budgets kept here, in the orchestrator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from selftaught.errors import BudgetExhausted, LanguageModelError
from selftaught.lm.session import LanguageModel, derive_seed
from selftaught.program.check import check_program
from selftaught.sandbox.results import Outcome
from selftaught.stop.context import RunContext, Scope


@dataclass
class ImproverRun:
    """What one run of `improve_algorithm` returned and spent."""

    outcome: Outcome
    message: str
    returned: str | None
    model_calls: int
    utility_calls: int
    seconds: float


class _Broker:
    """Serves one improver's `utility` and `language_model` calls, counting both."""

    def __init__(
        self,
        ctx: RunContext,
        scope: Scope,
        improver_hash: str,
        utility: Callable[[str, int], float],
        utility_budget: int,
        lm: LanguageModel,
    ) -> None:
        self.ctx = ctx
        self.scope = scope
        self.improver_hash = improver_hash
        self._utility = utility
        self.utility_budget = utility_budget
        self.lm = lm
        self.utility_calls = 0
        self._lock = threading.Lock()

    def _event(self, kind: str, detail: str) -> None:
        self.ctx.record_events(self.scope, self.improver_hash, [{"kind": kind, "detail": detail}])

    def utility(self, src: str) -> float:
        with self._lock:
            self.utility_calls += 1
            n = self.utility_calls
        if n > self.utility_budget:
            self._event("utility_over_budget", f"call {n} of a budget of {self.utility_budget}")
            return 0.0
        return float(self._utility(src, n))

    def language_model(self, system: str, messages: list[str], temperature: float | None) -> dict:
        try:
            return {"ok": True, "responses": self.lm.batch_prompt(system, messages, temperature)}
        except BudgetExhausted as exc:
            self._event("lm_over_budget", str(exc))
            return {"ok": False, "error": "budget", "message": str(exc)}
        except LanguageModelError as exc:
            return {"ok": False, "error": "failed", "message": str(exc)}


def run_improver(
    ctx: RunContext,
    improver_src: str,
    *,
    initial_solution: str,
    utility: Callable[[str, int], float],
    utility_str: str,
    required_function: str,
    scope: Scope,
    seed_key: str | None = None,
) -> ImproverRun:
    """Run `improve_algorithm(initial_solution, utility, language_model)` once.

    `utility(src, k)` is the orchestrator-side utility; `k` numbers the calls of this run.
    Model-sampling seeds derive from `seed_key` (default: the scope's path), so runs given
    the same key draw the same samples for the same prompts.
    """
    start = time.perf_counter()
    budgets = ctx.config.budgets
    problem = check_program(improver_src, "improve_algorithm", 3)
    if problem is not None:
        return ImproverRun("error", problem, None, 0, 0, time.perf_counter() - start)
    digest = ctx.store.save_program(improver_src, "improver")
    lm = LanguageModel(
        ctx.backend,
        budget=budgets.lm_calls,
        max_responses_per_call=budgets.samples_per_call,
        max_tokens=budgets.max_tokens,
        temperature=budgets.temperature,
        seed=derive_seed(ctx.config.seed),
        scope=scope.path,
        required_function=required_function,
        record=lambda call: ctx.record_model_call(scope.iteration, call),
        seed_key=seed_key,
        program=initial_solution,
        options=ctx.config.lm,
    )
    broker = _Broker(ctx, scope, digest, utility, budgets.utility_calls, lm)
    result = ctx.sandbox.improve(
        improver_src,
        initial_solution=initial_solution,
        utility_str=utility_str,
        budgets=budgets,
        broker=broker,
        timeout=ctx.config.improver_timeout,
    )
    ctx.record_events(scope, digest, result.events)
    return ImproverRun(
        result.outcome,
        result.message,
        result.value,
        lm.calls,
        broker.utility_calls,
        time.perf_counter() - start,
    )
