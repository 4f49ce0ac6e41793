"""The project's Bot API test server, noting the moment each message the bot sends reaches it.

``BotApiServer.sent`` dates messages in whole seconds, which is too coarse for reply latency on
loopback; this subclass adds a ``time.perf_counter()`` stamp per successful send, taken when the
request reaches the server (before it is parsed or answered), so a benchmark in the same process
can subtract the moment it queued the user's update.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.support.botapi import BotApiServer

SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})


class ClockedBotApiServer(BotApiServer):
    """``BotApiServer`` that also records when each successful send reached it, per chat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arrived = threading.Condition()
        self._arrivals: dict[int, list[tuple[float, str]]] = {}

    async def _dispatch(self, token: str, raw_method: str, params: dict[str, Any],
                        gone: Any) -> tuple[int, dict[str, Any]]:
        arrived = time.perf_counter()
        status, payload = await super()._dispatch(token, raw_method, params, gone)
        chat_id = params.get("chat_id")
        if status == 200 and raw_method.lower() in SEND_METHODS and isinstance(chat_id, int):
            with self._arrived:
                self._arrivals.setdefault(chat_id, []).append((arrived, raw_method))
                self._arrived.notify_all()
        return status, payload

    def arrivals(self, chat_id: int) -> list[float]:
        """``perf_counter`` moments at which the sends to ``chat_id`` that succeeded reached the server."""
        with self._arrived:
            return [t for t, _ in self._arrivals.get(chat_id, [])]

    def all_arrivals(self) -> dict[int, list[float]]:
        with self._arrived:
            return {chat: [t for t, _ in stamps] for chat, stamps in self._arrivals.items()}

    def wait_arrivals(self, chat_id: int, count: int, timeout: float) -> list[float]:
        """Block (outside any event loop) until ``count`` sends to ``chat_id`` arrived; returns their moments.

        Raises:
            TimeoutError: fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._arrivals.get(chat_id, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._arrivals.get(chat_id, []))} of {count} sends to chat "
                                       f"{chat_id} within {timeout} s")
                self._arrived.wait(left)
            return [t for t, _ in self._arrivals[chat_id]]
