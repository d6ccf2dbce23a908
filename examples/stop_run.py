"""Run STOP (the improver improves itself) and print the run table.

python examples/stop_run.py [MODEL]      # default: the embedded model, ~5 minutes
"""

import sys

import selftaught


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "local:smollm2"
    result = selftaught.run(model=model, tasks=["lpn"], iterations=1, runs=1, output="runs")
    print(result)  # one row per iteration: validation, held-out, calls, tokens, adopted
    print(f"status: {result.status}; adopted iterations: {result.adopted}")
    recorded = selftaught.open_run(result.run_dir)  # the same run, read back from disk
    print(f"{len(recorded.calls())} model calls, {len(recorded.evaluations())} evaluations")


if __name__ == "__main__":
    main()
