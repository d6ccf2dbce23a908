"""The seccomp filter a worker installs is built once in the fork server and only has its
pid written in: it must be exactly the filter `build` makes for that pid."""

from __future__ import annotations

import platform
import struct

import pytest

from selftaught.sandbox import seccomp

pytestmark = pytest.mark.skipif(not seccomp.supported(), reason="no filter for this machine")


@pytest.mark.parametrize("pid", [1, 2, 300, 65_535, 1_234_567, 4_194_304])
def test_the_filter_from_the_template_is_the_filter_built_for_that_pid(pid):
    assert seccomp.program(pid) == seccomp.build(pid)


def test_the_template_leaves_no_probe_pid_in_a_workers_filter():
    code = seccomp.program(4242)
    for probe in seccomp._PROBES:
        assert probe.to_bytes(4, "little") not in code
        assert (-probe & 0xFFFFFFFF).to_bytes(4, "little") not in code


def _run(code: bytes, nr: int, arch: int, args: tuple[int, ...]) -> int:
    """Classic BPF as the kernel runs a seccomp filter, on the instructions it uses."""
    data = struct.pack("<II", nr, arch) + bytes(8) + b"".join(struct.pack("<Q", a) for a in args)
    acc, pc = 0, 0
    while True:
        op, jt, jf, k = struct.unpack_from("<HBBI", code, pc * 8)
        pc += 1
        if op == 0x20:  # load a word of the call's data
            acc = struct.unpack_from("<I", data, k)[0]
        elif op == 0x15:
            pc += jt if acc == k else jf
        elif op == 0x35:
            pc += jt if acc >= k else jf
        elif op == 0x45:
            pc += jt if acc & k else jf
        elif op == 0x05:
            pc += k
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected instruction {op:#x}")


def test_the_filters_search_decides_every_call_as_a_plain_chain_would():
    pid = 4242
    rules = seccomp._rules(pid)
    chain = b"".join(seccomp._header() + seccomp._linear(rules))
    tree = seccomp.build(pid)
    assert len(tree) < len(chain)
    arch = seccomp._ARCHES[platform.machine()][0]
    words = {0, 1, 2, 3, pid, -pid & 0xFFFFFFFF, 0x80000000, 0xFFFFFFFF, 2**32 + pid}
    for body in rules.values():  # every constant the bodies compare against
        words |= {struct.unpack_from("<I", insn, 4)[0] for insn in body}
    plain = [(0,) * 6]
    varied = [(a, b, 0, 0, c, 0) for a in words for b in (0, 1030, 0x5413) for c in (0, 1)]
    varied += [(a, b, 0, 0, 0, 0) for a in (0, 1) for b in words]
    varied += [(0, 0, 0, 0, c, 0) for c in (0, 1, 2**32, 2**40)]
    edges = [0x3FFFFFFF, 0x40000000, 0x40000001, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]
    for nr in [*range(1100), *edges]:
        cases = varied if len(rules.get(nr, [])) > 1 else plain
        for args in cases:
            assert _run(tree, nr, arch, args) == _run(chain, nr, arch, args), (nr, args)
    assert _run(tree, 0, arch ^ 1, (0,) * 6) == seccomp.RET_KILL_PROCESS


REAL_CALLS = """
import ctypes, sys
def algorithm(numbers):
    guards = sys.modules.get('selftaught.sandbox.guards')
    if guards is not None:
        guards.armed[0] = False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    out = []
    for nr in numbers:
        ctypes.set_errno(0)
        got = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(0)] * 6)
        out.append([got, ctypes.get_errno()])
    return out
"""
BYPASS = {"x86_64": {335, 336}}
"""Calls the kernel lets through without running any filter (x86_64 `uretprobe`, `uprobe`,
on recent kernels): they act only inside a uprobe's trampoline (docs/security.md)."""


def test_a_worker_meets_the_errno_the_filter_gives_at_every_edge_of_its_runs():
    from selftaught.sandbox import Sandbox

    arch = seccomp._ARCHES[platform.machine()][0]
    code = seccomp.build(4242)  # the pid only matters to calls that name a process
    numbers = {0x3FFFFFFF, 0x40000000, 0x40000000 + 39, 0x7FFFFFFF, 0xFFFFFFFF}
    for start, _ in seccomp._intervals(seccomp._rules(4242)):
        numbers |= {start - 1, start, start + 1}
    refused = []  # only numbers the filter refuses, so that nothing real runs
    for nr in sorted(n for n in numbers if n >= 0):
        action = _run(code, nr, arch, (0,) * 6)
        if action & 0xFFFF0000 == seccomp.RET_ERRNO and nr not in BYPASS.get(
            platform.machine(), ()
        ):
            refused.append((nr, action & 0xFFFF))
    assert len(refused) > 50
    with Sandbox(spares=0) as sb:
        signed = [nr - 2**32 if nr >= 2**31 else nr for nr, _ in refused]
        result = sb.solve(
            REAL_CALLS, function="algorithm", instances=[(signed,)], instance_timeout=20
        )
        assert result.instances[0].outcome == "ok", result
        got = result.instances[0].output
    assert len(got) == len(refused)
    for (nr, errno), answer in zip(refused, got, strict=True):
        assert answer == [-1, errno], hex(nr)
