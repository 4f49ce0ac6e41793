"""What the bot did, as the test server recorded it, and waiting for it."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable



from tests.support.botapi.types import JSONDict
from tests.support.botapi.common import (
    _NEW_MESSAGE_METHODS,
    _refuse_inside_event_loop,
    _scope_key,
    _sent_description,
)

logger = logging.getLogger(__name__)


class RecordsMixin:
    """What the bot did (calls, sends, answers, menus) and waiting for it. Mixed into ``BotApiServer``."""

    # -- what the bot did --------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, JSONDict]]:
        """Every API call so far, ``(method, params)``, including refused ones (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[JSONDict]:
        """Params of every call of one method."""
        with self._lock:
            return [params for name, params in self._calls if name == method]

    @property
    def sent(self) -> list[JSONDict]:
        """Every successful sendMessage/sendPhoto/sendDocument/edit.../deleteMessage (a copy).

        Each record has ``method``, ``chat_id``, ``message_id``, ``text`` (as sent, with
        markup), ``plain_text`` (after entity parsing), ``caption``, ``parse_mode``,
        ``entities``, ``reply_markup``, ``date``; uploads add ``photo_size``/``photo_is_png``/
        ``photo_width``/``photo_height`` or ``document_size``/``document_name``/
        ``document_mime_type``.
        """
        with self._lock:
            return list(self._sent)

    def messages_to(self, chat_id: int) -> list[JSONDict]:
        """New messages (sendMessage/sendPhoto/sendDocument) the bot sent to one chat."""
        with self._lock:
            return [
                r
                for r in self._sent
                if r["chat_id"] == chat_id and r["method"] in _NEW_MESSAGE_METHODS
            ]

    @property
    def callback_answers(self) -> list[JSONDict]:
        """Params of every successful answerCallbackQuery."""
        with self._lock:
            return list(self._callback_answers)

    @property
    def too_many_requests(self) -> int:
        """How many calls were answered 429 Too Many Requests (flood control, faults, outages)."""
        with self._lock:
            return self._too_many_requests

    @property
    def server_errors(self) -> list[str]:
        """Unexpected exceptions inside the server (should stay empty)."""
        with self._lock:
            return list(self._server_errors)

    def commands(
        self, scope: JSONDict | str = "default", language_code: str = ""
    ) -> list[JSONDict] | None:
        """The command menu registered for a scope and language, or None if never set.

        ``scope`` is a BotCommandScope dict (``{"type": "chat", "chat_id": 5}``) or its type.
        """
        key = _scope_key(scope if isinstance(scope, dict) else {"type": scope})
        with self._lock:
            menu = self._commands.get((key, language_code))
            return None if menu is None else [dict(c) for c in menu]

    @property
    def command_menus(self) -> dict[tuple[str, str], list[JSONDict]]:
        """All registered menus by (scope key, language code)."""
        with self._lock:
            return {key: [dict(c) for c in menu] for key, menu in self._commands.items()}

    @property
    def webhook(self) -> JSONDict:
        """The webhook as set: ``{"url": ..., "secret_token": ...}`` (url ``""`` if none)."""
        with self._lock:
            return {"url": self._webhook_url, "secret_token": self._webhook_secret}

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """A stored message (sent by the bot or built for a user), as Telegram would show it."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            return None if stored is None else copy.deepcopy(stored)

    def uploaded_file(self, file_id: str) -> bytes:
        """The bytes of a file the bot uploaded."""
        with self._lock:
            return self._files[file_id].data

    def reset_records(self) -> None:
        """Forget recorded calls, sends and callback answers (state such as chats stays)."""
        with self._lock:
            self._calls.clear()
            self._sent.clear()
            self._callback_answers.clear()
            self._too_many_requests = 0

    # -- waiting -------------------------------------------------------------------------------

    def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 10,
        *,
        what: str | None = None,
        interval: float = 0.01,
    ) -> None:
        """Poll ``predicate()`` until it is truthy; AssertionError after ``timeout`` seconds.

        Blocking: in an async test use ``await server.wait_for_async(...)``, or the bot under
        test cannot run meanwhile.
        """
        _refuse_inside_event_loop("wait_for")
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(predicate, timeout, what))
            time.sleep(interval)

    async def wait_for_async(
        self,
        predicate: Callable[[], object],
        timeout: float = 10,
        *,
        what: str | None = None,
        interval: float = 0.01,
    ) -> None:
        """``wait_for`` for async tests: awaits between polls."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(predicate, timeout, what))
            await asyncio.sleep(interval)

    def wait_for_sent(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        method: str | None = None,
        timeout: float = 10,
    ) -> list[JSONDict]:
        """Wait until ``count`` matching records are in ``sent``; returns all matching ones."""
        self.wait_for(
            lambda: len(self._matching_sent(chat_id, method)) >= count,
            timeout,
            what=_sent_description(count, chat_id, method),
        )
        return self._matching_sent(chat_id, method)

    async def wait_for_sent_async(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        method: str | None = None,
        timeout: float = 10,
    ) -> list[JSONDict]:
        """``wait_for_sent`` for async tests."""
        await self.wait_for_async(
            lambda: len(self._matching_sent(chat_id, method)) >= count,
            timeout,
            what=_sent_description(count, chat_id, method),
        )
        return self._matching_sent(chat_id, method)

    def _matching_sent(self, chat_id: int | None, method: str | None) -> list[JSONDict]:
        with self._lock:
            return [
                r
                for r in self._sent
                if (chat_id is None or r["chat_id"] == chat_id)
                and (method is None or r["method"] == method)
            ]

    def _timeout_message(
        self, predicate: Callable[[], object], timeout: float, what: str | None
    ) -> str:
        description = what or getattr(predicate, "__name__", repr(predicate))
        with self._lock:
            calls = [name for name, _ in self._calls if name != "getUpdates"][-10:]
            sent = [
                {
                    k: r[k]
                    for k in ("method", "chat_id", "plain_text", "caption")
                    if r.get(k) is not None
                }
                for r in self._sent[-5:]
            ]
            pending = len(self._updates)
            errors = list(self._server_errors)
        polls = sum(1 for name, _ in self.calls if name == "getUpdates")
        lines = [
            f"Timed out after {timeout} s waiting for {description}.",
            f"  last API calls (getUpdates left out, {polls} made): {calls}",
            f"  last sent: {sent}",
            f"  updates not yet fetched by the bot: {pending}",
        ]
        if errors:
            lines.append(f"  server errors: {errors}")
        return "\n".join(lines)
