"""One improver run in the sandbox, with its budgets kept here, in the orchestrator.

What one run adds to the records is bounded here too: its model calls' texts and its
events' details share one `RecordsAllowance` (`store.limits.IMPROVER_RUN_CHARS`), and a
call over a budget is recorded as an event for the first `OVER_BUDGET_EVENTS` such calls
only (the run's row counts them all).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from selftaught.errors import BudgetExhausted, LanguageModelError
from selftaught.lm.session import LanguageModel, ModelCall, derive_seed
from selftaught.program.check import check_program
from selftaught.sandbox.results import Outcome
from selftaught.stop.context import CHARGE_EVENTS, RunContext, Scope
from selftaught.store.limits import RecordsAllowance

OVER_BUDGET_EVENTS = 10
"""Over-budget calls of one kind recorded as events in one improver run."""


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
    ) -> None:
        self.ctx = ctx
        self.scope = scope
        self.improver_hash = improver_hash
        self._utility = utility
        self.utility_budget = utility_budget
        self.lm: LanguageModel | None = None
        """The run's model session (it records through `record_call`, so it comes second)."""
        self.utility_calls = 0
        self.allowance = RecordsAllowance()
        self._lock = threading.Lock()
        self._over_budget: dict[str, int] = {}

    def _event(self, kind: str, detail: str) -> None:
        with self._lock:
            n = self._over_budget[kind] = self._over_budget.get(kind, 0) + 1
        if n > OVER_BUDGET_EVENTS:
            return
        if n == OVER_BUDGET_EVENTS:
            detail += f"; later {kind} calls of this run are not recorded one by one"
        self.record_events([{"kind": kind, "detail": detail}])

    def record_events(self, events: list[dict]) -> None:
        """Record events of this run, within the run's allowance (rows and details)."""
        kept = self.allowance.take_events(events)
        self.ctx.record_events(self.scope, self.improver_hash, kept, charged=True)

    def record_call(self, call: ModelCall) -> None:
        """Record a model call of this run, its texts within the run's allowance."""
        texts = self.allowance.take([call.system, *call.messages, *call.responses])
        if texts != [call.system, *call.messages, *call.responses]:
            m = len(call.messages)
            call = replace(
                call,
                system=texts[0],
                messages=texts[1 : 1 + m],
                responses=texts[1 + m :],
                notes=[*call.notes, "records: texts cut, the improver run's allowance spent"],
            )
        self.ctx.record_model_call(self.scope.iteration, call)

    def utility(self, src: str) -> float:
        with self._lock:
            self.utility_calls += 1
            n = self.utility_calls
        if n > self.utility_budget:
            self._event("utility_over_budget", f"call {n} of a budget of {self.utility_budget}")
            return 0.0
        # The solution is the improver's text: what its evaluation records is charged to
        # this run (its events, within the allowance: `RunContext.record_events`).
        token = CHARGE_EVENTS.set(self.allowance.take_events)
        try:
            return float(self._utility(src, n))
        finally:
            CHARGE_EVENTS.reset(token)

    def language_model(self, system: str, messages: list[str], temperature: float | None) -> dict:
        assert self.lm is not None
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
    broker = _Broker(ctx, scope, digest, utility, budgets.utility_calls)
    lm = broker.lm = LanguageModel(
        ctx.backend,
        budget=budgets.lm_calls,
        max_responses_per_call=budgets.samples_per_call,
        max_tokens=budgets.max_tokens,
        temperature=budgets.temperature,
        seed=derive_seed(ctx.config.seed),
        scope=scope.path,
        required_function=required_function,
        record=broker.record_call,
        seed_key=seed_key,
        program=initial_solution,
        options=ctx.config.lm,
    )
    result = ctx.sandbox.improve(
        improver_src,
        initial_solution=initial_solution,
        utility_str=utility_str,
        budgets=budgets,
        broker=broker,
        timeout=ctx.config.improver_timeout,
        # One clock (docs/loop.md): the evaluations a utility call asks for count against
        # the improver's time, except a meta-utility's, whose improver runs have their own.
        charge_utility_time=required_function != "improve_algorithm",
    )
    broker.record_events(result.events)
    return ImproverRun(
        result.outcome,
        result.message,
        result.value,
        lm.calls,
        broker.utility_calls,
        time.perf_counter() - start,
    )
