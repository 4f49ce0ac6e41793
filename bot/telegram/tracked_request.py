"""The bot's HTTP transport, which tells the delivery log the moment a message goes on the wire.

A delivery part counts as *started* (possibly delivered, so never sent twice) only while its
request is actually out: marked right before the HTTP request is written, and unmarked again
when the answer proves Telegram did not take the message (429, a 5xx, a refused or timed-out
connection). Waiting in a rate limiter, sleeping out a ``retry_after`` or backing off after an
outage therefore never leaves a part marked, and a crash in those moments loses nothing.

The delivery code sets the tracker for the part it is sending in a context variable; every
other request (getUpdates, replies to commands) passes through untouched. The mark is written
synchronously, on the event loop, right before the request: no other task runs between the
commit and the write, so a crash can fall between the two only in a few microseconds of CPU
time. (A part marked but never written is lost, a part written but never marked would be sent
twice: the window cannot be zero, only this small.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

TRACKED_METHODS = frozenset({"sendMessage", "sendPhoto"})


@dataclass(frozen=True, slots=True)
class PartTracker:
    """What to record when a tracked part goes out, and when it proves undelivered."""

    started: Callable[[], None]
    not_sent: Callable[[], None]


_CURRENT: ContextVar[PartTracker | None] = ContextVar("claimwatch_part_tracker", default=None)


@contextlib.contextmanager
def tracking(tracker: PartTracker) -> Iterator[None]:
    """Track the sends made inside the block (in this task only)."""
    token = _CURRENT.set(tracker)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _never_reached_telegram(exc: BaseException) -> bool:
    cause = exc.__cause__
    if isinstance(exc, TimedOut):  # a read or write time-out may have been accepted
        return isinstance(cause, (httpx.ConnectTimeout, httpx.PoolTimeout))
    return isinstance(cause, (httpx.ConnectError, httpx.UnsupportedProtocol))


class TrackedRequest(HTTPXRequest):
    """``HTTPXRequest`` that marks tracked delivery parts started and unmarks refused ones."""

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        tracker = _CURRENT.get()
        if tracker is None or url.rsplit("/", 1)[-1] not in TRACKED_METHODS:
            return await super().do_request(url, method, *args, **kwargs)
        tracker.started()
        try:
            code, payload = await super().do_request(url, method, *args, **kwargs)
        except NetworkError as exc:
            if _never_reached_telegram(exc):
                tracker.not_sent()
            raise
        if code >= 400:  # an error answer: Telegram did not take the message (we read a 5xx so too)
            tracker.not_sent()
        return code, payload


__all__ = ["PartTracker", "TrackedRequest", "tracking"]
