# kind: improver
# expect: error
def improve_algorithm(initial_solution, utility, language_model):
    return 42
