# kind: improver
# expect: ok
def improve_algorithm(initial_solution, utility, language_model):
    # Numbers too large for a float, sent past the proxy's own float(): valid JSON, an int
    # of the schema's type, and an OverflowError wherever the orchestrator converts it.
    try:
        language_model._channel.call(
            {'op': 'lm', 'system': 's', 'messages': ['hi'], 'temperature': 10**400}
        )
    except Exception:
        pass
    return initial_solution
