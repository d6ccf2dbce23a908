from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Temperature annealing: start sampling hot for diversity, cool down to refine."""
    expertise = "You are an expert Python programmer. Answer with one code block."
    best, best_score = initial_solution, utility(initial_solution)
    calls_left = utility.budget - 1
    rounds = language_model.budget
    for r in range(rounds):
        temperature = 1.2 - 0.9 * r / max(1, rounds - 1)
        message = (
            f"Improve this program (current score {best_score:.3f}):\n"
            f"```python\n{best}\n```\n"
            f"Utility:\n```python\n{utility.str}\n```"
        )
        batch = [message] * language_model.max_responses_per_call
        try:
            responses = language_model.batch_prompt(expertise, batch, temperature=temperature)
        except Exception:
            break
        for code in extract_code(responses):
            if code.strip() and calls_left > 0:
                calls_left -= 1
                score = utility(code)
                if score > best_score:
                    best, best_score = code, score
    return best
