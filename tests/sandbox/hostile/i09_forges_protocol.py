# kind: improver
# expect: error
def improve_algorithm(initial_solution, utility, language_model):
    language_model._channel.tell({'op': 'result', 'value': 123})
    return initial_solution
