"""What one draw of the embedded model is worth: the seed improver's own message, answered
many times on each task's seed solution, every answer scored by the task's utility.

    nice -n 10 python bench/draw_scores.py                      # every built-in task, 40 draws
    python bench/draw_scores.py --tasks maxcut,qap --draws 20   # a subset
    python bench/draw_scores.py --tasks bench/tasks/knapsack.py --temperature 0.3
    python bench/draw_scores.py --model local:path/to/model.gguf   # another model

`bench/small_model.py` asks whether a run of the seed improver (3 answers) beats the seed;
this asks how often a single answer does, which says how many answers a run would need.
It runs the seed improver once per task with the `default` preset except that one call
asks for `--draws` samples and the utility may be called once per answer and once for the
seed (the seed improver scores its input first, then every answer, on validation).
Drawing again is off unless `--redraw` says otherwise, so the draws are independent
samples of the model layer's defaults (grammar, header, repair, loop stops). Per task it
prints the seed's validation score and, of all draws: usable, new programs (not the seed
again, docstrings aside), new programs that return a value, and how many new programs
score above 0, at least the seed, and above it, with the best score; the best new
program's held-out score is printed when it beat the seed on validation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from selftaught.assembly import assemble
from selftaught.config import load_config
from selftaught.lm.usable import check, returns_value, same_program
from selftaught.stop import RunContext, seed_improver
from selftaught.stop.context import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks import get_task
from selftaught.tasks.registry import TASKS

EPS = 1e-9


def draw_task(ctx: RunContext, name: str, scope: Scope) -> dict:
    """One seed-improver run asking for every draw at once, and each answer's score."""
    task = get_task(name)
    scorer = SolutionScorer(ctx)
    seed = scorer.evaluate(task.seed_solution, task, "validation", scope.child("seed")).score
    scores: list[tuple[str, float]] = []

    def utility(src: str, k: int) -> float:
        score = scorer.evaluate(src, task, "validation", scope.child(f"u{k}")).score
        scores.append((src, score))
        return score

    start = time.perf_counter()
    run = run_improver(
        ctx,
        seed_improver(keep_input=True),
        initial_solution=task.seed_solution,
        utility=utility,
        utility_str=task.utility_text,
        required_function=task.function,
        scope=scope,
    )
    if run.outcome != "ok":
        raise SystemExit(f"{name}: the seed improver's run ended {run.outcome}: {run.message}")
    draws = usable = 0
    for row in ctx.store.query(
        "SELECT samples, usable FROM model_calls WHERE scope = ?", (scope.path,)
    ):
        draws += row["samples"] or 0
        usable += row["usable"] or 0
    answers = scores[1:]  # the first utility call scores the seed improver's input
    fresh = [
        (src, s)
        for src, s in answers
        if (code := _code(src, task)) and not same_program(code, task.seed_solution)
    ]
    best = max(fresh, key=lambda a: a[1], default=None)
    held = None
    if best is not None and best[1] > seed + EPS:
        held = scorer.evaluate(best[0], task, "heldout", scope.child("best")).score
    return {
        "task": task.name,
        "seed": seed,
        "seed_held": scorer.evaluate(task.seed_solution, task, "heldout", scope).score,
        "draws": draws,
        "usable": usable,
        "answers": len(answers),
        "new": len(fresh),
        "returning": sum(returns_value(_code(src, task), task.function) for src, _ in fresh),
        "above_zero": sum(s > EPS for _, s in fresh),
        "at_least_seed": sum(s >= seed - EPS for _, s in fresh),
        "better": sum(s > seed + EPS for _, s in fresh),
        "best": best[1] if best else None,
        "best_held": held,
        "seconds": time.perf_counter() - start,
    }


def _code(answer: str, task) -> str:
    return check(answer, task.function, task.arity, repair=False).code or ""


def print_row(r: dict) -> None:
    best = "-" if r["best"] is None else f"{r['best']:.3f}"
    held = "" if r["best_held"] is None else f" (held-out {r['best_held']:.3f}"
    held += "" if r["best_held"] is None else f" vs seed {r['seed_held']:.3f})"
    print(
        f"| {r['task']} | {r['seed']:.3f} | {r['draws']} | {r['usable']} | {r['new']} |"
        f" {r['returning']} | {r['above_zero']} | {r['at_least_seed']} | {r['better']} |"
        f" {best}{held} | {r['seconds']:.0f} |"
    )


HEAD = (
    "| task | seed | draws | usable | new | new, returning a value | new, above 0 |"
    " new, at least the seed | new, above the seed | best new (validation) | seconds |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated names or files")
    parser.add_argument("--draws", type=int, default=40, help="answers per task")
    parser.add_argument("--seed", type=int, default=0, help="the sampling seed")
    parser.add_argument("--temperature", type=float, default=None, help="override the preset's")
    parser.add_argument("--redraw", type=int, default=0, help="rounds of drawing again")
    parser.add_argument("--model", default=None, help="another model (default: the embedded)")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--table", nargs="+", default=None, help="only print these --json files")
    args = parser.parse_args()
    if args.table:
        print(HEAD)
        for f in args.table:
            for row in json.loads(Path(f).read_text()):
                print_row(row)
        return
    budgets: dict[str, float] = {
        "samples_per_call": args.draws,
        "utility_calls": args.draws + 1,
    }
    if args.temperature is not None:
        budgets["temperature"] = args.temperature
    overrides: dict = {"seed": args.seed, "budgets": budgets, "lm": {"redraw": args.redraw}}
    if args.model:
        overrides["model"] = args.model
    cfg = load_config(overrides=overrides)
    print(
        f"the seed improver's message answered {args.draws} times per task, seed {args.seed},"
        f" temperature {cfg.budgets.temperature}, drawing again {args.redraw}, model {cfg.model}"
    )
    print(HEAD)
    rows = []
    with assemble(cfg) as asm:  # a temporary run directory, a real run's sandbox
        for name in args.tasks.split(","):
            rows.append(draw_task(asm.context, name, Scope(0, f"{Path(name).stem}/draws")))
            print_row(rows[-1])
            sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
