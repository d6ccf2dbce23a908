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
    for nr in [*range(1100), 0x3FFFFFFF, 0x40000000 + 1, 0xFFFFFFFF]:
        cases = varied if len(rules.get(nr, [])) > 1 else plain
        for args in cases:
            assert _run(tree, nr, arch, args) == _run(chain, nr, arch, args), (nr, args)
    assert _run(tree, 0, arch ^ 1, (0,) * 6) == seccomp.RET_KILL_PROCESS
