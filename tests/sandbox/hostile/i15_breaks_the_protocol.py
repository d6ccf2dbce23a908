# kind: improver
# expect: error
# events: protocol
def improve_algorithm(initial_solution, utility, language_model):
    # A message of a known op with a field of the wrong type: the worker is ended.
    language_model._channel.tell({'op': 'utility', 'src': ['not', 'a', 'string']})
    return initial_solution
