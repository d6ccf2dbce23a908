"""The boundary between workers and the orchestrator as a hostile interface: a worker
starts with nothing of anyone else's, nothing it sends can crash, stall or flood the
orchestrator, and its time is bounded (docs/security.md, "The boundary protocol")."""

from __future__ import annotations

import os
import signal
import struct

import pytest

from selftaught.config import Budgets
from selftaught.sandbox import Sandbox, protocol
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.runner import MAX_EVENTS, MAX_HUNG

SCAN = """
import gc, os, sys

def algorithm(x):
    here = os.getcwd()
    base = os.path.dirname(here)
    found = []
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name in ('_Server', '_Job', 'ForkServer'):
            found.append('object ' + name)
        if isinstance(obj, dict):
            items = list(obj.items())[:5000]
            if any(isinstance(k, int) and isinstance(v, str) and v.startswith(base + '/')
                   for k, v in items):
                found.append('a map of pids to scratch paths')
            values = [v for _, v in items]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            values = list(obj)[:5000]
        else:
            continue
        for v in values:
            if isinstance(v, str) and v.startswith(base + '/') and not v.startswith(here):
                found.append('a sibling scratch path')
    for frame in sys._current_frames().values():
        while frame is not None:
            for key, value in frame.f_locals.items():
                if type(value).__name__ in ('_Server', '_Job', 'ForkServer'):
                    found.append('frame local ' + key)
                if key in ('server', 'children', 'settings', 'header') and value:
                    found.append('frame local ' + key)
            frame = frame.f_back
    return sorted(set(found))
"""


def test_a_workers_memory_holds_nothing_of_the_fork_server_or_its_siblings():
    # spares are alive (each with a scratch directory the fork server knows), and two
    # workers run at once: one waits while the other searches its own memory
    with Sandbox(spares=3) as sb:
        for _ in range(3):
            r = sb.solve(SCAN, function="algorithm", instances=[(0,)], instance_timeout=5)
            assert r.instances[0].outcome == "ok", r
            assert r.instances[0].output == [], r.instances[0].output


def test_a_full_scratch_fails_no_other_worker_and_not_the_fork_server():
    fill = (
        "def algorithm(x):\n"
        "    made = 0\n"
        "    try:\n"
        "        while made < 100000:\n"
        "            open(f'f{made}', 'w').close()\n"
        "            made += 1\n"
        "    except OSError:\n"
        "        pass\n"
        "    return made\n"
    )
    with Sandbox(spares=2) as sb:
        if sb.containment["scratch"] != "tmpfs":
            pytest.fail(f"no scratch tmpfs here: {sb.containment}")
        r = sb.solve(fill, function="algorithm", instances=[(0,)], instance_timeout=20)
        made = r.instances[0].output
        assert 0 < made < Limits().scratch_inodes + 1, r  # its own tmpfs filled, nothing more
        for _ in range(5):  # and every worker after it still gets a scratch of its own
            r = sb.solve(fill, function="algorithm", instances=[(0,)], instance_timeout=20)
            assert r.instances[0].output == made, r
        assert sb.restarts == 0


def test_a_fork_server_that_dies_is_restarted_and_the_job_that_needed_it_records_it():
    with Sandbox(spares=1) as sb:
        os.kill(sb.server._proc.pid, signal.SIGKILL)
        sb.server._proc.wait()
        r = sb.solve(
            "def f(x):\n    return x\n", function="f", instances=[(1,)], instance_timeout=5
        )
        assert r.instances[0].output == 1, r
        assert sb.restarts == 1
        assert [e["kind"] for e in r.events] == ["sandbox_restart"]
        assert r.events[0]["source"] == "orchestrator"


def test_an_evaluation_stops_after_a_few_hung_instances_in_a_row():
    hang = (
        "def f(x):\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except BaseException:\n"
        "            pass\n"
    )
    with Sandbox(spares=0) as sb:
        r = sb.solve(hang, function="f", instances=[(i,) for i in range(20)], instance_timeout=0.2)
    assert [i.outcome for i in r.instances] == ["timeout"] * 20
    not_run = [i for i in r.instances if i.message.startswith("not run")]
    assert len(not_run) == 20 - MAX_HUNG
    assert "hung_instances" in [e["kind"] for e in r.events]


class _Broker:
    """Serves an improver's utility calls with real sandboxed evaluations."""

    def __init__(self, sb: Sandbox, program: str) -> None:
        self.sb, self.program, self.calls = sb, program, 0

    def utility(self, src: str) -> float:
        self.calls += 1
        self.sb.solve(
            self.program, function="f", instances=[(i,) for i in range(5)],
            instance_timeout=0.5, load_timeout=0.5,
        )  # fmt: skip
        return 0.0

    def language_model(self, system, messages, temperature):  # pragma: no cover - unused
        return {"ok": False, "error": "budget", "message": "none"}


IMPROVER = """
def improve_algorithm(initial_solution, utility, language_model):
    for _ in range(25):
        utility(initial_solution)
    return initial_solution
"""

SLOW_LOAD = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n"


@pytest.mark.parametrize("charged", [True, False], ids=["charged", "not charged"])
def test_an_improvers_clock_counts_the_evaluations_it_asks_for(charged):
    # each utility call is an evaluation whose program hangs while loading (alarms
    # swallowed): about 1.5 s each, so 25 of them cannot fit in a 2 s clock that counts
    # them, and all 25 are served when they are not charged
    with Sandbox() as sb:
        broker = _Broker(sb, SLOW_LOAD)
        result = sb.improve(
            IMPROVER,
            initial_solution="def f(x):\n    return x\n",
            utility_str="",
            budgets=Budgets(lm_calls=1, utility_calls=25, samples_per_call=1),
            broker=broker,
            timeout=2.0,
            charge_utility_time=charged,
        )
    if charged:
        assert result.outcome == "timeout" and "evaluations" in result.message, result
        assert broker.calls < 25
    else:
        assert result.outcome == "ok", result
        assert broker.calls == 25


def _raw(sb: Sandbox, payloads: list[bytes]):
    """An improver that writes raw frames on its socket: what the orchestrator gets."""
    src = (
        "import gc, socket, struct\n"
        f"PAYLOADS = {payloads!r}\n"
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    sock = language_model._channel._sock\n"
        "    for p in PAYLOADS:\n"
        "        sock.sendall(struct.pack('!I', len(p)) + p)\n"
        "    import time; time.sleep(5)\n"
        "    return initial_solution\n"
    )
    return sb.improve(
        src,
        initial_solution="def f(x):\n    return x\n",
        utility_str="",
        budgets=Budgets(lm_calls=1, utility_calls=1, samples_per_call=1),
        broker=_Broker(sb, "def f(x):\n    return x\n"),
        timeout=20.0,
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2, 3]",
        b'{"op": "shell"}',
        b'{"op": "result", "value": 7}',
        b'{"op": "result", "value": "x", "extra": 1}',
        b'{"op": "lm", "messages": [1, 2]}',
        b'{"op": "utility"}',
        b'{"op": "event", "kind": "made_up", "detail": "x"}',
        b'{"op": "result", "value": "x", "events": "many"}',
        b'{"op": "result", "value": "x", "events": [{"kind": "gc", "x": 1}]}',
        b"[" * 100000 + b"]" * 100000,
        b'{"op": "result", "value": "x", "events": [{"kind": {}}]}',
        b'{"op": "result", "value": "x", "events": [{"kind": ["gc"], "detail": 1}]}',
        b'{"op": "event", "kind": [], "detail": "x"}',
        b"\xff\xfe invalid utf-8",
    ],
)
def test_a_message_that_breaks_the_protocol_ends_the_worker_and_is_recorded(payload):
    with Sandbox(spares=0) as sb:
        result = _raw(sb, [payload])
        assert result.outcome == "error" and "protocol" in result.message, result
        assert [e["kind"] for e in result.events] == ["protocol"]
        r = sb.solve(
            "def f(x):\n    return x\n", function="f", instances=[(1,)], instance_timeout=5
        )
        assert r.instances[0].output == 1


def test_an_oversized_message_is_refused_before_it_is_read_whole():
    with Sandbox(spares=0) as sb:
        header = struct.pack("!I", protocol.MAX_IMPROVER_MESSAGE + 1)
        src = (
            "import struct\n"
            "def improve_algorithm(initial_solution, utility, language_model):\n"
            f"    language_model._channel._sock.sendall({header!r} + b'x' * 1000)\n"
            "    import time; time.sleep(5)\n"
            "    return initial_solution\n"
        )
        result = sb.improve(
            src,
            initial_solution="",
            utility_str="",
            budgets=Budgets(lm_calls=1, utility_calls=1, samples_per_call=1),
            broker=_Broker(sb, ""),
            timeout=20.0,
        )
    assert result.outcome == "error" and "too large" in result.message
    assert [e["kind"] for e in result.events] == ["oversized_message"]


def test_worker_events_are_claims_capped_per_job_and_cut_on_receipt():
    flood = [{"kind": "answer_access", "detail": "y" * 5000}] * 3 * MAX_EVENTS
    payload = protocol.encode({"op": "result", "value": "done", "events": flood})
    with Sandbox(spares=0) as sb:
        result = _raw(sb, [payload])
    assert result.outcome == "ok" and result.value == "done", result
    claims = [e for e in result.events if e["source"] == "worker"]
    assert len(claims) == MAX_EVENTS
    assert all(len(e["detail"]) <= protocol.MAX_DETAIL for e in claims)
    (dropped,) = [e for e in result.events if e["source"] == "orchestrator"]
    assert dropped["kind"] == "events_dropped" and str(2 * MAX_EVENTS) in dropped["detail"]


def test_text_a_worker_sends_arrives_as_text_that_encodes():
    # lone surrogates and NULs in a returned program, escaped in JSON as any encoder does
    payload = b'{"op": "result", "value": "a\\ud800b\\u0000c\\udfff"}'
    with Sandbox(spares=0) as sb:
        result = _raw(sb, [payload])
    assert result.outcome == "ok", result
    assert result.value == "a\ufffdb\ufffdc\ufffd"
    result.value.encode("utf-8")


CORPUS = os.path.join(os.path.dirname(__file__), "hostile")


@pytest.mark.parametrize("confine", [True, False], ids=["landlock", "hooks only"])
@pytest.mark.parametrize("name", ["s38_finds_sibling_scratch", "s39_dir_fd_and_metadata"])
def test_routes_to_other_files_are_refused_and_recorded_with_and_without_landlock(
    name, confine, tmp_path
):
    other = tmp_path / "other-run" / "records.sqlite"
    other.parent.mkdir()
    other.write_bytes(b"answers of another run")
    outside = tmp_path / "outside.txt"
    with open(os.path.join(CORPUS, f"{name}.py")) as f:
        src = f.read().replace("{OTHER_RUN}", str(other)).replace("{OUTSIDE}", str(outside))
    with Sandbox(spares=2, confine=confine) as sb:
        assert sb.containment["filesystem"].startswith("landlock") == confine
        r = sb.solve(src, function="algorithm", instances=[((), (), ())], instance_timeout=5)
    (instance,) = r.instances
    assert instance.outcome == "ok", r
    assert instance.output in ("nothing found", "[]"), instance.output
    kinds = {e["kind"] for e in r.events}
    assert kinds & {"path_escape", "read_outside_roots", "proc_read"}, kinds
    assert not outside.exists()


def test_an_event_message_keeps_no_more_than_a_cut_detail():
    payloads = [
        protocol.encode({"op": "event", "kind": "tamper", "detail": "z" * 3_000_000}),
        protocol.encode({"op": "result", "value": "done"}),
    ]
    with Sandbox(spares=0) as sb:
        result = _raw(sb, payloads)
    assert result.outcome == "ok", result
    assert [len(e["detail"]) for e in result.events] == [protocol.MAX_DETAIL]


AMPLIFIER = """
import struct, sys, time

def algorithm(i):
    caller = sys._getframe(1).f_locals
    sock = caller["channel"]._sock
    for index in caller["job"]["indices"]:
        head = b'{"op":"instance","i":%d,"seconds":0.0,"output":[' % index
        body = head + BODY + b']}'
        sock.sendall(struct.pack("!I", len(body)) + body)
    time.sleep(3600)
"""


@pytest.mark.parametrize(
    "body",
    ["b'{},' * 5_000_000 + b'{}'", "b'0,' * 2_000_000 + b'0'", "b'[[[{\"a\": 1}]]]'"],
    ids=["5 M objects", "2 M numbers", "an object"],
)
def test_no_output_a_worker_writes_past_its_own_checks_grows_the_orchestrator(body):
    # written straight to the socket, around the worker's own output checks: refused
    # before it is parsed (too many values) or by the schema (not plain data), and the
    # worker is ended; the orchestrator's memory never holds millions of values
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Sandbox(spares=0) as sb:
        r = sb.solve(
            AMPLIFIER.replace("BODY", body), function="algorithm",
            instances=[(i,) for i in range(4)], instance_timeout=5,
        )  # fmt: skip
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.outcome == "ok" and {i.outcome for i in r.instances} == {"error"}, r
    assert {e["kind"] for e in r.events} & {"oversized_message", "protocol"}
    assert grown_mb < 200, f"the orchestrator grew by {grown_mb:.0f} MB"


def test_the_outputs_of_one_evaluation_are_bounded_in_all():
    # each message within its own caps, but together past the evaluation's bound
    from selftaught.sandbox.runner import MAX_OUTPUT_BYTES

    each = 8 * 1024 * 1024
    program = f"def algorithm(i):\n    return 'x' * {each}\n"
    n = MAX_OUTPUT_BYTES // each + 3
    with Sandbox(spares=0) as sb:
        r = sb.solve(program, function="algorithm", instances=[(i,) for i in range(n)],
                     instance_timeout=5)  # fmt: skip
    outcomes = [i.outcome for i in r.instances]
    assert outcomes.count("ok") == MAX_OUTPUT_BYTES // each
    assert all(o == "error" for o in outcomes[MAX_OUTPUT_BYTES // each :]), outcomes
    assert "oversized_message" in {e["kind"] for e in r.events}


def test_no_program_holds_the_instance_inputs_while_it_loads():
    # work on the inputs at load time would run outside every instance's time limit
    program = (
        "import gc, sys\n"
        "MARK = ''.join(['SECRET', '-INPUT'])\n"
        "def holds(v, depth=0):\n"
        "    if isinstance(v, str):\n"
        "        return v == MARK\n"
        "    if isinstance(v, (bytes, bytearray)):\n"
        "        return MARK.encode() in v\n"
        "    if depth > 3 or v is globals():\n"
        "        return False\n"
        "    if isinstance(v, dict):\n"
        "        v = list(v.values())\n"
        "    if isinstance(v, (list, tuple)):\n"
        "        return any(holds(x, depth + 1) for x in v[:1000])\n"
        "    return False\n"
        "SEEN = []\n"
        "frame = sys._getframe()\n"
        "while frame is not None:\n"
        "    SEEN += ['frame ' + k for k, v in list(frame.f_locals.items())\n"
        "             if k != 'MARK' and v is not globals() and holds(v)]\n"
        "    frame = frame.f_back\n"
        "for o in gc.get_objects():\n"
        "    if isinstance(o, (tuple, list, dict, bytes, bytearray)) and o is not SEEN \\\n"
        "            and o is not globals() and holds(o):\n"
        "        SEEN.append(type(o).__name__)\n"
        "def algorithm(x):\n"
        "    return SEEN\n"
    )
    with Sandbox(spares=0) as sb:
        r = sb.solve(
            program, function="algorithm", instances=[("SECRET-INPUT",)], instance_timeout=5
        )
    assert r.instances[0].outcome == "ok", r
    assert r.instances[0].output == [], r.instances[0].output


def test_a_worker_is_told_no_path_it_may_not_read():
    # the orchestrator's own import path (its working folder, the project) stays with it
    from selftaught.sandbox.limits import may_read, read_roots

    src = (
        "import os, sys\n"
        "def algorithm(x):\n"
        "    paths = os.environ.get('PYTHONPATH', '').split(os.pathsep)\n"
        "    return [p for p in paths + sys.path + list(sys.path_importer_cache) if p]\n"
    )
    with Sandbox(spares=0) as sb:
        r = sb.solve(src, function="algorithm", instances=[(0,)], instance_timeout=5)
    roots, excluded = read_roots()
    told = r.instances[0].output
    assert told and all(may_read(os.path.realpath(p), roots, excluded) for p in told), told


def test_a_protocol_error_does_not_quote_the_worker():
    payload = b'{"op": "hung_instances: not run: 3 in a row hung"}'
    with Sandbox(spares=0) as sb:
        result = _raw(sb, [payload])
    (event,) = result.events
    assert event["source"] == "orchestrator" and "hung" not in event["detail"], event


def test_the_values_of_one_evaluations_outputs_are_bounded_in_all():
    from selftaught.sandbox.runner import MAX_OUTPUT_VALUES

    each = 900_000  # under the per-message bound; three of them pass the evaluation's
    program = f"def algorithm(i):\n    return [0] * {each}\n"
    with Sandbox(spares=0) as sb:
        r = sb.solve(program, function="algorithm", instances=[(i,) for i in range(4)],
                     instance_timeout=5)  # fmt: skip
    outcomes = [i.outcome for i in r.instances]
    # the instance whose output crosses the bound is kept; the worker goes, the rest fail
    assert outcomes == ["ok"] * (MAX_OUTPUT_VALUES // each + 1) + ["error"], outcomes


def test_an_output_that_cannot_be_sent_is_an_error_of_its_instance_not_a_dead_worker():
    program = "def algorithm(i):\n    return [10 ** 5000] if i == 0 else [complex(1, 2)] if i == 1 else [i]\n"
    with Sandbox(spares=0) as sb:
        r = sb.solve(program, function="algorithm", instances=[(0,), (1,), (2,)],
                     instance_timeout=5)  # fmt: skip
    assert [i.outcome for i in r.instances] == ["error", "error", "ok"], r
    assert "could not be sent" in r.instances[0].message
    assert "complex" in r.instances[1].message


COUNT = """
import os
def algorithm(x):
    here = os.listdir('.')
    open('left-by-the-last-worker', 'w').write('x')
    v = os.statvfs(os.path.dirname(os.getcwd()))
    return [v.f_files - v.f_ffree, here]
"""


def test_nothing_a_worker_sees_of_the_scratch_base_counts_the_others_or_holds_their_files():
    # statvfs of the base (not governed by Landlock) used to count the live workers
    with Sandbox(spares=0) as sb:
        alone = sb.solve(COUNT, function="algorithm", instances=[(0,)], instance_timeout=5)
    with Sandbox(spares=4) as sb:
        crowded = [
            sb.solve(COUNT, function="algorithm", instances=[(0,)], instance_timeout=5)
            for _ in range(4)
        ]
    assert alone.instances[0].output[1] == []
    for r in crowded:  # the same count, and each scratch (slots are reused) starts empty
        assert r.instances[0].output == alone.instances[0].output, r
