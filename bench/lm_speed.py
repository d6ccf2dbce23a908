"""(a) Embedded model generation speed through our backend vs llama.cpp's own counters.

Same prompt, same model object: our `LocalBackend.complete` wall time against the time
llama.cpp reports for prompt evaluation plus generation (`llama_perf_context`). Target:
our throughput is at least 90% of llama.cpp's.

    python bench/lm_speed.py [--tokens 128] [--repeats 3]
"""

from __future__ import annotations

import argparse

import llama_cpp

from selftaught.lm.base import Request
from selftaught.lm.local import LocalBackend

PROMPT = (
    "Write a Python function algorithm(train_samples, train_parity, test_samples) that "
    "learns a parity function from noisy samples by trying every subset of bits and "
    "returns predictions for the test samples. Explain nothing, write the code."
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    backend = LocalBackend("smollm2", code_prefill=False)  # no early stop at a fence
    ctx = backend._llm._ctx.ctx
    backend.complete(Request("You write Python.", PROMPT, max_tokens=8, seed=0))  # warm up
    ours_s = theirs_s = 0.0
    tokens = theirs_tokens = 0
    for i in range(args.repeats):
        llama_cpp.llama_perf_context_reset(ctx)
        request = Request("You write Python.", PROMPT, max_tokens=args.tokens, seed=100 + i)
        reply = backend.complete(request)
        perf = llama_cpp.llama_perf_context(ctx)
        ours_s += reply.seconds
        tokens += reply.usage.completion_tokens
        theirs_s += (perf.t_p_eval_ms + perf.t_eval_ms) / 1000
        theirs_tokens += perf.n_eval
    ours = tokens / ours_s
    theirs = theirs_tokens / theirs_s
    print(f"completion tokens: {tokens} (llama.cpp counted {theirs_tokens} decode steps)")
    print(f"through selftaught's backend: {ours:7.1f} tokens/s ({ours_s:.2f} s wall)")
    print(f"llama.cpp's own counters:     {theirs:7.1f} tokens/s ({theirs_s:.2f} s eval)")
    print(f"ratio: {ours / theirs:.1%} (target >= 90%)")


if __name__ == "__main__":
    main()
