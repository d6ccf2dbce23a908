from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.fake_api import FakeAPI

_opened: list = []


def closing(backend):
    """`backend`, closed when the test ends (its HTTP client's sockets with it)."""
    _opened.append(backend)
    return backend


@pytest.fixture(autouse=True)
def _close_backends() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    with FakeAPI() as api:
        yield api


@pytest.fixture
def no_sleep() -> list[float]:
    """Collects back-off delays instead of sleeping them."""
    return []
