"""Test helpers for the poller tests: a real HTTP server on 127.0.0.1 and t.me page serving.

``LocalServer`` is a threaded ``http.server`` with per-test routes; it records every request
(path, query, headers) so tests can count what a client asked for. ``ChannelPages`` serves a
channel's web preview the way t.me does: the newest ``page_size`` messages, or those older than
``?before=<id>``, cut out of the real ``full.html``.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

SHARED = Path(os.environ.get("CLAIMWATCH_SHARED") or Path(__file__).resolve().parents[2] / ".." / "shared")
TME_FIXTURES = SHARED / "fixtures" / "tme_preview"


@dataclass(frozen=True, slots=True)
class Request:
    """One request the server received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names


@dataclass(slots=True)
class Reply:
    """What a route answers. ``stream`` sends ``body`` without Content-Length, in pieces."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stream: bool = False


Route = Reply | Callable[[Request], Reply]


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with routes keyed by path."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def route(self, path: str, reply: Route) -> None:
        self.routes[path] = reply

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _make_handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            request = Request(
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={name.lower(): value for name, value in self.headers.items()},
            )
            server._record(request)
            route = server.routes.get(parts.path)
            if route is None:
                reply = Reply(404, b"not found")
            else:
                reply = route(request) if callable(route) else route
            try:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if not reply.stream:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.stream:
                    for start in range(0, len(reply.body), 8192):
                        self.wfile.write(reply.body[start : start + 8192])
                        self.wfile.flush()
                else:
                    self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client gave up (size cap, timeout): expected in tests

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            logger.debug("local server: " + format, *args)

    return Handler


_WRAP = '<div class="tgme_widget_message_wrap'
_POST_ID = re.compile(r'data-post="[^"/]+/(\d+)"')


def split_messages(page: str) -> tuple[str, list[str], str]:
    """A preview page cut into (everything before the messages, each message, the rest)."""
    start = page.index(_WRAP)
    end = page.index("</section>", start)
    pieces = [piece for piece in re.split(f"(?={re.escape(_WRAP)})", page[start:end]) if piece]
    return page[:start], pieces, page[end:]


def message_id_of(piece: str) -> int:
    match = _POST_ID.search(piece)
    assert match, "a message piece without data-post"
    return int(match.group(1))


class ChannelPages:
    """Serves ``/s/<channel>[?before=<id>]`` from the messages of a real page, like t.me."""

    def __init__(self, page: str, page_size: int) -> None:
        self.head, self.messages, self.tail = split_messages(page)
        self.page_size = page_size

    def __call__(self, request: Request) -> Reply:
        before = int(request.query["before"]) if "before" in request.query else None
        older = [m for m in self.messages if before is None or message_id_of(m) < before]
        chosen = older[-self.page_size :] if older else []
        body = (self.head + "".join(chosen) + self.tail).encode("utf-8")
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
