"""What the model layer gets out of the embedded model: the seed improver once on each
task's seed solution, over several sampling seeds, with the `default` preset, before (the
model layer's new features off) and after (its defaults).

    nice -n 10 python bench/small_model.py > small_model.txt          # all built-in tasks
    python bench/small_model.py --tasks lpn,qap --seeds 2 --arms after  # a quick subset
    python bench/small_model.py --tasks tests/data/tasks/user_task.py   # a task file

Arms: `before` (no grammar, no header, no repair, no loop stops, no drawing again, no
edits, the budget's 400 tokens), `after` (the defaults: grammar, header, repair, loop
stops, 2 rounds of drawing again, 256 tokens on the embedded model), `edits` (after,
asking for search/replace edits), `noheader` (after without the header), `nogrammar`,
`noloops`, `noredraw`, `tokens400` (after with 400 tokens);
`--temperature` and `--max-tokens` override the preset's; `--model local:path/to/model.gguf`
(or any model spec) measures another model than the embedded one.
Per task it prints the seed's validation score, the mean, min and max after, runs worse
and better than the seed; the same program's held-out score against the seed's (a run
"better" on validation alone may have found noise: the seed improver picks its best
candidate on validation); the usable share of all samples drawn, with the reasons the
others were unusable; of the usable ones, how many return a value and how many of those
are not the seed again; and how many of the answers the improver received are such new
programs. It takes minutes per task and arm on 2 cores. `--json F` keeps the rows;
`--table F1 F2 ...` prints one table of arms run by separate processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from selftaught.assembly import assemble
from selftaught.config import load_config
from selftaught.lm.edits import INSTRUCTION, apply_edits
from selftaught.lm.usable import (
    add_reasons,
    as_answer,
    check,
    describe,
    returns_value,
    same_program,
)
from selftaught.stop import seed_improver
from selftaught.stop.context import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks import get_task
from selftaught.tasks.registry import TASKS

OFF = {
    "grammar": "off",
    "header": False,
    "repair": False,
    "stop_loops": False,
    "edits": False,
    "redraw": 0,
    "max_tokens": 10**6,  # no per-backend cap: the budget's max_tokens, as before
}
ARMS = {
    "before": OFF,
    "after": {},
    "edits": {"edits": True},
    "noheader": {"header": False},
    "nogrammar": {"grammar": "off"},
    "noloops": {"stop_loops": False},
    "noredraw": {"redraw": 0},
    "tokens400": {"max_tokens": 400},
}


def run_arm(
    arm: str,
    tasks: list[str],
    seeds: int,
    max_tokens: int | None,
    root: Path,
    first: int = 0,
    temperature: float | None = None,
    model: str | None = None,
) -> list:
    lm = ARMS[arm]
    budgets: dict[str, float] = {"max_tokens": max_tokens} if max_tokens else {}
    if temperature is not None:
        budgets["temperature"] = temperature
    overrides: dict = {"lm": lm, "budgets": budgets} if budgets else {"lm": lm}
    if model:
        overrides["model"] = model
    base = load_config(overrides={**overrides, "output": str(root)})
    rows = []
    with assemble(base, record=f"bench-{arm}", kind="bench") as asm:
        store, ctx0 = asm.store, asm.context
        for name in tasks:
            task = get_task(name)
            scorer = SolutionScorer(ctx0)
            seed_scope = Scope(0, f"{task.name}/seed")
            seed_score, seed_held = (
                scorer.evaluate(task.seed_solution, task, split, seed_scope).score
                for split in ("validation", "heldout")
            )
            afters, helds, samples, usable, reasons = [], [], 0, 0, {}
            returning = new = answers = good = 0
            start = time.perf_counter()
            for s in range(first, first + seeds):
                cfg = base.model_copy(update={"seed": s})
                ctx = dataclasses.replace(ctx0, config=cfg)  # another sampling seed only
                scope = Scope(0, f"{task.name}/s{s}")
                run = run_improver(
                    ctx,
                    seed_improver(keep_input=cfg.keep_input),
                    initial_solution=task.seed_solution,
                    utility=lambda src, k, _c=ctx, _s=scope, _t=task: (
                        SolutionScorer(_c).evaluate(src, _t, "validation", _s.child(f"u{k}")).score
                    ),
                    utility_str=task.utility_text,
                    required_function=task.function,
                    scope=scope,
                )
                after, held = 0.0, 0.0
                if run.outcome == "ok" and run.returned is not None:
                    after, held = (
                        scorer.evaluate(run.returned, task, split, scope.child("final")).score
                        for split in ("validation", "heldout")
                    )
                afters.append(after)
                helds.append(held)
                for r in store.query(
                    "SELECT samples, usable, unusable_reasons, messages, responses, answers"
                    " FROM model_calls WHERE scope = ?",
                    (scope.path,),
                ):
                    samples += r["samples"] or 0
                    usable += r["usable"] or 0
                    add_reasons(reasons, r["unusable_reasons"])
                    counted = returning_samples(dict(r), task, lm)
                    returning, new = returning + counted[0], new + counted[1]
                    answers, good = answers + counted[2], good + counted[3]
            rows.append(
                {
                    "arm": arm,
                    "task": task.name,
                    "seed": seed_score,
                    "afters": afters,
                    "seed_held": seed_held,
                    "helds": helds,
                    "samples": samples,
                    "usable": usable,
                    "returning": returning,
                    "new": new,
                    "answers": answers,
                    "good": good,
                    "reasons": reasons,
                    "seconds": time.perf_counter() - start,
                }
            )
            print_row(rows[-1])
            sys.stdout.flush()
    return rows


EPS = 1e-9


def returning_samples(call: dict, task, lm: dict) -> tuple[int, int, int, int]:
    """For one recorded call: usable draws whose function returns a value, those of them
    that are not the seed solution again (`same_program`), and of the answers the
    improver was given (each message's first good draw, when the model layer drew
    again), how many and how many are such new programs. Checked again as the model
    layer checked them (finish reasons are not recorded: a block without its closing
    fence counts as cut)."""
    responses = json.loads(call["responses"] or "[]")  # a failed call recorded none
    messages = json.loads(call["messages"])[: len(responses)]
    fresh = []
    for message, text in zip(messages, responses, strict=True):
        cut, repair = text.count("```") < 2, lm.get("repair", True)
        if message.endswith(INSTRUCTION):
            applied = apply_edits(task.seed_solution, text).program
            text, cut, repair = as_answer(applied or ""), False, False
        code = check(text, task.function, task.arity, cut=cut, repair=repair).code
        returns = code is not None and returns_value(code, task.function)
        fresh.append((returns, returns and not same_program(code or "", task.seed_solution)))
    given = json.loads(call.get("answers") or "null") or list(range(len(fresh)))
    return (
        sum(r for r, _ in fresh),
        sum(n for _, n in fresh),
        len(given),
        sum(fresh[d][1] for d in given),
    )


def counts(r: dict) -> tuple[int, int, int]:
    """Runs worse and better than the seed on validation, and better on held-out."""
    a = r["afters"]
    worse = sum(x < r["seed"] - EPS for x in a)
    better = sum(x > r["seed"] + EPS for x in a)
    held = sum(h > r["seed_held"] + EPS for h in r.get("helds", []))
    return worse, better, held


def returning(r: dict) -> str:
    """`9 (4 new)`: usable samples returning a value, and those not the seed again."""
    if "new" not in r:
        return "?"
    answers = f"; answers {r['good']}/{r['answers']} new" if "answers" in r else ""
    return f"{r['returning']} ({r['new']} new{answers})"


def print_row(r: dict) -> None:
    a = r["afters"]
    worse, better, held = counts(r)
    share = r["usable"] / r["samples"] if r["samples"] else 0.0
    print(
        f"{r['arm']:<9} {r['task']:<12} seed {r['seed']:.3f}  after mean {statistics.fmean(a):.3f}"
        f" min {min(a):.3f} max {max(a):.3f}  worse {worse}/{len(a)} better {better}/{len(a)}"
        f"  held-out: seed {r.get('seed_held', 0.0):.3f} after mean"
        f" {statistics.fmean(r.get('helds') or [0.0]):.3f} better {held}/{len(a)}"
        f"  usable {r['usable']}/{r['samples']} ({share:.0%})"
        f" returning a value {returning(r)}"
        + (f" unusable: {describe(r['reasons'])}" if r["reasons"] else "")
        + f"  [{r['seconds']:.0f} s]"
    )


def summary(rows: list[dict]) -> None:
    print(
        "\n| task | seed | arm | after: mean | min | max | worse | better |"
        " held-out: seed | after mean | better | usable | returning a value | unusable, by reason |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: [x["task"] for x in rows].index(r["task"])):
        a, n = r["afters"], len(r["afters"])
        worse, better, held = counts(r)
        share = "-"
        if r["samples"]:
            share = f"{r['usable']}/{r['samples']} ({r['usable'] / r['samples']:.0%})"
        print(
            f"| {r['task']} | {r['seed']:.3f} | {r['arm']} | {statistics.fmean(a):.3f} |"
            f" {min(a):.3f} | {max(a):.3f} | {worse}/{n} | {better}/{n} |"
            f" {r.get('seed_held', 0.0):.3f} | {statistics.fmean(r.get('helds') or [0.0]):.3f} |"
            f" {held}/{n} | {share} | {returning(r)} | {describe(r['reasons']) or '-'} |"
        )
    for arm in dict.fromkeys(r["arm"] for r in rows):
        mine = [r for r in rows if r["arm"] == arm]
        builtin = [r for r in mine if r["task"] in TASKS]
        samples = sum(r["samples"] for r in builtin)
        usable = sum(r["usable"] for r in builtin)
        back = "?"
        if all("new" in r for r in builtin):
            keys = [k for k in ("returning", "new", "answers", "good") if k in builtin[0]]
            back = returning({k: sum(r[k] for r in builtin) for k in keys})
        lowest = min((r["usable"] / r["samples"] for r in builtin if r["samples"]), default=0.0)
        improved = sum(counts(r)[1] > 0 for r in builtin)
        held = sum(counts(r)[2] > 0 for r in builtin)
        print(
            f"\n{arm}: built-in tasks: usable {usable}/{samples} ({usable / max(samples, 1):.0%}),"
            f" lowest task {lowest:.0%}, returning a value {back};"
            f" improved in at least one seed: {improved}/{len(builtin)} on validation,"
            f" {held}/{len(builtin)} on held-out;"
            f" seconds {sum(r['seconds'] for r in mine):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated names or files")
    parser.add_argument("--seeds", type=int, default=5, help="sampling seeds per task")
    parser.add_argument("--first-seed", type=int, default=0, help="the first sampling seed")
    parser.add_argument("--arms", default="before,after", help=f"of {', '.join(ARMS)}")
    parser.add_argument("--max-tokens", type=int, default=None, help="override the preset's")
    parser.add_argument("--temperature", type=float, default=None, help="override the preset's")
    parser.add_argument("--model", default=None, help="another model (default: the embedded)")
    parser.add_argument("--records", default=None, help="keep the run records in this folder")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument(
        "--table", nargs="+", default=None, help="only print the table of these --json files"
    )
    args = parser.parse_args()
    if args.table:  # arms run by separate processes, in one table
        summary([row for f in args.table for row in json.loads(Path(f).read_text())])
        return
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm {unknown[0]!r}; known: {', '.join(ARMS)}")
    tasks = args.tasks.split(",")
    print(
        f"seed improver once per task on its seed solution, {args.seeds} sampling seeds,"
        f" default preset, model {args.model or 'embedded'}; arms: {', '.join(arms)}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.records or tmp)
        root.mkdir(parents=True, exist_ok=True)
        for arm in arms:
            rows += run_arm(
                arm,
                tasks,
                args.seeds,
                args.max_tokens,
                root,
                args.first_seed,
                args.temperature,
                args.model,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    summary(rows)


if __name__ == "__main__":
    main()
