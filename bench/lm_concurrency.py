"""(b) One meta-utility evaluation against a slow local server (200 ms per response),
sequential (1 request in flight, 1 improver run at a time) vs concurrent (8 and 8).

The server is the tests' fake OpenAI API on 127.0.0.1; it answers with the prompt's first
program and takes no `n`, so each sample is its own request. Target: >= 6x faster.

    python bench/lm_concurrency.py [--latency 0.2] [--runs 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selftaught.assembly import Shared, assemble  # noqa: E402
from selftaught.config import load_config  # noqa: E402
from selftaught.stop import seed_improver  # noqa: E402
from selftaught.stop.context import Scope  # noqa: E402
from selftaught.stop.meta_utility import MetaUtility  # noqa: E402
from selftaught.stop.solutions import SolutionScorer  # noqa: E402
from selftaught.tasks import get_task  # noqa: E402
from tests.servers.fake_api import FakeAPI  # noqa: E402


def one_evaluation(api: FakeAPI, shared: Shared, out: Path, *, width: int, runs: int) -> float:
    cfg = load_config(
        overrides={
            "model": "openai:fake-model",
            "runs": runs,
            "parallel": width,
            "output": str(out),
            "budgets": {"lm_calls": 1, "samples_per_call": 6, "utility_calls": 7},
            "lm": {"base_url": api.url, "concurrency": width},
        }
    )
    with assemble(cfg, record=f"width{width}", kind="bench", shared=shared) as asm:
        ctx = asm.context
        meta = MetaUtility(ctx, [get_task("lpn")], SolutionScorer(ctx))
        start = time.perf_counter()
        meta.evaluate(seed_improver(), Scope(0, "bench"), heldout=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--out", default="/tmp/selftaught-bench")
    args = parser.parse_args()
    out = Path(args.out)
    with FakeAPI(latency=args.latency, supports_n=False) as api, Shared() as shared:
        for width in (1, 8):  # warm up each width's fork server (its own run bounds)
            one_evaluation(api, shared, out, width=width, runs=1)
        api.requests.clear()
        sequential = one_evaluation(api, shared, out, width=1, runs=args.runs)
        requests = len(api.requests)
        api.max_in_flight = 0
        concurrent = one_evaluation(api, shared, out, width=8, runs=args.runs)
        peak = api.max_in_flight
    print(f"one meta-utility evaluation: {args.runs} improver runs, {requests} requests,")
    print(f"  {args.latency * 1000:.0f} ms per response")
    print(f"sequential (1 in flight):  {sequential:6.2f} s")
    print(f"concurrent (8 in flight):  {concurrent:6.2f} s (peak {peak} in flight)")
    print(f"speed-up: {sequential / concurrent:.1f}x (target >= 6x)")


if __name__ == "__main__":
    main()
