from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.fake_api import FakeAPI


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    with FakeAPI() as api:
        yield api


@pytest.fixture
def no_sleep() -> list[float]:
    """Collects back-off delays instead of sleeping them."""
    return []
