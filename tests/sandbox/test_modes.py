"""The hostile corpus in the modes CI as root would otherwise never see.

- `nobody`: the fork server runs as root and drops every worker to `nobody`. That is what
  root gets when its Python is readable by others; CI's Python lives under /root (mode
  700), so these tests run the fork server on a Python that others can read (installed
  by scripts/test.sh) and assert `privileges=nobody`.
- `user`: the fork server is started as an unprivileged user (`nobody`), as a normal user
  runs selftaught: a user namespace with a network and a mount namespace, tmpfs scratch,
  Landlock and seccomp, all set up without privileges. Run as a normal user, this is the
  default sandbox.

The cases come from tests/sandbox/test_hostile.py (the corpus and its checks are shared).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import selftaught
from selftaught.sandbox import Sandbox
from selftaught.sandbox.limits import NOBODY
from tests.sandbox import test_hostile as corpus

OTHERS_PYTHON = (
    Path(os.environ.get("SELFTAUGHT_OTHERS_PYTHON", "/opt/selftaught-others-python"))
    / "bin"
    / "python"
)
ROOT = os.geteuid() == 0

CORE = [
    "s04_fork_bomb",
    "s07_thread_bomb",
    "s08_memory_bomb",
    "s12_write_outside_scratch",
    "s13_delete_outside_scratch",
    "s14_read_other_run",
    "s15_socket_to_localhost",
    "s16_subprocess",
    "s18_reads_api_keys",
    "s22_ctypes",
    "s23_kills_orchestrator",
    "s28_proc_mem_of_orchestrator",
    "s33_huge_file_in_scratch",
    "i04_builds_own_model",
    "i06_turns_sandbox_off",
    "i11_reads_orchestrator_memory",
    "i12_subprocess_from_improver",
]
"""The corpus's core cases: every kernel layer and every escape route, one program each."""


@pytest.fixture(scope="module")
def readable_source() -> Iterator[list[str]]:
    """A copy of the selftaught package that others can read (the checkout may not be)."""
    base = tempfile.mkdtemp(prefix="selftaught-src-")
    os.chmod(base, 0o755)
    shutil.copytree(Path(selftaught.__file__).parent, Path(base) / "selftaught")
    for path in Path(base).rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    yield [base]
    shutil.rmtree(base)


def others_python() -> str:
    if not OTHERS_PYTHON.is_file():
        pytest.fail(f"no Python readable by others at {OTHERS_PYTHON}: run scripts/test.sh")
    return str(OTHERS_PYTHON)


@pytest.fixture(scope="module")
def nobody_sandbox(readable_source: list[str]) -> Iterator[Sandbox]:
    if not ROOT:
        pytest.skip("dropping workers to nobody needs root")
    with Sandbox(python=others_python(), python_path=readable_source) as sb:
        yield sb


@pytest.fixture(scope="module")
def user_sandbox(readable_source: list[str]) -> Iterator[Sandbox]:
    if not ROOT:  # a normal user's default sandbox is this mode
        with Sandbox() as sb:
            yield sb
        return
    with Sandbox(python=others_python(), python_path=readable_source, user=NOBODY) as sb:
        yield sb


@pytest.fixture(scope="module")
def listener() -> Iterator[corpus.Listener]:
    lst = corpus.Listener()
    yield lst
    lst.close()
    assert not lst.received, "a sandboxed program reached the listener on 127.0.0.1"


def test_nobody_mode_reports_its_containment(nobody_sandbox: Sandbox):
    c = nobody_sandbox.containment
    assert c["privileges"] == "nobody"
    assert (c["network"], c["scratch"], c["syscalls"]) == ("netns", "tmpfs", "seccomp")
    assert c["filesystem"].startswith("landlock-abi")


def test_unprivileged_fork_server_reports_its_containment(user_sandbox: Sandbox):
    c = user_sandbox.containment
    assert c["privileges"] == "user"
    assert (c["network"], c["scratch"], c["syscalls"]) == ("userns+netns", "tmpfs", "seccomp")
    assert c["filesystem"].startswith("landlock-abi")
    assert c["processes"] == "single-process"


def test_a_worker_can_import_the_standard_library_in_both_modes(nobody_sandbox, user_sandbox):
    program = (
        "import fractions, socket\ndef algorithm(a):\n    return [str(fractions.Fraction(a, 2))]\n"
    )
    for sb in (nobody_sandbox, user_sandbox):
        result = sb.solve(program, function="algorithm", instances=[(1,)], instance_timeout=5)
        assert result.instances[0].output == ["1/2"], result


@pytest.mark.parametrize("path", corpus.PROGRAMS, ids=[p.stem for p in corpus.PROGRAMS])
def test_hostile_program_is_contained_as_nobody(
    path, make_ctx, nobody_sandbox, listener, tmp_path, monkeypatch
):
    corpus.test_hostile_program_is_contained(
        path, make_ctx, nobody_sandbox, listener, tmp_path, monkeypatch
    )


@pytest.mark.parametrize("name", CORE)
def test_hostile_program_is_contained_by_an_unprivileged_fork_server(
    name, make_ctx, user_sandbox, listener, tmp_path, monkeypatch
):
    path = corpus.CORPUS / f"{name}.py"
    corpus.test_hostile_program_is_contained(
        path, make_ctx, user_sandbox, listener, tmp_path, monkeypatch
    )


def test_workers_stay_root_without_capabilities_when_nobody_cannot_read_the_stdlib(
    readable_source, make_ctx, listener, tmp_path, monkeypatch
):
    """The README's test command in a fresh virtualenv outside /root, on a Python under
    /root: the environment is readable by others, its standard library is not. Workers
    that dropped to `nobody` there failed every lazy import, e.g. the `idna` codec that
    `socket.create_connection` loads before its audit event, so the `network` event of a
    connection attempt was lost."""
    if not ROOT:
        pytest.skip("dropping workers to nobody needs root")
    venv = Path(tempfile.mkdtemp(prefix="selftaught-venv-"))
    try:
        venv.chmod(0o755)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        others_site = next(Path(others_python()).parent.parent.glob("lib/python3*/site-packages"))
        with Sandbox(
            python=str(venv / "bin" / "python"),
            python_path=[*readable_source, str(others_site)],
        ) as sb:
            assert sb.containment["privileges"] == "root-nocaps"
            corpus.test_hostile_program_is_contained(
                corpus.CORPUS / "s15_socket_to_localhost.py",
                make_ctx, sb, listener, tmp_path, monkeypatch,
            )  # fmt: skip
    finally:
        shutil.rmtree(venv)


def test_a_normal_users_run_says_once_that_it_is_bounded_per_worker_only(readable_source):
    """The whole orchestrator as an unprivileged user, without a delegated cgroup."""
    if not ROOT:
        pytest.skip("starting a process as another user needs root")
    script = (
        "from selftaught.sandbox import Sandbox\n"
        "for _ in range(2):\n"
        "    with Sandbox(spares=0) as sb:\n"
        "        print(sb.containment_summary)\n"
    )
    out = subprocess.run(
        [others_python(), "-c", script],
        env={"PYTHONPATH": os.pathsep.join(readable_source), "PATH": os.environ["PATH"]},
        cwd=readable_source[0],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    summaries = out.stdout.splitlines()
    assert len(summaries) == 2 and all(s.endswith("privileges=user run=none") for s in summaries)
    assert "network=userns+netns" in summaries[0] and "scratch=tmpfs" in summaries[0]
    (line,) = out.stderr.splitlines()
    assert line.startswith("selftaught: workers are limited one by one, not per run")
