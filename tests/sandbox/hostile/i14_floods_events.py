# kind: improver
# expect: ok
# max_events: 210
def improve_algorithm(initial_solution, utility, language_model):
    # Events of known kinds, forged, as many and as large as the protocol lets through.
    channel = language_model._channel
    big = 'x' * 1_000_000
    for _ in range(40):
        channel.tell({'op': 'event', 'kind': 'answer_access', 'detail': big})
    forged = [{'kind': 'answer_access', 'detail': 'forged'}] * 50000
    channel.tell({'op': 'event', 'kind': 'answer_access', 'detail': 'x', 'events': forged})
    return initial_solution
