from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Beam search: keep the best few programs, ask the model to improve each, repeat."""
    expertise = "You are an expert Python programmer. Answer with one code block."
    beam_width = 2
    scored = [(utility(initial_solution), initial_solution)]
    calls_left = utility.budget - 1
    for _ in range(language_model.budget):
        beam = sorted(scored, key=lambda pair: pair[0], reverse=True)[:beam_width]
        per_parent = max(1, language_model.max_responses_per_call // len(beam))
        messages = []
        for score, program in beam:
            message = (
                f"This program scores {score:.3f} under the utility below.\n"
                f"```python\n{program}\n```\n"
                f"Utility:\n```python\n{utility.str}\n```\n"
                "Write an improved version of the program."
            )
            messages.extend([message] * per_parent)
        try:
            responses = language_model.batch_prompt(expertise, messages, temperature=0.8)
        except Exception:
            break
        for code in extract_code(responses):
            if code.strip() and calls_left > 0:
                calls_left -= 1
                scored.append((utility(code), code))
    return max(scored, key=lambda pair: pair[0])[1]
