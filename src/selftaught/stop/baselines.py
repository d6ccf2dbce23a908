"""Baseline improvers to compare STOP against, as source text like any improver.

`greedy`: hill climbing. It asks for one rewrite of the current best program per model
call and keeps it only if it scores higher, until the model or utility budget is spent.
Same budget as the seed improver, spent sequentially instead of in one batch.
"""

from __future__ import annotations

GREEDY = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Hill climbing: one rewrite of the current best per model call, kept if better."""
    expertise = (
        "You are a world-class Python programmer and algorithm designer. "
        "You answer with one complete Python program in a single code block."
    )
    best = initial_solution
    best_score = utility(best)
    utility_calls = 1
    for _ in range(language_model.budget):
        if utility_calls >= utility.budget:
            break
        message = f"""The program below scores {best_score:.4f} under the utility function
shown after it (higher is better). Write a better version of the program.

Current program:
```python
{best}
```

Utility function:
```python
{utility.str}
```

Answer with the complete improved program. Keep the same function name and arguments,
and leave out tests and example calls."""
        try:
            responses = language_model.prompt(expertise, message, n_responses=1)
        except Exception:
            break
        for code in extract_code(responses):
            if not code.strip() or utility_calls >= utility.budget:
                continue
            score = utility(code)
            utility_calls += 1
            if score > best_score:
                best, best_score = code, score
    return best
'''


def greedy_improver() -> str:
    """The greedy (hill-climbing) baseline improver."""
    return GREEDY
