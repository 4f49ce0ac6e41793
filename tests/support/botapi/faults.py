"""Faults a test scripts on the server: failing calls, blocked chats, outages and flood limits."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import ApplicationBuilder

from tests.support.botapi.types import JSONDict, OutageMode
from tests.support.botapi.common import (
    ApiError,
    _CHAT_WRITE_METHODS,
    _Fault,
    _RATE_LIMITED_METHODS,
    _RateLimit,
    _default_description,
    _forbidden_for,
    _guess_chat_type,
    _too_many_requests,
)

logger = logging.getLogger(__name__)



PAID_PER_SECOND = 1000  # Telegram's ceiling for paid broadcasts (allow_paid_broadcast)

class FaultsMixin:
    """Scripted faults (failing calls, blocked chats, outages, flood limits) and PTB helpers.
    Mixed into ``BotApiServer``."""

    # -- faults --------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"`` for any) fail.

        Args:
            method: Bot API method name, e.g. ``"sendMessage"``, or ``"*"``.
            error_code: HTTP status / ``error_code``: 400, 403, 409, 429, 500, 502...
            description: The description; a Telegram-like default per code when omitted.
            retry_after: ``parameters.retry_after`` (defaults to 1 for 429).
            times: How many matching calls fail.
            chat_id: Only calls for this chat match.
            migrate_to_chat_id: ``parameters.migrate_to_chat_id`` (a group became a supergroup).
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _default_description(error_code, retry_after)
        error = ApiError(
            error_code, description, retry_after=retry_after, migrate_to_chat_id=migrate_to_chat_id
        )
        with self._lock:
            self._faults.append(_Fault(method, error, times, chat_id))

    def block_chat(self, chat_id: int, description: str | None = None) -> None:
        """Make every send to the chat fail with 403.

        The default description depends on the chat type, as Telegram's does; for a private
        chat it is "Forbidden: bot was blocked by the user".
        """
        with self._lock:
            chat_type = (
                self._chats[chat_id]["type"]
                if chat_id in self._chats
                else _guess_chat_type(chat_id)
            )
            self._blocked[chat_id] = description or _forbidden_for(chat_type)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo ``block_chat``."""
        with self._lock:
            self._blocked.pop(chat_id, None)

    def set_outage(self, mode: OutageMode | None, retry_after: int = 1) -> None:
        """Fail every method until cleared with ``set_outage(None)``.

        ``"500"``/``"502"`` answer that status, ``"429"`` answers Too Many Requests with
        ``retry_after``, ``"timeout"`` holds requests unanswered until the outage ends (the
        client's read timeout fires first) and then answers 502.
        """
        if mode not in (None, "500", "502", "429", "timeout"):
            raise ValueError(f"unknown outage mode {mode!r}")
        with self._lock:
            self._outage = mode
            self._outage_retry_after = retry_after
        self._notify()

    def rate_limit(
        self,
        per_second_global: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
    ) -> None:
        """Answer 429 with ``retry_after`` when sends exceed Telegram's flood limits."""
        with self._lock:
            self._rate = _RateLimit(per_second_global, per_chat_per_second, per_group_per_minute)

    def clear_rate_limit(self) -> None:
        """Turn flood control off again."""
        with self._lock:
            self._rate = None

    async def _apply_outage(self, gone: asyncio.Event) -> None:
        with self._lock:
            mode, retry_after = self._outage, self._outage_retry_after
        if mode is None:
            return
        if mode == "timeout":
            while self._outage == "timeout" and not self._closing and not gone.is_set():
                await self._wait_change(None, gone)
            raise ApiError(502, "Bad Gateway")
        if mode == "429":
            raise _too_many_requests(retry_after)
        raise ApiError(int(mode), _default_description(int(mode), None))

    def _apply_faults(self, method: str, params: JSONDict) -> None:
        chat_id = params.get("chat_id")
        with self._lock:
            for fault in self._faults:
                if fault.method not in ("*", method):
                    continue
                if fault.chat_id is not None and fault.chat_id != chat_id:
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise fault.error
            if method in _CHAT_WRITE_METHODS and isinstance(chat_id, int):
                if chat_id in self._blocked:
                    raise ApiError(403, self._blocked[chat_id])
                if chat_id in self._left:
                    chat_type = self._chat(chat_id)["type"]
                    raise ApiError(403, f"Forbidden: bot is not a member of the {chat_type} chat")
            if method in _RATE_LIMITED_METHODS and self._rate is not None and chat_id is not None:
                paid = params.get("allow_paid_broadcast") in (True, "true", "True")
                self._check_rate(self._rate, chat_id, paid)

    @staticmethod
    def _check_rate(rate: _RateLimit, chat_id: int | str, paid: bool = False) -> None:
        """Telegram's flood limits; a paid broadcast may go past the free global 30 a second, up to
        1,000 (the per-chat and per-group limits stay)."""
        now = time.monotonic()
        windows: list[tuple[deque[float], int, float]] = [
            (rate.global_window, PAID_PER_SECOND if paid else rate.per_second_global, 1.0),
            (rate.chat_windows.setdefault(chat_id, deque()), rate.per_chat_per_second, 1.0),
        ]
        if isinstance(chat_id, int) and chat_id < 0:
            windows.append(
                (rate.group_windows.setdefault(chat_id, deque()), rate.per_group_per_minute, 60.0)
            )
        for window, limit, span in windows:
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                raise _too_many_requests(max(1, math.ceil(window[0] + span - now)))
        for window, _, _ in windows:
            window.append(now)

    # -- PTB helpers -----------------------------------------------------------------------------

    def make_bot(self, **request_kwargs: Any) -> Bot:
        """A ``telegram.Bot`` pointed at this server (call ``initialize()``/use ``async with``)."""
        from telegram import Bot
        from telegram.request import HTTPXRequest

        return Bot(
            self._token,
            base_url=self.base_url,
            base_file_url=self.base_file_url,
            request=HTTPXRequest(**request_kwargs),
        )

    def application_builder(self) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """``Application.builder()`` with token, base_url and base_file_url set for this server."""
        from telegram.ext import Application

        return (
            Application.builder()
            .token(self._token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )
