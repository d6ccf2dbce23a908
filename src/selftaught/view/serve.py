"""Serving the view: the socket, the token, uvicorn."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selftaught.errors import UserError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Bound:
    """A listening socket and the address to print."""

    sock: socket.socket
    host: str
    port: int
    token: str | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else host
        if self.host == "::":
            shown = "[::1]"
        base = f"http://{shown}:{self.port}/"
        return f"{base}?token={self.token}" if self.token else base

    def hosts(self) -> set[str] | None:
        """The Host headers a loopback view answers (None: any, the token guards it)."""
        if self.token:
            return None
        names = {
            "127.0.0.1",
            "localhost",
            "[::1]",
            self.host if ":" not in self.host else f"[{self.host}]",
        }
        return {f"{n}:{self.port}" for n in names}


def bind(host: str, port: int) -> Bound:
    """Listen on host:port (port 0: a free one). A host that is not loopback gets a token."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.listen(64)
    token = None if is_loopback(host.strip("[]")) else secrets.token_urlsafe(24)
    return Bound(sock, host.strip("[]"), sock.getsockname()[1], token)


def serve(
    paths: list[Path],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = False,
    announce: Callable[[Bound], None] | None = None,
) -> None:
    """Serve the view of `paths` until interrupted."""
    import uvicorn

    from selftaught.view.app import make_app

    bound = bind(host, port)
    app = make_app(paths, token=bound.token, hosts=bound.hosts())
    if announce is not None:
        announce(bound)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(bound.url,)).start()
    try:
        server.run(sockets=[bound.sock])
    finally:
        bound.sock.close()
