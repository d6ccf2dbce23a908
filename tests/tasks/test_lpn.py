import numpy as np
import pytest

from selftaught.errors import UserError
from selftaught.lm import ScriptedBackend
from selftaught.stop import Scope, SolutionScorer
from selftaught.tasks import LearningParityWithNoise, get_task, keys
from selftaught.tasks.lpn import parity_accuracy
from tests.conftest import data
from tests.tasks.helpers import good


class Noiseless(LearningParityWithNoise):
    name = "lpn-noiseless-test"
    noise = 0.0


def _score(make_ctx, task, src, split="validation"):
    ctx = make_ctx(ScriptedBackend([]))
    return SolutionScorer(ctx).evaluate(src, task, split, Scope(0, "test"))


def test_paper_parameters():
    task = LearningParityWithNoise()
    inst = task.instances("validation")[0]
    train, train_parity, test = inst.inputs
    assert train.shape == (100, 10) and train_parity.shape == (100,) and test.shape == (20, 10)
    assert len(task.instances("validation")) == 20 and len(task.instances("heldout")) == 50


def _fingerprint(instance) -> bytes:
    return b"|".join(np.ascontiguousarray(x).tobytes() for x in instance.inputs)


@pytest.mark.parametrize("key", [keys.fresh(), None], ids=["run key", "user key"])
def test_validation_and_heldout_seeds_are_disjoint(key):
    # the instances themselves, as the scorer gets them: no held-out instance is a
    # validation one (nor repeats one of its own split), under a run's key and the user's
    task = LearningParityWithNoise()
    validation = task.instances("validation", key)
    heldout = task.instances("heldout", key)
    assert [i.seed for i in validation] == task.seeds("validation")
    assert [i.seed for i in heldout] == task.seeds("heldout")
    seen = {_fingerprint(i) for i in validation}
    held = {_fingerprint(i) for i in heldout}
    assert len(seen) == 20 and len(held) == 50 and not seen & held


def test_instances_are_reproducible():
    a, b = LearningParityWithNoise(), LearningParityWithNoise()
    for x, y in zip(a.instances("heldout"), b.instances("heldout"), strict=True):
        assert all(np.array_equal(p, q) for p, q in zip(x.inputs, y.inputs, strict=True))
        assert np.array_equal(x.answer, y.answer)


def test_gaussian_elimination_scores_near_one_without_noise(make_ctx):
    ev = _score(make_ctx, Noiseless(), good("parity"))
    assert ev.score > 0.95 and ev.solved == 20


def test_seed_solution_scores_near_half(make_ctx):
    task = LearningParityWithNoise()
    ev = _score(make_ctx, task, task.seed_solution, "heldout")
    assert 0.35 < ev.score < 0.65


def test_bruteforce_scores_near_one_with_noise(make_ctx):
    ev = _score(make_ctx, LearningParityWithNoise(), data("lpn_bruteforce.py"), "heldout")
    assert ev.score > 0.95


@pytest.mark.parametrize(
    "body",
    [
        "return np.tile(test_samples[:, :1], (1, 50))",  # the reference code's shape trick
        "return list(range(1000))",
        "return 'ones'",
        "return None",
        "return [[0, 1]] * 20",
        "return np.full(20, np.nan)",
    ],
)
def test_wrong_shape_or_type_never_scores_above_chance(make_ctx, body):
    src = f"import numpy as np\ndef algorithm(train_samples, train_parity, test_samples):\n    {body}\n"
    ev = _score(make_ctx, LearningParityWithNoise(), src)
    assert 0.0 <= ev.score <= 0.65


def test_accuracy_is_bounded():
    assert parity_accuracy([1] * 20, np.ones(20)) == 1.0
    assert parity_accuracy(np.ones((20, 20)), np.ones(20)) == 0.0
    assert parity_accuracy(np.ones((20, 1)), np.ones(20)) == 1.0


def test_program_that_does_not_define_the_function_is_an_error(make_ctx):
    ev = _score(make_ctx, LearningParityWithNoise(), "def something_else():\n    pass\n")
    assert ev.outcome == "error" and ev.score == 0.0 and "algorithm" in ev.message


def test_unknown_task_suggests_a_name():
    with pytest.raises(UserError, match="did you mean 'lpn'"):
        get_task("lpm")


@pytest.mark.parametrize(
    "output",
    [
        ["1", "0"] * 10,  # strings numpy would read as numbers
        [b"1", b"0"] * 10,
        [2, 0] * 10,  # not 0/1
        [0.5] * 20,
        [[1, 0] * 10, [1, 0] * 10],
    ],
)
def test_predictions_of_the_wrong_type_or_value_score_zero(output):
    answer = np.array([1, 0] * 10)
    assert parity_accuracy(output, answer) == 0.0
    assert get_task("parity").score(output, answer) == 0.0


def test_predictions_as_a_row_or_column_still_count():
    answer = np.array([1, 0] * 10)
    assert parity_accuracy([[1, 0] * 10], answer) == 1.0
    assert parity_accuracy([[1], [0]] * 10, answer) == 1.0
    assert parity_accuracy([True, False] * 10, answer) == 1.0
