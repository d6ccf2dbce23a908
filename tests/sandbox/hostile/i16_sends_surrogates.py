# kind: improver
# expect: ok
def improve_algorithm(initial_solution, utility, language_model):
    # Lone surrogates and NULs in everything an improver sends: a program to score, a
    # prompt, an event detail, and the program it returns.
    utility('def algorithm(a, b, c):\n    return "\ud800\x00"\n')
    language_model.prompt('\udfff expert\x00', 'improve \ud800 this \x00', n_responses=1)
    language_model._channel.tell({'op': 'event', 'kind': 'tamper', 'detail': '\ud800\x00'})
    return initial_solution + '\n# \ud800 \x00 \x1b]0;title\x07\n'
