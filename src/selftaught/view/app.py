"""The view's web application: pages, the JSON API, and the guard in front of both.

Starlette, served by uvicorn: a small, typed ASGI toolkit with no debug mode on unless
asked for, no template engine we need (pages are one static shell; the browser fills it
from the API with `textContent`), and sync endpoints that run in a thread pool, so a
slow read never stalls the server. Every route is GET: nothing here can write.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from collections.abc import Callable
from decimal import Decimal
from http.cookies import SimpleCookie
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selftaught.report.records import RunRecords
from selftaught.store.faults import LOCK
from selftaught.store.reads import RECORDS
from selftaught.view import data
from selftaught.view.folders import Folders, RunRef, lock_holder

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
COOKIE = "selftaught_view_token"
_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def _static() -> dict[str, tuple[bytes, str]]:
    """The shipped assets, read once: only these names can be served."""
    out = {}
    for item in files("selftaught.view").joinpath("static").iterdir():
        suffix = Path(item.name).suffix
        if item.is_file() and suffix in _STATIC_TYPES:
            out[item.name] = (item.read_bytes(), _STATIC_TYPES[suffix])
    return out


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities as null, Decimals as numbers, anything else as text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(_clean(content), ensure_ascii=False, separators=(",", ":"))
    return Response(body, status, headers=headers, media_type="application/json")


def error(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


def _fingerprint(paths: list[Path], extra: str = "") -> str:
    """Changes whenever a run writes (its records or their write-ahead log change)."""
    h = hashlib.sha1(extra.encode())
    for p in paths:
        for name in (RECORDS, RECORDS + "-wal", LOCK):
            try:
                st = os.stat(p / name)
                h.update(f"{name}:{st.st_mtime_ns}:{st.st_size}:{st.st_ino};".encode())
            except OSError:
                h.update(f"{name}:-;".encode())
        h.update(f"holder:{lock_holder(p)};".encode())
    return f'"{h.hexdigest()}"'


class View:
    """The routes, over the served folders."""

    def __init__(self, folders: Folders) -> None:
        self.folders = folders
        self.static = _static()

    # -- pages ------------------------------------------------------------------------

    def shell(self, request: Request) -> Response:
        params = request.path_params
        if "name" in params and self.folders.find(params["folder"], params["name"]) is None:
            return self._asset("missing.html", status=404)
        return self._asset("view.html")

    def asset(self, request: Request) -> Response:
        return self._asset(request.path_params["file"])

    def _asset(self, name: str, status: int = 200) -> Response:
        found = self.static.get(name)
        if found is None:
            return Response("not found", 404, media_type="text/plain")
        body, media = found
        return Response(body, status, media_type=media)

    # -- the API ----------------------------------------------------------------------

    def api_runs(self, request: Request) -> Response:
        refs = [r for f in self.folders.folders for r in self.folders.runs(f)]
        return self._cached(request, [r.path for r in refs], lambda: data.runs_list(self.folders))

    def _ref(self, request: Request) -> RunRef:
        ref = self.folders.find(request.path_params["folder"], request.path_params["name"])
        if ref is None:
            raise data.ViewError("no such run in the served folders", 404)
        return ref

    def _read(self, request: Request, read: Callable[[RunRecords, RunRef], Any]) -> Response:
        try:
            ref = self._ref(request)
            with data.open_records(ref) as records:
                return json_response(read(records, ref))
        except data.ViewError as exc:
            return error(str(exc), exc.status)

    def _cached(self, request: Request, paths: list[Path], make: Callable[[], Any]) -> Response:
        """A 304 while the records have not changed since the browser's copy."""
        tag = _fingerprint(paths, request.url.path)
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers={"etag": tag})
        try:
            return json_response(make(), headers={"etag": tag})
        except data.ViewError as exc:
            return error(str(exc), exc.status)

    def api_run(self, request: Request) -> Response:
        try:
            ref = self._ref(request)
        except data.ViewError as exc:
            return error(str(exc), exc.status)

        def make() -> Any:
            with data.open_records(ref) as records:
                return data.run_live(records, ref)

        return self._cached(request, [ref.path], make)

    def api_calls(self, request: Request) -> Response:
        offset = _int(request.query_params.get("offset"), 0)
        return self._read(request, lambda r, _: data.calls_page(r, offset=offset))

    def api_call(self, request: Request) -> Response:
        n = request.path_params["id"]
        return self._read(request, lambda r, _: data.call_detail(r, n))

    def api_evaluations(self, request: Request) -> Response:
        offset = _int(request.query_params.get("offset"), 0)
        return self._read(request, lambda r, _: data.evaluations_page(r, offset=offset))

    def api_evaluation(self, request: Request) -> Response:
        n = request.path_params["id"]
        return self._read(request, lambda r, _: data.evaluation_detail(r, n))

    def api_iteration(self, request: Request) -> Response:
        n = request.path_params["iteration"]
        return self._read(request, lambda r, _: data.lineage_step(r, n))

    def api_program(self, request: Request) -> Response:
        digest = request.path_params["digest"]
        return self._read(request, lambda r, _: data.program(r, digest))

    def api_compare(self, request: Request) -> Response:
        keys = request.query_params.getlist("run")
        if not keys:
            return error("name the runs to compare: /api/compare?run=0/NAME&run=0/NAME2", 400)
        refs = []
        for key in keys:
            folder, _, name = key.partition("/")
            ref = self.folders.find(_int(folder, -1), name)
            if ref is None:
                return error(f"no such run in the served folders: {key}", 404)
            refs.append(ref)
        opened: list[tuple[RunRef, RunRecords]] = []
        try:
            for ref in refs:
                opened.append((ref, data.open_records(ref)))
            return json_response(data.compare(opened))
        except data.ViewError as exc:
            return error(str(exc), exc.status)
        finally:
            for _, records in opened:
                records.close()

    def api_missing(self, request: Request) -> Response:
        return error(f"no such API endpoint: {request.url.path}", 404)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def routes(view: View) -> list[Route]:
    run = "/{folder:int}/{name:str}"
    return [
        Route("/", view.shell),
        Route("/compare", view.shell),
        Route(f"/run{run}", view.shell),
        Route(f"/run{run}/calls", view.shell),
        Route(f"/run{run}/evaluations", view.shell),
        Route(f"/run{run}/call/{{id:int}}", view.shell),
        Route(f"/run{run}/evaluation/{{id:int}}", view.shell),
        Route(f"/run{run}/iteration/{{iteration:int}}", view.shell),
        Route("/static/{file:str}", view.asset),
        Route("/api/runs", view.api_runs),
        Route(f"/api/runs{run}", view.api_run),
        Route(f"/api/runs{run}/calls", view.api_calls),
        Route(f"/api/runs{run}/calls/{{id:int}}", view.api_call),
        Route(f"/api/runs{run}/evaluations", view.api_evaluations),
        Route(f"/api/runs{run}/evaluations/{{id:int}}", view.api_evaluation),
        Route(f"/api/runs{run}/iterations/{{iteration:int}}", view.api_iteration),
        Route(f"/api/runs{run}/programs/{{digest:str}}", view.api_program),
        Route("/api/compare", view.api_compare),
        Route("/api/{rest:path}", view.api_missing),
    ]


class Guard:
    """In front of every request: only GET and HEAD; on a loopback bind, only requests
    naming a loopback host (a page elsewhere cannot reach the view by pointing its own
    name at 127.0.0.1); with a token, only requests that carry it (header, cookie, or
    `?token=` once, which sets the cookie). Adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, *, token: str | None, hosts: set[str] | None) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message["headers"] = kept + SECURITY_HEADERS
            await send(message)

        refused = self._refuse(scope)
        if refused is not None:
            await refused(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)

    def _refuse(self, scope: Scope) -> Response | None:
        if scope["method"] not in ("GET", "HEAD"):
            return Response("the view is read-only", 405, headers={"allow": "GET, HEAD"})
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if self.hosts is not None and headers.get("host", "").lower() not in self.hosts:
            return Response("unknown host", 403, media_type="text/plain")
        if self.token is None:
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None and secrets.compare_digest(given, self.token):
            rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
            target = scope["path"] + (f"?{rest}" if rest else "")
            redirect = Response(status_code=303, headers={"location": target})
            redirect.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return redirect
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and secrets.compare_digest(auth[7:], self.token):
            return None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no token
            cookie = SimpleCookie()
        if COOKIE in cookie and secrets.compare_digest(cookie[COOKIE].value, self.token):
            return None
        return Response(
            "this view needs the token `selftaught view` printed when it started",
            401,
            media_type="text/plain",
            headers={"www-authenticate": "Bearer"},
        )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    if request.url.path.startswith("/api/"):
        return error(str(detail), status)
    return Response(str(detail), status, media_type="text/plain")


async def _internal_error(request: Request, exc: Exception) -> Response:
    message = f"internal error: {type(exc).__name__}: {exc}"
    if request.url.path.startswith("/api/"):
        return error(message, 500)
    return Response(message, 500, media_type="text/plain")


def make_app(
    paths: list[Path], *, token: str | None = None, hosts: set[str] | None = None
) -> ASGIApp:
    """The view of the runs in `paths` (run directories or folders of them): `token`
    required of every request if set; `hosts` the Host headers accepted if set."""
    view = View(Folders(paths))
    app = Starlette(
        debug=False,
        routes=routes(view),
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    return Guard(app, token=token, hosts=hosts)
