"""The seccomp filter a worker installs is built once in the fork server and only has its
pid written in: it must be exactly the filter `build` makes for that pid."""

from __future__ import annotations

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
