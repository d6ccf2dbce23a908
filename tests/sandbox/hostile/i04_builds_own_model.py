# kind: improver
# expect: ok
# events: bypass_broker
def improve_algorithm(initial_solution, utility, language_model):
    try:
        from selftaught.lm.registry import make_backend
        backend = make_backend('local:smollm2')
        return str(backend.complete('hi'))
    except Exception:
        return initial_solution
