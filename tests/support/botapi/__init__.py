"""A small but real Telegram Bot API server for tests and benchmarks, as a package: ``server`` (tornado
on 127.0.0.1, dispatch, the pytest fixture), ``methods`` (the Bot API methods), ``html`` (Telegram
HTML), ``updates`` (updates the server builds for the bot), ``records`` (what the bot did, waiting),
``faults`` (scripted failures) and ``common`` (limits, errors, helpers).

``BotApiServer`` runs a tornado HTTP server on ``127.0.0.1`` (a free port) in a background
thread with its own event loop, so sync tests, async tests and benchmark scripts can all drive
it. It speaks Telegram's wire format: ``GET/POST /bot<token>/<method>`` with JSON,
form-urlencoded or multipart bodies, answering ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``. Point
python-telegram-bot at it with ``base_url(server.base_url)`` and ``base_file_url(
server.base_file_url)`` (or use ``server.application_builder()`` / ``server.make_bot()``).

What a test can do with it:

- play users: ``user_message``, ``channel_post``, ``forwarded_message``, ``callback_query``,
  ``my_chat_member`` build realistic updates and queue them (``push_update``) for
  ``getUpdates`` long polling, or deliver them to a loopback webhook set with ``setWebhook``;
  ``post_webhook`` POSTs one update to any webhook URL directly;
- see what the bot did: ``sent`` (successful sends/edits/deletes), ``messages_to(chat_id)``,
  ``calls`` (every API call), ``too_many_requests`` (429 answers), ``callback_answers``,
  ``commands(...)``, ``webhook``;
- script faults: ``fail_next``, ``block_chat``, ``set_outage``, ``rate_limit``;
- wait: ``wait_for`` / ``wait_for_sent`` (sync) and ``wait_for_async`` /
  ``wait_for_sent_async`` (for async tests, whose loop must keep running).

HTML ``parse_mode`` is validated like Telegram's own parser (tdlib ``parse_html``): allowed
tags only, properly nested and closed, with Telegram's error wording. One deliberate
difference: by default (``strict_ampersand=True``) a bare ``&`` that does not start an
entity is rejected, whereas Telegram would show it literally; such text is a missing
``html.escape`` in our code. ``MarkdownV2`` is accepted without validation.

The bot token never reaches a log line: request logging is redacted.

Example::

    with BotApiServer() as server:
        app = server.application_builder().build()
        ...
        server.user_message("/start", user_id=42)
        server.wait_for_sent(chat_id=42)
"""

from __future__ import annotations

import logging

from tests.support.botapi.types import JSONDict, OutageMode
from tests.support.botapi.common import (
    ApiError,
    DEFAULT_BOT_USERNAME,
    DEFAULT_TOKEN,
    JPEG_SIGNATURE,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_UTF16,
    MAX_TEXT_UTF16,
    PNG_SIGNATURE,
    UploadedFile,
)
from tests.support.botapi.html import HtmlParseError, detect_entities, parse_html, utf16_len
from tests.support.botapi.server import BotApiServer, botapi_server

logger = logging.getLogger(__name__)

__all__ = ["ApiError", "BotApiServer", "DEFAULT_BOT_USERNAME", "DEFAULT_TOKEN", "HtmlParseError", "JPEG_SIGNATURE", "JSONDict", "MAX_CALLBACK_DATA_BYTES", "MAX_CAPTION_UTF16", "MAX_TEXT_UTF16", "OutageMode", "PNG_SIGNATURE", "UploadedFile", "botapi_server", "detect_entities", "parse_html", "utf16_len"]
