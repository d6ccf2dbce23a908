# kind: improver
# expect: timeout
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        pass
