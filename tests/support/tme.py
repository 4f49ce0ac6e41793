"""t.me on loopback: public channel web previews (``/s/<channel>``) for as many channels as a test
or a benchmark fills, counting the requests each channel gets.

``TmeServer`` is a threaded ``http.server`` on 127.0.0.1 (a free port). A channel's page holds
its newest ``page_size`` posts, oldest first; ``?before=<id>`` gives the posts older than that id,
as t.me does. The markup is the part of t.me's that claimwatch's preview parser reads (message
bubbles with ``data-post``, the text element, the footer's ``<time datetime>``, the channel title).
Post texts come from the caller, e.g. the real corpus messages ``corpus_texts`` reads from
``../shared`` (they are read there, never copied into the repository).
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """One post a channel shows: its id, when it was posted (aware) and its text."""

    message_id: int
    posted_at: datetime
    text: str


def corpus_texts(folder: Path) -> list[str]:
    """The message texts of every Telegram Desktop export (``*.json`` with ``messages``) in ``folder``."""
    texts: list[str] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            continue
        for message in data["messages"]:
            text = message.get("text")
            if isinstance(text, list):  # the export's mixed form: strings and entities
                text = "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in text)
            if isinstance(text, str) and text.strip():
                texts.append(text)
    return texts


class TmeServer:
    """Channel web previews on 127.0.0.1; ``requests_for(channel)`` counts what each channel was asked."""

    def __init__(self, page_size: int = 20) -> None:
        self.page_size = page_size
        self._lock = threading.Lock()
        self._channels: dict[str, tuple[str, list[ChannelPost]]] = {}
        self._requests: Counter[str] = Counter()
        self._stalls: dict[str, float] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        """What ``CLAIMWATCH_TME_URL`` should be."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def add_posts(self, channel: str, posts: Iterable[ChannelPost], title: str | None = None) -> None:
        """Publish ``posts`` in ``channel`` (created with ``title`` when new)."""
        with self._lock:
            name, current = self._channels.get(channel.lower(), (title or channel, []))
            merged = {p.message_id: p for p in current}
            merged.update((p.message_id, p) for p in posts)
            self._channels[channel.lower()] = (title or name, sorted(merged.values(), key=lambda p: p.message_id))

    def stall_next(self, channel: str, seconds: float) -> None:
        """Answer the next request for ``channel`` only after ``seconds`` (a poll caught mid-way)."""
        with self._lock:
            self._stalls[channel.lower()] = seconds

    def requests_for(self, channel: str) -> int:
        """How many pages of ``channel`` were requested."""
        with self._lock:
            return self._requests[channel.lower()]

    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests)

    def page(self, channel: str, before: int | None) -> str | None:
        """The page's HTML (the newest posts, or those before ``before``); None for no such channel."""
        with self._lock:
            self._requests[channel.lower()] += 1
            stall = self._stalls.pop(channel.lower(), 0.0)
        if stall:
            time.sleep(stall)
        with self._lock:
            found = self._channels.get(channel.lower())
            if found is None:
                return None
            title, posts = found
            older = [p for p in posts if before is None or p.message_id < before]
            shown = older[-self.page_size:]
        bubbles = "".join(_bubble(channel, post) for post in shown)
        safe_title = html.escape(title)
        return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta property="og:title" content="{safe_title}">'
                f'</head><body><header class="tgme_header"><div class="tgme_header_title">{safe_title}</div></header>'
                f'<main><section class="tgme_channel_history js-message_history">{bubbles}</section></main>'
                f"</body></html>")


def _bubble(channel: str, post: ChannelPost) -> str:
    text = "<br/>".join(html.escape(line) for line in post.text.split("\n"))
    return (f'<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message js-widget_message" data-post="{channel}/{post.message_id}">'
            f'<div class="tgme_widget_message_bubble">'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            f'<div class="tgme_widget_message_footer"><div class="tgme_widget_message_info">'
            f'<span class="tgme_widget_message_views">1.2K</span><span class="tgme_widget_message_meta">'
            f'<a class="tgme_widget_message_date" href="https://t.me/{channel}/{post.message_id}">'
            f'<time datetime="{post.posted_at.isoformat()}" class="time">{post.posted_at:%H:%M}</time></a>'
            f"</span></div></div></div></div></div>")


def _handler(server: TmeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            body: str | None = None
            if parts.path.startswith("/s/"):
                before = query.get("before")
                body = server.page(unquote(parts.path[3:]).strip("/"),
                                   int(before) if before and before.isdigit() else None)
            data = (body or "not found").encode("utf-8")
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if body is not None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
