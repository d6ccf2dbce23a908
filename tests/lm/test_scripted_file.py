"""`scripted:FILE`: a reply file that is not UTF-8 is a one-line config error, and a reply
whose JSON holds a lone surrogate is answered as written (what it does downstream is
tests/cli/test_surrogate_run.py's)."""

import json

import pytest

from selftaught.errors import ConfigError, UserError
from selftaught.lm.base import Request
from selftaught.lm.scripted import load_scripted


def test_a_reply_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "replies.json"
    path.write_bytes(b'["\xff\xfe"]')
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_scripted(str(path))
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


def test_a_reply_with_a_lone_surrogate_is_answered_as_written(tmp_path):
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(["```python\nx = '\ud800'\n```"]))
    backend = load_scripted(str(path))
    reply = backend.complete(Request(system="s", user="u"))
    assert reply.completions[0].text == "```python\nx = '\ud800'\n```"
