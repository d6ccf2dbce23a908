"""The seed improver I_0, as source text, and the meta-utility text the model is shown."""

from __future__ import annotations

_SEED = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Ask the model for several rewrites of a program and return the best-scoring one."""
    expertise = (
        "You are a world-class Python programmer and algorithm designer. "
        "You answer with one complete Python program in a single code block."
    )
    message = f"""The program below is scored by the utility function shown after it.
Write a better version of the program.

Current program:
```python
{initial_solution}
```

Utility function:
```python
{utility.str}
```

Answer with the complete improved program. Keep the same function name and arguments,
make a real, non-trivial improvement, and leave out tests and example calls."""
__BODY__'''

_KEEP_INPUT = """    n_samples = min(language_model.max_responses_per_call, utility.budget - 1)
    n_samples = max(1, n_samples)
    responses = language_model.batch_prompt(expertise, [message] * n_samples)
    candidates = [initial_solution] + [code for code in extract_code(responses) if code.strip()]
    return max(candidates, key=utility)
"""

_PAPER = """    n_samples = max(1, min(language_model.max_responses_per_call, utility.budget))
    responses = language_model.batch_prompt(expertise, [message] * n_samples)
    candidates = [code for code in extract_code(responses) if code.strip()]
    if not candidates:
        return initial_solution
    return max(candidates, key=utility)
"""


def seed_improver(*, keep_input: bool = True) -> str:
    """The seed improver. With `keep_input` its input is among the candidates it scores,
    so it never returns something scoring below what it was given."""
    return _SEED.replace("__BODY__", _KEEP_INPUT if keep_input else _PAPER)


def meta_utility_text(
    *, tasks: list[str], runs: int, lm_calls: int, samples_per_call: int, utility_calls: int
) -> str:
    """`utility.str` of the self-improvement step: what the meta-utility computes."""
    names = ", ".join(tasks)
    return f'''from tasks import downstream_tasks  # {names}: each has .utility and .seed_solution
from language_model import LanguageModel


def meta_utility(improve_str: str) -> float:
    """Mean downstream score reached by the improver defined in improve_str.

    improve_str must define improve_algorithm(initial_solution, utility, language_model).
    For each downstream task it runs {runs} times from the task's seed solution; each run
    may call the language model {lm_calls} times ({samples_per_call} samples per call) and
    the task's utility {utility_calls} times. Scores are in [0, 1].
    """
    exec(improve_str, globals())  # defines improve_algorithm
    scores = []
    for task in downstream_tasks:
        for _ in range({runs}):
            language_model = LanguageModel(
                budget={lm_calls}, max_responses_per_call={samples_per_call}
            )
            solution = improve_algorithm(task.seed_solution, task.utility, language_model)
            scores.append(task.utility(solution))
    return sum(scores) / len(scores)
'''
