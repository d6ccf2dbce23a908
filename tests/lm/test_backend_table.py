"""One table of backends: each model string is described, checked and made by its row."""

from __future__ import annotations

import json

import pytest

from selftaught.errors import UserError
from selftaught.lm.registry import (
    BACKENDS,
    DEFAULT_MODEL,
    backend_status,
    check_model_string,
    default_concurrency,
    make_adapter,
    price_of,
    split_model_string,
)


def test_every_example_names_its_own_backend():
    for name, kind in BACKENDS.items():
        assert split_model_string(kind.example.split()[0])[0] is kind, name
    assert split_model_string(DEFAULT_MODEL)[0].name == "local"


@pytest.mark.parametrize("model", ["local", "openai:", "scripted", "replay:"])
def test_a_backend_that_needs_a_model_refuses_a_string_without_one(model):
    with pytest.raises(UserError, match="names no model"):
        split_model_string(model)


def test_the_table_makes_and_checks_file_backends(tmp_path):
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps(["hello"]))
    check_model_string(f"scripted:{replies}")
    assert make_adapter(f"scripted:{replies}").name.startswith("scripted")
    assert make_adapter("echo").name == "echo"
    with pytest.raises(UserError):
        check_model_string(f"scripted:{tmp_path / 'missing.json'}")


def test_requests_at_once_come_from_the_table():
    assert default_concurrency("local:smollm2") == 1 == BACKENDS["local"].concurrency
    assert default_concurrency("openai:gpt-4.1") == 8 == BACKENDS["openai"].concurrency
    assert default_concurrency("echo") == BACKENDS["echo"].concurrency


def test_the_status_lists_every_backend_of_the_table_in_order():
    assert [row.backend for row in backend_status()] == list(BACKENDS)
    assert all(row.example == BACKENDS[row.backend].example for row in backend_status())


def test_free_backends_cost_nothing_and_come_from_the_table():
    free = {name for name, kind in BACKENDS.items() if kind.free}
    assert free == {"local", "replay", "echo", "scripted"}
    for name in free:
        assert price_of(f"{name}:x").input == 0 == price_of(f"{name}:x").output
    assert price_of("openai:gpt-4o").input > 0
