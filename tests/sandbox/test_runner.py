"""Sandboxed execution: containment basics and budgets enforced outside the program."""

import socket
import threading

from selftaught.program import check_program

ARGS = [(1, 2), (3, 4)]


def _solve(sandbox, body, *, timeout=0.5, header=""):
    src = f"{header}\ndef algorithm(a, b):\n" + "\n".join(
        "    " + line for line in body.splitlines()
    )
    return sandbox.solve(src, function="algorithm", instances=ARGS, instance_timeout=timeout)


def test_outputs_come_back_per_instance(sandbox):
    r = _solve(sandbox, "return [a, b]")
    assert r.outcome == "ok" and [i.output for i in r.instances] == [[1, 2], [3, 4]]


def test_infinite_loop_times_out_without_hanging(sandbox):
    r = _solve(sandbox, "while True:\n    pass", timeout=0.2)
    assert [i.outcome for i in r.instances] == ["timeout", "timeout"]


def test_loop_that_swallows_the_alarm_is_killed(sandbox):
    body = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass"
    r = _solve(sandbox, body, timeout=0.2)
    assert [i.outcome for i in r.instances] == ["timeout", "timeout"]


def test_loop_at_import_time_is_a_timeout(sandbox):
    src = "while True:\n    pass\ndef algorithm(a, b):\n    return 1\n"
    r = sandbox.solve(
        src, function="algorithm", instances=ARGS, instance_timeout=0.2, load_timeout=0.5
    )
    assert r.outcome == "timeout"


def test_os_exit_is_contained(sandbox):
    r = _solve(sandbox, "os._exit(3)", header="import os")
    assert [i.outcome for i in r.instances] == ["killed", "killed"]


def test_memory_bomb_is_contained(sandbox):
    r = _solve(sandbox, "x = bytearray(8 * 1024**3)\nreturn 1")
    assert {i.outcome for i in r.instances} == {"memory"}


def test_no_network_reaches_a_real_listener(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(1.0)
    port = listener.getsockname()[1]
    got = []

    def accept():
        try:
            got.append(listener.accept())
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    r = _solve(
        sandbox,
        f"s = socket.socket()\ns.connect(('127.0.0.1', {port}))\nreturn 1",
        header="import socket",
    )
    t.join()
    listener.close()
    assert not got
    assert {i.outcome for i in r.instances} == {"error"}
    assert any(e["kind"] == "network" for e in r.events)


def test_writes_outside_scratch_are_refused(sandbox, tmp_path):
    target = tmp_path / "escaped.txt"
    r = _solve(sandbox, f"open({str(target)!r}, 'w').write('x')\nreturn 1")
    assert not target.exists()
    assert {i.outcome for i in r.instances} == {"error"}


def test_api_keys_do_not_reach_workers(sandbox, monkeypatch):
    # The fork server was started with a scrubbed environment; a key set now or then is absent.
    r = _solve(
        sandbox,
        "return sorted(k for k in os.environ if 'KEY' in k or 'TOKEN' in k)",
        header="import os",
    )
    assert r.instances[0].output == []


def test_check_program_reports_syntax_and_signature():
    assert "syntax error" in check_program("def f(:", "f")
    assert "does not define" in check_program("x = 1", "algorithm")
    assert "must accept 3" in check_program("def algorithm(a):\n    pass", "algorithm", 3)
    assert check_program("def algorithm(a, b, c=1, *rest):\n    pass", "algorithm", 2) is None
