"""`selftaught view` as a user starts it."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.view.conftest import run_names, selftaught, view_server


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_loopback_view_prints_its_address_and_needs_no_token(runs_folder):
    with view_server(runs_folder) as (url, _):
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        assert _status(url + "api/runs") == 200
        name = run_names(runs_folder)[0]
        assert _status(f"{url}api/runs/0/{name}") == 200


def test_a_non_loopback_bind_refuses_requests_without_the_printed_token(runs_folder):
    with view_server(runs_folder, extra=("--host", "0.0.0.0")) as (url, _):
        base, _, token = url.partition("?token=")
        assert len(token) >= 24
        assert _status(base + "api/runs") == 401
        assert _status(base) == 401
        assert _status(base + "api/runs", {"Authorization": "Bearer nope"}) == 401
        assert _status(base + "api/runs", {"Authorization": f"Bearer {token}"}) == 200


def test_a_folder_that_does_not_exist_is_one_line_and_exit_code_2(tmp_path):
    result = selftaught("view", "nowhere", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "selftaught: error: no such folder: nowhere"


def test_a_port_in_use_is_one_line_and_exit_code_2(runs_folder, tmp_path):
    with view_server(runs_folder) as (url, _):
        port = url.rsplit(":", 1)[1].strip("/")
        result = selftaught("view", str(runs_folder), "--port", port, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"selftaught: error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1
