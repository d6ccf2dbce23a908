"""A small HTTP server on 127.0.0.1 that speaks just enough of the OpenAI chat-completions
and Anthropic messages APIs, and fails on demand.

`FakeAPI.plan` is a list of behaviours used one per request, then `default`:
"ok", "429" (with Retry-After), "400", "500", "slow" (sleeps `slow_seconds` before answering),
"truncated" (half a JSON body), "drop" (closes the connection without answering).
A reply after which the server closes the connection says so (`Connection: close`), as real
servers do; `close_delay` holds such a connection open a while first, as a loaded server may.
`answer_limit`: once that many requests were answered "ok", every request is dropped
(an outage) until it is raised or set to None.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from selftaught.lm.echo import first_program


def echo_text(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    code = first_program(user if isinstance(user, str) else str(user))
    return f"```python\n{code}```" if code else "no program"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


class FakeAPI:
    def __init__(
        self,
        *,
        respond: Callable[[dict[str, Any]], str] = echo_text,
        latency: float = 0.0,
        supports_n: bool = True,
        models: tuple[str, ...] = ("fake-model",),
    ) -> None:
        self.respond = respond
        self.latency = latency
        self.supports_n = supports_n
        self.models = models
        self.plan: list[str] = []
        self.default = "ok"
        self.slow_seconds = 2.0
        self.retry_after = "0.05"
        self.close_delay = 0.0
        self.answer_limit: int | None = None
        self.answered = 0
        self.requests: list[dict[str, Any]] = []
        self.outcomes: list[str] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "owned_by": "me"} for m in api.models]
                    self._json(200, {"object": "list", "data": data})
                    return
                model = self.path.rsplit("/", 1)[-1]
                if "/models/" in self.path and model in api.models:
                    self._json(
                        200,
                        {
                            "type": "model",
                            "id": model,
                            "display_name": model,
                            "created_at": "2025-01-01T00:00:00Z",
                        },
                    )
                    return
                self._json(
                    404,
                    {
                        "type": "error",
                        "error": {"type": "not_found_error", "message": f"model: {model}"},
                    },
                )

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with api._lock:
                    api.requests.append(body)
                    what = api.plan.pop(0) if api.plan else api.default
                    if api.answer_limit is not None and api.answered >= api.answer_limit:
                        what = "drop"
                    elif what == "ok":
                        api.answered += 1
                    api.outcomes.append(what)
                    api.in_flight += 1
                    api.max_in_flight = max(api.max_in_flight, api.in_flight)
                try:
                    self._serve(what, body)
                finally:
                    with api._lock:
                        api.in_flight -= 1

            def _serve(self, what: str, body: dict[str, Any]) -> None:
                if api.latency:
                    time.sleep(api.latency)
                if what == "429":
                    self._json(
                        429,
                        {"error": {"message": "rate limited", "type": "rate_limit"}},
                        {"retry-after": api.retry_after},
                    )
                    return
                if what == "400":
                    self._json(400, {"error": {"message": "bad request", "type": "invalid"}})
                    return
                if what == "500":
                    self._json(500, {"error": {"message": "boom", "type": "server_error"}})
                    return
                if what == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if what == "slow":
                    time.sleep(api.slow_seconds)
                payload = (
                    api.anthropic(body) if self.path.endswith("/messages") else api.openai(body)
                )
                if what == "truncated":
                    raw = json.dumps(payload).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(raw) // 2))
                    self.send_header("connection", "close")
                    self.end_headers()
                    self.wfile.write(raw[: len(raw) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    time.sleep(api.close_delay)
                    return
                self._json(200, payload)

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.root = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def openai(self, body: dict[str, Any]) -> dict[str, Any]:
        n = int(body.get("n") or 1) if self.supports_n else 1
        text = self.respond(body)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
                for i in range(n)
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5 * n, "total_tokens": 10 + 5 * n},
        }

    def anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": self.respond(body)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }

    def __enter__(self) -> FakeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
