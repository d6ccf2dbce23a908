"""The hostile corpus: every program in hostile/ runs through the real sandbox.

Each file starts with a header: `# kind:` (solution or improver), `# expect:` (the outcome,
or alternatives separated by `|`), optionally `# events:` (audit event kinds that must be
recorded), `# score_below:` (the real score of a solution must stay below it) and
`# max_events:` (most event rows it may leave), `# returns:` (what a program that looks for something it must not find returns when it
finds nothing: a Python literal every instance's output must equal, or an improver's
returned text). For each program the test asserts: it was contained (no file outside
scratch changed, the listener on 127.0.0.1 received nothing, no budget was exceeded), the
orchestrator and its sandbox are alive, the run's records are intact, and the outcome and
events were recorded.

hostile/answers/ holds answer thieves: programs that rebuild the instances and their
answers (import the task, read its source and exec it, replay the public seeds with a
copied generator, look through the worker's memory), as solutions and as improvers. Each
runs on a built-in task (3-SAT: an input-ignoring program solves nothing) and on a user
task file (tests/data/tasks/coins.py: one scores 0.5), and must score no better than a
program that ignores its inputs.
"""

from __future__ import annotations

import ast
import hashlib
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from selftaught.lm import ScriptedBackend
from selftaught.sandbox import Sandbox, protocol
from selftaught.stop import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.store import RunDir
from selftaught.store.db import program_hash
from selftaught.tasks import get_task, keys
from selftaught.tasks.lpn import LearningParityWithNoise
from tests.conftest import DATA

CORPUS = Path(__file__).parent / "hostile"
PROGRAMS = sorted(CORPUS.glob("*.py"))
THIEVES = sorted((CORPUS / "answers").glob("*.py"))
COINS = DATA / "tasks" / "coins.py"
IGNORES_INPUTS = {"3sat": "[0] + [1] * 30", "coins": "[0] * 32"}
"""What each thief returns when it finds no answer: the same for every input."""
SECRET = "sk-hostile-corpus-secret"
LM_BUDGET, UTILITY_BUDGET = 2, 5


class SmallLPN(LearningParityWithNoise):
    """Three validation instances and a short time limit, so timeouts stay cheap."""

    n_validation = 3
    instance_timeout = 0.4


def header(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        fields[key.strip()] = value.strip()
    return fields


class Listener:
    """A real TCP listener on 127.0.0.1 that records anything that reaches it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.received.append(addr)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()
    assert not lst.received, "a sandboxed program reached the listener on 127.0.0.1"


class RecordingSandbox:
    """The session sandbox, keeping the last raw result so the test can inspect outputs."""

    def __init__(self, sandbox) -> None:
        self._sandbox = sandbox
        self.last = None

    def solve(self, *args, **kwargs):
        self.last = self._sandbox.solve(*args, **kwargs)
        return self.last

    def improve(self, *args, **kwargs):
        self.last = self._sandbox.improve(*args, **kwargs)
        return self.last


def test_corpus_holds_every_program():
    kinds = [header(p)["kind"] for p in PROGRAMS]
    assert len(PROGRAMS) == 64 and kinds.count("improver") == 17
    thieves = [header(p)["kind"] for p in THIEVES]
    assert len(THIEVES) == 8 and thieves.count("improver") == 4


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_hostile_program_is_contained(path, make_ctx, sandbox, listener, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fields = header(path)
    outside = tmp_path / "outside" / "escaped.txt"
    outside.parent.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    other_run = tmp_path / "other-run" / "records.sqlite"
    other_run.parent.mkdir()
    other_run.write_bytes(b"SQLite format 3\0 answers of another run")
    src = path.read_text()
    ctx_key = keys.fresh()
    for key, value in {
        "{KEY_SHA}": hashlib.sha256(ctx_key.secret).hexdigest(),
        "{KEY_HEX_SHA}": hashlib.sha256(ctx_key.secret.hex().encode()).hexdigest(),
        "{OUTSIDE}": str(outside),
        "{VICTIM}": str(victim),
        "{OTHER_RUN}": str(other_run),
        "{PORT}": str(listener.port),
        "{ORCH_PID}": str(os.getpid()),
        "{UNDER}": str(SmallLPN.instance_timeout * 0.4),
        "{OVER}": str(SmallLPN.instance_timeout + 0.3),
    }.items():
        src = src.replace(key, value)

    evaluated: list[str] = []

    def responder(request, index):
        return "```python\ndef algorithm(a, b, c):\n    return [0] * len(c)\n```"

    backend = ScriptedBackend(responder)
    ctx = make_ctx(
        backend,
        budgets={"lm_calls": LM_BUDGET, "utility_calls": UTILITY_BUDGET, "samples_per_call": 2},
        sandbox={"improver_timeout": 2.0},
    )
    ctx.instance_key = ctx_key
    recorder = RecordingSandbox(sandbox)
    ctx.sandbox = recorder
    scope = Scope(0, f"hostile/{path.stem}")
    task = SmallLPN()
    digest = program_hash(src)

    if fields["kind"] == "solution":
        ev = SolutionScorer(ctx).evaluate(src, task, "validation", scope)
        result = recorder.last
        if ev.outcome != "ok" or result is None:
            outcome = ev.outcome
        else:
            outcomes = {i.outcome for i in result.instances}
            outcome = outcomes.pop() if len(outcomes) == 1 else "mixed"
        rows = ctx.store.query(
            "SELECT outcome, score FROM evaluations WHERE program_hash = ?", (digest,)
        )
        assert [r["outcome"] for r in rows] == [ev.outcome], "the evaluation was not recorded"
        if "score_below" in fields:
            assert ev.score < float(fields["score_below"]), f"scored {ev.score}"
        if result is not None:
            assert SECRET not in repr([i.output for i in result.instances])
        if "returns" in fields:
            expected = ast.literal_eval(fields["returns"])
            assert result is not None and result.instances, f"{ev.outcome}: {ev.message}"
            assert all(i.output == expected for i in result.instances), result.instances
    else:

        def utility(candidate: str, k: int) -> float:
            evaluated.append(candidate)
            return 0.5

        run = run_improver(
            ctx,
            src,
            initial_solution=task.seed_solution,
            utility=utility,
            utility_str=task.utility_text,
            required_function="algorithm",
            scope=scope,
        )
        outcome = run.outcome
        assert len(backend.requests) <= LM_BUDGET
        assert sum(r.n for r in backend.requests) <= LM_BUDGET * 2
        assert len(evaluated) <= UTILITY_BUDGET
        if run.returned is not None:
            assert SECRET not in run.returned
        if "returns" in fields:
            assert run.returned == fields["returns"], f"{run.outcome}: {run.message}"

    assert outcome in fields["expect"].split("|"), f"{outcome}: {recorder.last}"
    recorded = {r["kind"] for r in ctx.store.query("SELECT kind FROM events")}
    for kind in filter(None, fields.get("events", "").split(",")):
        assert kind in recorded, f"event {kind} not recorded (got {sorted(recorded)})"
    # what the worker said about itself is kept apart from what the orchestrator saw
    for row in ctx.store.query("SELECT DISTINCT kind, source FROM events"):
        claim = row["kind"] in protocol.EVENT_KINDS
        assert row["source"] == ("worker" if claim else "orchestrator"), dict(row)
    if "max_events" in fields:
        rows = ctx.store.query("SELECT COUNT(*), SUM(LENGTH(detail)) FROM events")[0]
        assert rows[0] <= int(fields["max_events"]), f"{rows[0]} events recorded"
        assert (rows[1] or 0) <= int(fields["max_events"]) * 1000, f"{rows[1]} bytes of events"
    # Contained: nothing outside scratch changed, and the orchestrator is still in charge.
    assert not outside.exists()
    assert victim.read_text() == "keep me"
    assert ctx.store.query("PRAGMA integrity_check")[0][0] == "ok"
    alive = sandbox.solve(
        "def algorithm(a, b, c):\n    return [0] * len(c)\n",
        function="algorithm",
        instances=[inst.inputs for inst in task.instances("validation", ctx_key)[:1]],
        instance_timeout=1.0,
    )
    assert alive.outcome == "ok" and alive.instances[0].outcome == "ok"


@pytest.fixture(scope="module")
def thief_sandbox(tmp_path_factory):
    """Tasks loaded and a run key drawn and written to its run directory before the
    sandbox starts, as `selftaught` does, so the sandbox hides the task file (reading it is
    recorded as `answer_access`) and the key is there for a thief to look for (drawn
    after the start, no search of the workers' memory or files could ever have found it)."""
    tasks = {"3sat": get_task("3sat"), "coins": get_task(str(COINS))}
    key = keys.fresh()
    run_dir = RunDir.create(tmp_path_factory.mktemp("thief-runs"), "thieves")
    keys.write_key(run_dir.path / keys.KEY_FILE, key)
    for task in tasks.values():  # the instances exist in the orchestrator, as in a run
        task.instances("heldout", key)
    with Sandbox() as sb:
        yield tasks, key, sb


def _thief_source(path: Path, task: str) -> str:
    return (
        path.read_text()
        .replace("{TASK}", task)
        .replace("{TASK_FILE}", str(COINS))
        .replace("{FALLBACK}", IGNORES_INPUTS[task])
    )


_ignoring_scores: dict[str, float] = {}


@pytest.mark.parametrize("task_name", ["3sat", "coins"])
@pytest.mark.parametrize("path", THIEVES, ids=[p.stem for p in THIEVES])
def test_an_answer_thief_scores_like_a_program_that_ignores_its_inputs(
    path, task_name, make_ctx, thief_sandbox
):
    tasks, key, sandbox = thief_sandbox
    task = tasks[task_name]
    fields = header(path)
    ctx = make_ctx(
        ScriptedBackend([]), budgets={"utility_calls": 2}, sandbox={"improver_timeout": 60.0}
    )
    ctx.sandbox, ctx.instance_key = sandbox, key
    scorer = SolutionScorer(ctx)
    if task_name not in _ignoring_scores:
        ignoring = f"def algorithm(x):\n    return {IGNORES_INPUTS[task_name]}\n"
        _ignoring_scores[task_name] = scorer.evaluate(
            ignoring, task, "heldout", Scope(0, "b")
        ).score
    src = _thief_source(path, task_name)
    if fields["kind"] == "solution":
        solution = src
    else:
        run = run_improver(
            ctx,
            src,
            initial_solution=task.seed_solution,
            utility=lambda candidate, k: 0.0,
            utility_str=task.utility_text,
            required_function=task.function,
            scope=Scope(0, path.stem),
        )
        assert run.outcome == "ok" and run.returned is not None, run.message
        solution = run.returned
    ev = scorer.evaluate(solution, task, "heldout", Scope(0, f"{path.stem}/scored"))
    assert ev.outcome == "ok", ev.message
    # An input-ignoring program scores 0 on 3-SAT and about 0.5 (SE 0.01) on coins; a thief
    # that got the answers scores 1.
    assert ev.score <= _ignoring_scores[task_name] + 0.1, f"the thief scored {ev.score}"
    recorded = {r["kind"] for r in ctx.store.query("SELECT kind FROM events")}
    for kind in filter(None, fields.get("events", "").split(",")):
        assert kind in recorded, f"event {kind} not recorded (got {sorted(recorded)})"


def test_the_seed_replay_thief_rebuilds_instances_made_from_public_seeds_alone():
    """The copied generator of c1 is right: on instances made from the public seeds under
    a key derived from the task name (the scheme before secret keys) it finds every answer.
    Only the secret key defeats it."""
    for task_name in ("3sat", "coins"):
        task = get_task("3sat") if task_name == "3sat" else get_task(str(COINS))
        src = _thief_source(CORPUS / "answers" / "c1_seed_replay_solution.py", task_name)
        namespace: dict = {}
        exec(compile(src, "c1", "exec"), namespace)
        name_key = int.from_bytes(hashlib.sha256(task_name.encode()).digest()[:4], "big")
        for seed in task.seeds("heldout")[:10]:
            inputs, answer = task.make_instance(np.random.default_rng([name_key, seed]))
            stolen = namespace["algorithm"](*inputs)
            assert task.score(stolen, answer) == 1.0
