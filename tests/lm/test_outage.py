"""In a run, a call whose whole retry budget fails stops the run; other failures do not."""

import pytest

from selftaught.errors import ModelCallFailed, ModelUnavailable
from selftaught.lm.base import Request
from selftaught.lm.options import ModelOptions
from selftaught.lm.registry import make_adapter, wrap
from tests.lm.conftest import closing
from tests.servers.fake_api import FakeAPI

PROGRAM = "Improve:\n```python\ndef algorithm(x):\n    return x\n```\n"


def backend(url: str, delays: list[float]):
    options = ModelOptions(base_url=url, timeout=5.0, retries=2)
    adapter = make_adapter("openai:fake-model", options)
    return closing(wrap(adapter, options, sleep=delays.append, stop_on_outage=True))


def test_an_outage_stops_the_run_and_later_calls_do_not_ask_the_server(fake_api: FakeAPI, no_sleep):
    fake_api.default = "drop"
    b = backend(fake_api.url, no_sleep)
    with pytest.raises(ModelUnavailable, match="model server is unavailable.*3 attempts"):
        b.complete(Request("s", PROGRAM, n=1))
    assert len(fake_api.requests) == 3
    fake_api.default = "ok"
    with pytest.raises(ModelUnavailable):
        b.complete(Request("s", PROGRAM, n=1))
    assert len(fake_api.requests) == 3  # the run is stopping: nothing more is sent


def test_a_recovered_fault_or_a_bad_request_does_not_stop_the_run(fake_api: FakeAPI, no_sleep):
    fake_api.plan = ["500", "500"]
    b = backend(fake_api.url, no_sleep)
    assert b.complete(Request("s", PROGRAM, n=1)).attempts == 3
    fake_api.plan = ["400"]
    with pytest.raises(ModelCallFailed, match="400"):
        b.complete(Request("s", PROGRAM, n=1))
    assert b.complete(Request("s", PROGRAM, n=1)).attempts == 1
