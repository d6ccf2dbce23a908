"""Make your own function faster while it stays correct: a speed task.

    python examples/make_faster.py [MODEL]      # default: the embedded model

The score is the share of correct answers times T0 / (T0 + T), with T0 and T the CPU
seconds per instance of your function and of the candidate (the seed scores about 0.5;
see docs/api.md). Your own slow function is the reference that computes the answers.
"""

import sys

import selftaught


def count_primes(n):
    """The number of primes below n, by trial division."""
    count = 0
    for k in range(2, n):
        if all(k % d for d in range(2, k)):
            count += 1
    return count


def make_instance(rng):
    """One argument: n between 1500 and 2500."""
    return (int(rng.integers(1500, 2500)),)


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "local:smollm2"
    task = selftaught.task(
        name="fast-primes",
        seed_solution=count_primes,
        make_instance=make_instance,
        reference=count_primes,
        objective="speed",
        n_validation=5,
        n_heldout=5,
        instance_timeout=20.0,
    )
    print(selftaught.score(count_primes, task))  # the seed itself: about 0.5
    result = selftaught.improve(count_primes, task, model=model, output="runs")
    print(result)
    print(f"speed score: {result.input_validation:.3f} -> {result.validation or 0:.3f}")
    if result.improved:
        print(result.program)


if __name__ == "__main__":
    main()
