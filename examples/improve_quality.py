"""Improve your own function for quality: a task from Python functions, one improver run.

    python examples/improve_quality.py [MODEL]      # default: the embedded model

MODEL is any model string (`echo`, `openai:...`, `scripted:replies.json`, ...).
"""

import sys

import selftaught


def algorithm(xs):
    """Return the list xs sorted in ascending order."""
    xs = list(xs)
    for i in range(len(xs) - 1):  # one bubble pass: nearly, but not quite, sorted
        if xs[i] > xs[i + 1]:
            xs[i], xs[i + 1] = xs[i + 1], xs[i]
    return xs


def make_instance(rng):
    """Twenty random integers in [0, 100)."""
    xs = [int(x) for x in rng.integers(0, 100, size=20)]
    return (xs,), sorted(xs)


def score(output, answer):
    """The share of positions where the output holds the sorted list's value."""
    if not isinstance(output, list) or len(output) != len(answer):
        return 0.0
    return sum(a == b for a, b in zip(output, answer, strict=True)) / len(answer)


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "local:smollm2"
    task = selftaught.task(
        name="sort-quality", seed_solution=algorithm, make_instance=make_instance, score=score
    )
    print(task.utility_text)  # written from the docstrings and signatures above
    result = selftaught.improve(algorithm, task, model=model, output="runs")
    print(result)  # a small table: input and returned program, validation and held-out
    print(f"validation score: {result.input_validation:.3f} -> {result.validation or 0:.3f}")
    if result.improved:
        print(result.program)
    print(f"records: {result.run_dir}")


if __name__ == "__main__":
    main()
