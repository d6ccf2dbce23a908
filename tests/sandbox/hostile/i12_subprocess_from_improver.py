# kind: improver
# expect: ok
# events: subprocess
import subprocess


def improve_algorithm(initial_solution, utility, language_model):
    try:
        subprocess.run(['python', '-c', 'print(1)'])
    except Exception:
        pass
    return initial_solution
