"""Instance inputs are pickled once per set of input objects and reused by later jobs
(`Sandbox._pickled_inputs`): a job must still get exactly the inputs it was given."""

import numpy as np

ECHO = "def algorithm(x):\n    return x\n"


def _outputs(sandbox, inputs):
    r = sandbox.solve(ECHO, function="algorithm", instances=inputs, instance_timeout=1.0)
    assert r.outcome == "ok", r.message
    return [i.output for i in r.instances]


def test_the_same_inputs_again_give_the_same_outputs(sandbox):
    inputs = [(np.arange(5) * k,) for k in range(4)]
    first = _outputs(sandbox, inputs)
    assert first == [list(range(0, 5 * k, k)) if k else [0] * 5 for k in range(4)]
    assert _outputs(sandbox, list(inputs)) == first  # a new list of the same tuples


def test_fresh_input_objects_are_never_taken_for_earlier_ones(sandbox):
    # Tuples made and dropped in a loop reuse each other's ids in CPython: a cache keyed
    # by id that did not hold its inputs would send an earlier job's values.
    for value in range(30):
        assert _outputs(sandbox, [(value,), (value + 1,)]) == [value, value + 1]


def test_a_subset_of_the_inputs_is_its_own_job(sandbox):
    inputs = [(k,) for k in range(6)]
    assert _outputs(sandbox, inputs) == list(range(6))
    assert _outputs(sandbox, inputs[2:4]) == [2, 3]
    assert _outputs(sandbox, inputs[::-1]) == list(range(5, -1, -1))
