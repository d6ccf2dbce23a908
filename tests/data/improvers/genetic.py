from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Genetic algorithm: the model crosses over the two fittest programs each generation."""
    expertise = "You are an expert Python programmer. Answer with one code block."
    population = [(utility(initial_solution), initial_solution)]
    calls_left = utility.budget - 1
    for generation in range(language_model.budget):
        population.sort(key=lambda pair: pair[0], reverse=True)
        mother = population[0][1]
        father = population[1][1] if len(population) > 1 else population[0][1]
        message = (
            "Combine the best ideas of these two programs into one better program.\n"
            f"Parent A:\n```python\n{mother}\n```\n"
            f"Parent B:\n```python\n{father}\n```\n"
            f"They are scored by this utility:\n```python\n{utility.str}\n```"
        )
        n = language_model.max_responses_per_call
        try:
            children = language_model.prompt(expertise, message, n_responses=n, temperature=1.0)
        except Exception:
            break
        for child in extract_code(children):
            if child.strip() and calls_left > 0:
                calls_left -= 1
                population.append((utility(child), child))
    return max(population, key=lambda pair: pair[0])[1]
