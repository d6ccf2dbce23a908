# kind: improver
# expect: ok
# events: utility_over_budget
def improve_algorithm(initial_solution, utility, language_model):
    scores = [utility(initial_solution) for _ in range(40)]
    return initial_solution if scores[-1] == 0.0 else 'def algorithm(): pass'
