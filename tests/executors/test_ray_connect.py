"""Connecting to a Ray cluster through Ray Client: a session whose server-side process
died as it started (Ray's intermittent `Starting Ray client server failed`) is tried
again; any other failure is one clear error at once."""

import importlib.util

import pytest

from selftaught.errors import ConfigError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="needs selftaught[ray]"
)

# what Ray Client raises when the cluster's per-client server dies as it starts
SERVER_DIED = (
    "Initialization failure from server:\nTraceback (most recent call last):\n"
    "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err"
)


class _Cluster:
    """Stands in for `ray.init` of a cluster whose first sessions fail as Ray's do."""

    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, **kwargs: object) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def test_a_client_session_that_dies_as_it_starts_is_tried_again():
    from selftaught.executors.ray_executor import connect_ray

    init = _Cluster([ConnectionAbortedError(SERVER_DIED), ConnectionAbortedError(SERVER_DIED)])
    connect_ray("ray://127.0.0.1:1", init=init, wait=0)
    assert init.calls == 3


def test_a_session_that_never_starts_is_one_error_after_the_last_attempt():
    from selftaught.executors.ray_executor import connect_ray

    init = _Cluster([ConnectionAbortedError(SERVER_DIED) for _ in range(10)])
    with pytest.raises(ConfigError, match="cannot connect to Ray at ray://127.0.0.1:1"):
        connect_ray("ray://127.0.0.1:1", init=init, attempts=3, wait=0)
    assert init.calls == 3


def test_other_connection_failures_are_not_retried():
    from selftaught.executors.ray_executor import connect_ray

    init = _Cluster([ConnectionError("ray client connection timeout")])
    with pytest.raises(ConfigError, match="connection timeout"):
        connect_ray("ray://127.0.0.1:1", init=init, wait=0)
    assert init.calls == 1
