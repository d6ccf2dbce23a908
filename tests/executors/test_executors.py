"""The executor interface without Ray: ordered parallel map, choice and errors, replay."""

import subprocess
import sys
import threading

import pytest

from selftaught.assembly import NoSandbox, assemble
from selftaught.config import load_config
from selftaught.errors import UserError
from selftaught.executors import LocalExecutor, check_executor, make_executor, thread_map
from selftaught.executors.ray_executor import _Replay
from selftaught.lm import ScriptedBackend
from selftaught.stop import RunContext


def test_map_keeps_item_order_and_runs_items_at_once():
    running = threading.Barrier(4, timeout=30)  # breaks unless all four run at once
    finished: list[int] = []
    others_done = threading.Event()
    lock = threading.Lock()

    def square(x):
        running.wait()
        if x == 0:  # the first item finishes last
            assert others_done.wait(timeout=30)
        with lock:
            finished.append(x)
            if len(finished) == 3:
                others_done.set()
        return x * x

    assert LocalExecutor(max_workers=4).map(square, range(4)) == [0, 1, 4, 9]
    assert finished[-1] == 0


def test_map_width_is_bounded():
    running, peak = 0, 0
    three_in = threading.Condition()

    def work(_):
        nonlocal running, peak
        with three_in:
            running += 1
            peak = max(peak, running)
            three_in.notify_all()
            # no item ends before three ran at once, however slowly threads start
            assert three_in.wait_for(lambda: peak >= 3, timeout=30), "never three at once"
            running -= 1

    LocalExecutor(max_workers=8).map(work, range(12), max_workers=3)
    assert peak == 3  # reached, never passed


def test_nested_maps_do_not_starve_each_other():
    ex = LocalExecutor(max_workers=2)
    assert ex.map(lambda i: sum(ex.map(lambda j: i * j, range(3))), range(3)) == [0, 3, 6]


def test_map_raises_the_first_error():
    def fail_on_two(x):
        if x == 2:
            raise ValueError("two")
        return x

    with pytest.raises(ValueError, match="two"):
        thread_map(fail_on_two, range(4), max_workers=2)
    assert thread_map(fail_on_two, [], max_workers=2) == []


def test_a_run_context_has_no_defaults_and_gets_its_executor_from_the_config(tmp_path):
    """Built by hand, a context would run with other limits than a real run: it takes no
    executor or key of its own choosing; `assemble` gives them from the config."""
    cfg = load_config(overrides={"model": "echo", "parallel": 3, "output": str(tmp_path)})
    with pytest.raises(TypeError, match="executor"):
        RunContext(cfg, ScriptedBackend([]), NoSandbox(), None)  # type: ignore[call-arg, arg-type]
    with assemble(cfg, uses_model=False, uses_sandbox=False) as asm:
        executor = asm.context.executor
        assert isinstance(executor, LocalExecutor) and executor.max_workers == 3
        assert asm.context.instance_key.source == "user"


def test_executor_choice_errors_are_user_errors(monkeypatch):
    with pytest.raises(UserError, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(UserError, match="only used with --executor ray"):
        check_executor("local", "auto")
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UserError, match=r"pip install 'selftaught\[ray\]'"):
        check_executor("ray")


def test_missing_ray_is_one_line_and_exit_code_2(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from selftaught.cli import main\n"
        "main(['run', '--executor', 'ray', '--model', 'scripted:x.json'])\n"
    )
    (tmp_path / "x.json").write_text('["no code"]')
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'selftaught[ray]'" in lines[0], result.stderr
    assert not (tmp_path / "runs").exists()


class CountingBroker:
    def __init__(self):
        self.calls = []

    def utility(self, src):
        self.calls.append(("utility", src))
        return float(len(src))

    def language_model(self, system, messages, temperature):
        self.calls.append(("lm", messages[0]))
        return {"ok": True, "responses": [m.upper() for m in messages]}


def test_a_retried_attempt_replays_what_the_lost_one_was_served():
    broker, log = CountingBroker(), []
    first = _Replay(broker, log)
    assert first.serve("lm", {"system": "s", "messages": ["a"], "temperature": 0.7})["ok"]
    assert first.serve("utility", {"src": "xyz"}) == 3.0
    assert len(broker.calls) == 2
    # The host died; the next attempt asks the same things, then something new.
    second = _Replay(broker, log)
    assert second.serve("lm", {"system": "s", "messages": ["a"], "temperature": 0.7}) == {
        "ok": True,
        "responses": ["A"],
    }
    assert second.serve("utility", {"src": "xyz"}) == 3.0
    assert second.serve("utility", {"src": "four"}) == 4.0
    assert second.replayed == 2 and len(broker.calls) == 3
    # An attempt that goes another way is served live from where it diverges.
    third = _Replay(broker, log)
    third.serve("lm", {"system": "s", "messages": ["a"], "temperature": 0.7})
    assert third.serve("utility", {"src": "other"}) == 5.0
    assert third.replayed == 1 and len(broker.calls) == 4
    assert len(log) == 2
