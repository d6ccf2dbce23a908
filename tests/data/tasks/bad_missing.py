description = "No scorer and no seed."
utility_text = "def utility(s): return 0.0"


def make_instance(rng):
    return (1,), 1
