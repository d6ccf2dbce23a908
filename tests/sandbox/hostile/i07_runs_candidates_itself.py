# kind: improver
# expect: ok
# events: exec
def improve_algorithm(initial_solution, utility, language_model):
    namespace = {}
    exec(initial_solution, namespace)
    return initial_solution
