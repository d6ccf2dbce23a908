"""What the model layer gets out of the embedded model: the seed improver once on each
task's seed solution, over several sampling seeds, with the `default` preset, before (the
model layer's new features off) and after (its defaults).

    nice -n 10 python bench/small_model.py > small_model.txt          # all built-in tasks
    python bench/small_model.py --tasks lpn,qap --seeds 2 --arms after  # a quick subset
    python bench/small_model.py --tasks tests/data/tasks/user_task.py   # a task file

Arms: `before` (no grammar, no header, no repair, no loop stops, no edits, the budget's
400 tokens), `after` (the defaults: grammar, header, repair, loop stops, 256 tokens on the
embedded model), `edits` (after, asking for search/replace edits), `noheader` (after
without the header), `nogrammar`, `noloops`, `tokens400` (after with 400 tokens);
`--temperature` and `--max-tokens` override the preset's.
Per task it prints the seed's validation score, the mean, min and max after, runs worse
and better than the seed, and the usable share of samples with the reasons the others
were unusable. It takes minutes per task and arm on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from selftaught.config import load_config
from selftaught.lm.registry import make_backend
from selftaught.lm.usable import add_reasons, describe
from selftaught.sandbox import Sandbox
from selftaught.stop import RunContext, seed_improver
from selftaught.stop.context import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.store import RunDir
from selftaught.tasks import get_task
from selftaught.tasks.registry import TASKS

OFF = {
    "grammar": "off",
    "header": False,
    "repair": False,
    "stop_loops": False,
    "edits": False,
    "max_tokens": 10**6,  # no per-backend cap: the budget's max_tokens, as before
}
ARMS = {
    "before": OFF,
    "after": {},
    "edits": {"edits": True},
    "noheader": {"header": False},
    "nogrammar": {"grammar": "off"},
    "noloops": {"stop_loops": False},
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
) -> list:
    lm = ARMS[arm]
    budgets: dict[str, float] = {"max_tokens": max_tokens} if max_tokens else {}
    if temperature is not None:
        budgets["temperature"] = temperature
    base = load_config(overrides={"lm": lm, "budgets": budgets} if budgets else {"lm": lm})
    backend = make_backend(base.model, base.lm)
    rows = []
    with Sandbox() as sandbox:
        run_dir = RunDir.create(root, f"bench-{arm}")
        store = run_dir.open_store()
        for name in tasks:
            task = get_task(name)
            ctx0 = RunContext(base, backend, sandbox, store)
            scorer = SolutionScorer(ctx0)
            seed_score = scorer.evaluate(
                task.seed_solution, task, "validation", Scope(0, f"{task.name}/seed")
            ).score
            afters, samples, usable, reasons = [], 0, 0, {}
            start = time.perf_counter()
            for s in range(first, first + seeds):
                cfg = base.model_copy(update={"seed": s})
                ctx = RunContext(cfg, backend, sandbox, store)
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
                after = 0.0
                if run.outcome == "ok" and run.returned is not None:
                    after = scorer.evaluate(
                        run.returned, task, "validation", scope.child("final")
                    ).score
                afters.append(after)
                for r in store.query(
                    "SELECT samples, usable, unusable_reasons FROM model_calls WHERE scope = ?",
                    (scope.path,),
                ):
                    samples += r["samples"] or 0
                    usable += r["usable"] or 0
                    add_reasons(reasons, r["unusable_reasons"])
            rows.append(
                {
                    "arm": arm,
                    "task": task.name,
                    "seed": seed_score,
                    "afters": afters,
                    "samples": samples,
                    "usable": usable,
                    "reasons": reasons,
                    "seconds": time.perf_counter() - start,
                }
            )
            print_row(rows[-1])
            sys.stdout.flush()
        store.close()
    close = getattr(backend, "close", None)
    if callable(close):
        close()
    return rows


def print_row(r: dict) -> None:
    a, eps = r["afters"], 1e-9
    worse = sum(x < r["seed"] - eps for x in a)
    better = sum(x > r["seed"] + eps for x in a)
    share = r["usable"] / r["samples"] if r["samples"] else 0.0
    print(
        f"{r['arm']:<9} {r['task']:<12} seed {r['seed']:.3f}  after mean {statistics.fmean(a):.3f}"
        f" min {min(a):.3f} max {max(a):.3f}  worse {worse}/{len(a)} better {better}/{len(a)}"
        f"  usable {r['usable']}/{r['samples']} ({share:.0%})"
        + (f" unusable: {describe(r['reasons'])}" if r["reasons"] else "")
        + f"  [{r['seconds']:.0f} s]"
    )


def summary(rows: list[dict]) -> None:
    print("\n| arm | task | seed | after mean | min | max | worse | better | usable | unusable |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        a, eps = r["afters"], 1e-9
        worse = sum(x < r["seed"] - eps for x in a)
        better = sum(x > r["seed"] + eps for x in a)
        share = f"{r['usable'] / r['samples']:.0%}" if r["samples"] else "-"
        print(
            f"| {r['arm']} | {r['task']} | {r['seed']:.3f} | {statistics.fmean(a):.3f} |"
            f" {min(a):.3f} | {max(a):.3f} | {worse}/{len(a)} | {better}/{len(a)} |"
            f" {share} | {describe(r['reasons']) or '-'} |"
        )
    for arm in dict.fromkeys(r["arm"] for r in rows):
        mine = [r for r in rows if r["arm"] == arm]
        samples = sum(r["samples"] for r in mine)
        usable = sum(r["usable"] for r in mine)
        lowest = min((r["usable"] / r["samples"] for r in mine if r["samples"]), default=0.0)
        improved = sum(any(x > r["seed"] + 1e-9 for x in r["afters"]) for r in mine)
        print(
            f"\n{arm}: usable {usable}/{samples} ({usable / max(samples, 1):.0%}) overall,"
            f" lowest task {lowest:.0%}; tasks improved in at least one seed: {improved}"
            f"/{len(mine)}; seconds {sum(r['seconds'] for r in mine):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated names or files")
    parser.add_argument("--seeds", type=int, default=5, help="sampling seeds per task")
    parser.add_argument("--first-seed", type=int, default=0, help="the first sampling seed")
    parser.add_argument("--arms", default="before,after", help=f"of {', '.join(ARMS)}")
    parser.add_argument("--max-tokens", type=int, default=None, help="override the preset's")
    parser.add_argument("--temperature", type=float, default=None, help="override the preset's")
    parser.add_argument("--records", default=None, help="keep the run records in this folder")
    args = parser.parse_args()
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm {unknown[0]!r}; known: {', '.join(ARMS)}")
    tasks = args.tasks.split(",")
    print(
        f"seed improver once per task on its seed solution, {args.seeds} sampling seeds,"
        f" default preset, embedded model; arms: {', '.join(arms)}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.records or tmp)
        root.mkdir(parents=True, exist_ok=True)
        for arm in arms:
            rows += run_arm(
                arm, tasks, args.seeds, args.max_tokens, root, args.first_seed, args.temperature
            )
    summary(rows)


if __name__ == "__main__":
    main()
