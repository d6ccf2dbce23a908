# kind: improver
# expect: ok
# events: utility_extra_args
def improve_algorithm(initial_solution, utility, language_model):
    utility(initial_solution, use_sandbox=False)
    return initial_solution
