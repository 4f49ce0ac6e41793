"""A small but real Telegram Bot API server for tests and benchmarks.

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

import asyncio
import contextlib
import copy
import hmac
import inspect
import itertools
import json
import logging
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import ApplicationBuilder

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
OutageMode = Literal["500", "502", "429", "timeout"]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
DEFAULT_BOT_USERNAME = "claimwatch_test_bot"

MAX_TEXT_UTF16 = 4096
MAX_CAPTION_UTF16 = 1024
MAX_CALLBACK_DATA_BYTES = 64

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

# Updates Telegram does not send unless asked for in ``allowed_updates``.
_NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_INT_FIELDS = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "message_thread_id", "user_id", "offset",
        "limit", "timeout", "cache_time", "max_connections", "reply_to_message_id", "until_date",
    }
)  # fmt: skip
_BOOL_FIELDS = frozenset(
    {
        "disable_notification", "protect_content", "allow_sending_without_reply",
        "disable_web_page_preview", "drop_pending_updates", "show_alert", "has_spoiler",
        "disable_content_type_detection", "show_caption_above_media", "allow_paid_broadcast",
        "only_if_banned", "revoke_messages",
    }
)  # fmt: skip
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
        "link_preview_options", "reply_parameters", "media", "menu_button", "reaction",
    }
)  # fmt: skip

# Methods that put something in a chat (blocked/left chats refuse them).
_CHAT_WRITE_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageCaption",
        "editMessageReplyMarkup", "sendChatAction", "pinChatMessage", "unpinChatMessage",
    }
)  # fmt: skip
# Methods counted by the optional flood control.
_RATE_LIMITED_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageCaption",
        "editMessageReplyMarkup",
    }
)  # fmt: skip
_NEW_MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
# Accepted and recorded, with no state of their own.
_NO_OP_METHODS = (
    "setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton",
    "setMyDefaultAdministratorRights", "pinChatMessage", "unpinChatMessage", "setMessageReaction",
    "sendChatAction",
)  # fmt: skip

_CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_TEXT_BUTTONS_UNALLOWED = (
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# ---------------------------------------------------------------------------------------------
# Errors and small values
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> JSONDict:
        """Return the JSON body Telegram sends for this error."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters: JSONDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request, as the bot uploaded it."""

    field_name: str
    file_name: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """Number of bytes uploaded."""
        return len(self.data)


@dataclass(slots=True)
class _Fault:
    method: str  # canonical method name or "*"
    error: ApiError
    times: int
    chat_id: int | str | None


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)


@dataclass(slots=True)
class _RateLimit:
    per_second_global: int
    per_chat_per_second: int
    per_group_per_minute: int
    global_window: deque[float] = field(default_factory=deque)
    chat_windows: dict[int | str, deque[float]] = field(default_factory=dict)
    group_windows: dict[int | str, deque[float]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Telegram's HTML parse mode
# ---------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """Text that Telegram refuses with ``can't parse entities``."""


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
        "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_TAG_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre",
}  # fmt: skip
_HTML_SPACES = " \t\r\n\f\v"
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_UNQUOTED_VALUE_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's limits and offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[str, int, bool] | None:
    """Decode the HTML entity at ``text[pos] == "&"`` the way tdlib does.

    Returns:
        (decoded character, index after the entity, whether a ``;`` ended it), or None when
        Telegram would keep the ``&`` as a literal character.
    """
    n = len(text)
    i = pos + 1
    code: int
    if i < n and text[i] == "#":
        i += 1
        if i < n and text[i] in "xX":
            i += 1
            start = i
            while i < n and text[i] in "0123456789abcdefABCDEF":
                i += 1
            digits, base = text[start:i], 16
        else:
            start = i
            while i < n and text[i].isascii() and text[i].isdigit():
                i += 1
            digits, base = text[start:i], 10
        if not digits or len(digits) > 7:
            return None
        code = int(digits, base)
        if code == 0 or code > 0x10FFFF:
            return None
        decoded = chr(code)
    else:
        start = i
        while i < n and text[i].isascii() and text[i].isalpha():
            i += 1
        name = text[start:i]
        if name not in _NAMED_ENTITIES:
            return None
        decoded = _NAMED_ENTITIES[name]
    if i < n and text[i] == ";":
        return decoded, i + 1, True
    return decoded, i, False


def parse_html(html: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram's HTML parse mode into plain text and message entities.

    Follows tdlib's ``parse_html``: the tags Telegram documents, attributes quoted or not,
    the entities ``&lt; &gt; &amp; &quot;`` and numeric ones, and its error wording.

    Args:
        html: The text as the bot sent it with ``parse_mode="HTML"``.
        strict_ampersand: Also refuse an ``&`` that does not start an entity terminated by
            ``;`` (Telegram itself would show it literally).

    Returns:
        The plain text and its entities (UTF-16 offsets), sorted as Telegram sorts them.

    Raises:
        HtmlParseError: With Telegram's message, e.g. ``Unsupported start tag "foo" at byte
            offset 3``.
    """
    n = len(html)
    out: list[str] = []
    utf16 = 0
    # open tags: (name, attributes, utf16 offset where the entity starts)
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < n:
        ch = html[i]
        if ch == "&":
            decoded = _decode_entity(html, i)
            if decoded is not None and (decoded[2] or not strict_ampersand):
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(html, i)} (the test server '
                    "is strict here: Telegram would show it as text; escape it with html.escape)"
                )
        if ch != "<":
            out.append(ch)
            utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i >= n or html[i] != "/":  # a start tag
            while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(html, begin)}"
                )
            tag = html[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                )
            attributes: dict[str, str] = {}
            while html[i] != ">":
                while i < n and html[i] in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if html[i] == ">":
                    break
                name_start = i
                while i < n and html[i] not in _HTML_SPACES and html[i] not in "=>":
                    i += 1
                attr_name = html[name_start:i].lower()
                if not attr_name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(html, begin)}"
                    )
                while i < n and html[i] in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if html[i] != "=":  # a valueless attribute, e.g. <blockquote expandable>
                    attributes[attr_name] = ""
                    continue
                i += 1
                while i < n and html[i] in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if html[i] in "\"'":
                    quote = html[i]
                    i += 1
                    value_start = i
                    while i < n and html[i] != quote:
                        i += 1
                    if i >= n:
                        raise HtmlParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(html, begin)}"
                        )
                    value = _unescape_attribute(html[value_start:i])
                    i += 1
                else:
                    value_start = i
                    while i < n and html[i] in _UNQUOTED_VALUE_CHARS:
                        i += 1
                    if i >= n:
                        raise HtmlParseError(
                            f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                        )
                    if html[i] not in _HTML_SPACES and html[i] != ">":
                        raise HtmlParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(html, value_start)}"
                        )
                    value = html[value_start:i]
                attributes[attr_name] = value
            if tag == "span" and attributes.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(html, begin)}"
                )
            if tag == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
                raise HtmlParseError("Invalid custom emoji identifier specified")
            stack.append((tag, attributes, utf16))
            i += 1
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(html, begin)}")
        i += 1
        while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
            i += 1
        end_tag = html[begin + 2 : i].lower()
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n or html[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(html, begin)}")
        tag, attributes, start = stack.pop()
        if end_tag and end_tag != tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {_byte_offset(html, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        i += 1
        length = utf16 - start
        if length <= 0:
            continue
        entity = _entity_for_tag(tag, attributes, start, length, "".join(out), stack, entities)
        if entity is not None:
            entities.append(entity)

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    text = "".join(out)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, entities


def _unescape_attribute(value: str) -> str:
    parts: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_entity(value, i)) is not None:
            parts.append(decoded[0])
            i = decoded[1]
        else:
            parts.append(value[i])
            i += 1
    return "".join(parts)


def _entity_for_tag(
    tag: str,
    attributes: dict[str, str],
    offset: int,
    length: int,
    text_so_far: str,
    open_tags: list[tuple[str, dict[str, str], int]],
    entities: list[JSONDict],
) -> JSONDict | None:
    entity: JSONDict = {"offset": offset, "length": length}
    if tag == "a":
        href = attributes.get("href", "")
        if href.startswith("tg://user?id=") and href[len("tg://user?id=") :].isdigit():
            user_id = int(href[len("tg://user?id=") :])
            entity.update(
                type="text_mention", user={"id": user_id, "is_bot": False, "first_name": ""}
            )
            return entity
        if not href:
            return None
        entity.update(type="text_link", url=href)
        return entity
    if tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=attributes["emoji-id"])
        return entity
    if tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attributes else "blockquote"
        return entity
    if tag == "code":
        language = attributes.get("class", "")
        if language.startswith("language-") and open_tags and open_tags[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language
            open_tags[-1][1]["language"] = language[len("language-") :]
            return None
    if tag == "pre" and attributes.get("language"):
        entity.update(type="pre", language=attributes["language"])
        return entity
    entity["type"] = _TAG_ENTITY_TYPES[tag]
    return entity


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading/trailing whitespace as Telegram does, keeping entities in place."""
    stripped = text.lstrip()
    shift = utf16_len(text[: len(text) - len(stripped)])
    stripped = stripped.rstrip()
    end = utf16_len(stripped)
    trimmed: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            trimmed.append({**entity, "offset": start, "length": stop - start})
    return stripped, trimmed


_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![^\s])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<url>https?://[^\s<>\"]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32})"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
)


def detect_entities(text: str) -> list[JSONDict]:
    """Find the entities Telegram marks by itself in a user's text.

    Detects ``bot_command``, ``url``, ``mention`` and ``hashtag`` with UTF-16 offsets.
    """
    entities: list[JSONDict] = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(PNG_SIGNATURE) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class BotApiServer:
    """A Telegram Bot API server on 127.0.0.1 for one bot, run in a background thread.

    Use as a context manager (``with BotApiServer() as server:``), through the
    ``botapi_server`` pytest fixture, or with ``start()``/``stop()``. All public methods are
    thread-safe and may be called from any thread; the blocking ones (``wait_for``,
    ``wait_for_sent``, ``post_webhook``) refuse to run inside an event loop and have
    ``*_async`` twins for async tests.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        *,
        bot_first_name: str = "Claimwatch Test Bot",
        strict_ampersand: bool = True,
        latency: float = 0.0,
    ) -> None:
        """Prepare a server (not started yet).

        Args:
            token: The only token accepted; its numeric part is the bot's user id.
            bot_username: The bot's username, without ``@``.
            bot_first_name: The bot's display name.
            strict_ampersand: Refuse a bare ``&`` in HTML text (see ``parse_html``).
            latency: Seconds every API call except ``getUpdates`` waits before answering
                (for benchmarks).
        """
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("token must look like '<bot id>:<secret>'")
        self._token = token
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.strict_ampersand = strict_ampersand
        self.latency = latency

        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._closing = False
        self.port = 0

        # updates waiting for getUpdates / the webhook
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(100_001)
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        # webhook
        self._webhook_url = ""
        self._webhook_secret: str | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status or 0)
        # chats, users, messages
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._admins: dict[int, tuple[int | None, list[int]]] = {}
        self._blocked: dict[int, str] = {}
        self._left: set[int] = set()
        self._callback_ids: set[str] = set()
        self._callback_counter = itertools.count(1)
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        # records
        self._calls: list[tuple[str, JSONDict]] = []
        self._sent: list[JSONDict] = []
        self._callback_answers: list[JSONDict] = []
        self._server_errors: list[str] = []
        self._too_many_requests = 0
        # faults
        self._faults: list[_Fault] = []
        self._outage: OutageMode | None = None
        self._outage_retry_after = 1
        self._rate: _RateLimit | None = None

        self._methods: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "leaveChat": self._leave_chat,
            "getFile": self._get_file,
        }
        for name in _NO_OP_METHODS:
            self._methods[name] = self._no_op
        self._canonical = {name.lower(): name for name in self._methods}

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` wants: requests go to ``base_url + token + "/" + method``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's ``base_file_url`` wants, for downloading files the bot uploaded."""
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        """The bot token the server accepts."""
        return self._token

    @property
    def bot_id(self) -> int:
        """The bot's user id."""
        return int(self.bot_user["id"])

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._thread is not None:
            raise RuntimeError("BotApiServer is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="botapi-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("BotApiServer did not start within 10 s")
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("BotApiServer failed to start") from failure[0]
        logger.debug("Bot API test server listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving: release held requests, close connections, join the thread."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError("BotApiServer thread did not stop within 10 s")
        self._thread = None
        self._loop = None
        self._stop_event = None

    def __enter__(self) -> BotApiServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # reported to start()
            failure.append(exc)
            ready.set()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stop_event = asyncio.Event()
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z_]+)/?", _ApiHandler, {"server": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"server": self}),
                (r".*", _NotFoundHandler),
            ],
            log_function=self._log_request,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        http_server = tornado.httpserver.HTTPServer(app)
        http_server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        client = httpx.AsyncClient(timeout=5)
        delivery = asyncio.create_task(self._deliver_webhook_updates(client))
        ready.set()
        try:
            await self._stop_event.wait()
        finally:
            self._closing = True
            http_server.stop()
            self._wake_all()
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
            await asyncio.sleep(0.01)  # let woken handlers answer
            try:
                await asyncio.wait_for(http_server.close_all_connections(), timeout=3)
            except TimeoutError:
                logger.warning("Bot API test server: connections did not close in time")
            await client.aclose()

    def _log_request(self, handler: tornado.web.RequestHandler) -> None:
        # Replaces tornado's access log, which would print the token in the URI.
        method = getattr(handler, "api_method", None) or "-"
        logger.debug(
            "%s %s -> %d (%.1f ms)",
            handler.request.method,
            method,
            handler.get_status(),
            1000.0 * handler.request.request_time(),
        )

    # -- waking waiters ------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake long polls, held requests and the webhook sender after a state change."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if _running_loop() is loop:
                self._wake_all()
            else:
                loop.call_soon_threadsafe(self._wake_all)
        except RuntimeError:  # loop closed between the check and the call
            pass

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_change(self, timeout: float | None, gone: asyncio.Event | None = None) -> None:
        """Wait (in the server loop) until ``_wake_all`` runs, ``gone`` is set or time is up."""
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.add(waiter)
        waits: list[asyncio.Future[Any]] = [waiter]
        gone_task: asyncio.Task[bool] | None = None
        if gone is not None:
            gone_task = asyncio.ensure_future(gone.wait())
            waits.append(gone_task)
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiters.discard(waiter)
            if gone_task is not None:
                gone_task.cancel()

    # -- driving the bot: updates ----------------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for ``getUpdates`` (or the loopback webhook); returns it.

        An ``update_id`` is assigned when missing.
        """
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
        self._notify()
        return update

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (``getUpdates`` offset) or delivered."""
        with self._lock:
            return list(self._updates)

    def user_message(
        self,
        text: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: Literal["private", "group", "supergroup"] = "private",
        chat_title: str = "Test group",
        language_code: str | None = "en",
        username: str | None = None,
        first_name: str | None = None,
        entities: list[JSONDict] | None = None,
        reply_to_message_id: int | None = None,
        edited: bool = False,
        message_id: int | None = None,
        push: bool = True,
    ) -> JSONDict:
        """Build (and by default queue) an update with a user's text message.

        Args:
            text: What the user typed.
            user_id: The sender.
            chat_id: The chat; defaults to ``user_id`` for private chats, required otherwise.
            chat_type: ``private``, ``group`` or ``supergroup``.
            chat_title: Title of a group chat.
            language_code: The sender's client language (``None`` to omit it).
            username: The sender's username, without ``@``.
            first_name: The sender's first name (default ``User<id>``).
            entities: Entities of the text; ``None`` detects bot commands, URLs, mentions and
                hashtags like Telegram does; ``[]`` for none.
            reply_to_message_id: A message in the same chat this one replies to.
            edited: Build an ``edited_message`` update of ``message_id`` (default: the last
                message of this user in the chat).
            message_id: Force the message id.
            push: Queue the update (``push_update``).

        Returns:
            The update as a dict.
        """
        if chat_id is None:
            if chat_type != "private":
                raise ValueError("chat_id is required for group chats")
            chat_id = user_id
        user = self._remember_user(user_id, username, first_name, language_code)
        if chat_type == "private":
            chat = self._remember_chat(
                {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                | ({"username": username} if username else {})
            )
        else:
            chat = self._remember_chat({"id": chat_id, "type": chat_type, "title": chat_title})
        with self._lock:
            if edited and message_id is None:
                message_id = self._last_message_id(chat_id, from_id=user_id)
            message: JSONDict = {
                "message_id": message_id
                if message_id is not None
                else self._new_message_id(chat_id),
                "date": int(time.time()),
                "chat": chat,
                "from": user,
                "text": text,
            }
            if edited:
                message["edit_date"] = int(time.time())
            found = entities if entities is not None else detect_entities(text)
            if found:
                message["entities"] = found
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is not None:
                    message["reply_to_message"] = {
                        k: v for k, v in replied.items() if k != "reply_to_message"
                    }
            self._messages[(chat_id, message["message_id"])] = message
        update: JSONDict = {
            "update_id": self._next_update_id(),
            "edited_message" if edited else "message": message,
        }
        return self.push_update(update) if push else update

    def channel_post(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        message_id: int | None = None,
        edited: bool = False,
        caption: str | None = None,
        title: str = "Test channel",
        username: str | None = None,
        author_signature: str | None = None,
        date: int | None = None,
        entities: list[JSONDict] | None = None,
        push: bool = True,
    ) -> JSONDict:
        """Build (and by default queue) a ``channel_post`` / ``edited_channel_post`` update.

        Give ``text`` for a text post or ``caption`` for a photo post with a caption. For an
        edit, ``message_id`` defaults to the channel's last post.
        """
        if (text is None) == (caption is None):
            raise ValueError("give exactly one of text or caption")
        chat = self._remember_chat(
            {"id": chat_id, "type": "channel", "title": title}
            | ({"username": username} if username else {})
        )
        with self._lock:
            if message_id is None:
                message_id = (
                    self._last_message_id(chat_id) if edited else self._new_message_id(chat_id)
                )
            else:
                self._next_message_id[chat_id] = max(
                    self._next_message_id.get(chat_id, 1), message_id + 1
                )
            now = int(time.time())
            original = self._messages.get((chat_id, message_id))
            message: JSONDict = {
                "message_id": message_id,
                "date": date or (original["date"] if edited and original else now),
                "chat": chat,
                "sender_chat": chat,
            }
            body = text if text is not None else caption
            assert body is not None
            found = entities if entities is not None else detect_entities(body)
            if text is not None:
                message["text"] = text
                if found:
                    message["entities"] = found
            else:
                message["caption"] = caption
                message["photo"] = [self._fake_photo_size()]
                if found:
                    message["caption_entities"] = found
            if author_signature:
                message["author_signature"] = author_signature
            if edited:
                message["edit_date"] = now
            self._messages[(chat_id, message_id)] = message
        update = {
            "update_id": self._next_update_id(),
            "edited_channel_post" if edited else "channel_post": message,
        }
        return self.push_update(update) if push else update

    def forwarded_message(
        self,
        text: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        from_chat_id: int | None = None,
        from_chat_title: str = "Source channel",
        from_chat_username: str | None = None,
        from_message_id: int | None = None,
        from_user_id: int | None = None,
        hidden_sender_name: str | None = None,
        original_date: int | None = None,
        push: bool = True,
    ) -> JSONDict:
        """Build (and by default queue) a message a user forwarded to the bot.

        The origin is a channel post (``from_chat_id``, the default with a made-up channel), a
        user (``from_user_id``) or a user hiding their account (``hidden_sender_name``).
        """
        origin_date = original_date or int(time.time()) - 60
        origin: JSONDict
        if from_user_id is not None:
            origin = {"type": "user", "date": origin_date, "sender_user": self._user(from_user_id)}
        elif hidden_sender_name is not None:
            origin = {
                "type": "hidden_user",
                "date": origin_date,
                "sender_user_name": hidden_sender_name,
            }
        else:
            source_id = from_chat_id if from_chat_id is not None else -1001000000999
            source = {"id": source_id, "type": "channel", "title": from_chat_title}
            if from_chat_username:
                source["username"] = from_chat_username
            origin = {
                "type": "channel",
                "date": origin_date,
                "chat": source,
                "message_id": from_message_id if from_message_id is not None else 1,
            }
        update = self.user_message(text, user_id=user_id, chat_id=chat_id, push=False)
        update["message"]["forward_origin"] = origin
        return self.push_update(update) if push else update

    def callback_query(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        push: bool = True,
    ) -> JSONDict:
        """Build (and by default queue) a user's press on an inline button.

        The message is the stored one (normally a message the bot sent); an unknown message
        id gives Telegram's inaccessible-message form (``date`` 0).
        """
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                message = {"message_id": message_id, "date": 0, "chat": self._chat(chat_id)}
            query_id = f"{self.bot_id}{next(self._callback_counter):08d}"
            self._callback_ids.add(query_id)
        update = {
            "update_id": self._next_update_id(),
            "callback_query": {
                "id": query_id,
                "from": self._user(user_id),
                "chat_instance": f"-{abs(chat_id) * 7 + 13}",
                "message": message,
                "data": data,
            },
        }
        return self.push_update(update) if push else update

    def my_chat_member(
        self,
        chat_id: int,
        *,
        new_status: Literal["member", "administrator", "left", "kicked"],
        old_status: Literal["member", "administrator", "left", "kicked"] | None = None,
        user_id: int = 1001,
        chat_type: Literal["private", "group", "supergroup", "channel"] | None = None,
        title: str = "Test chat",
        push: bool = True,
    ) -> JSONDict:
        """Build (and by default queue) a change of the bot's own membership in a chat.

        The server's state follows: ``kicked``/``left`` make sends to the chat fail with 403
        (in a private chat, ``kicked`` is the user blocking the bot), ``administrator`` adds
        the bot to the chat's administrators, ``member``/``administrator`` lift a block.
        """
        with self._lock:
            known = self._chats.get(chat_id)
        kind: str = chat_type or (known["type"] if known else _guess_chat_type(chat_id))
        if known is not None and known["type"] == kind:
            chat = known
        elif kind == "private":
            chat = self._remember_chat(
                {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            )
        else:
            chat = self._remember_chat({"id": chat_id, "type": kind, "title": title})
        if old_status is None:
            old_status = "left" if new_status in ("member", "administrator") else "member"
        with self._lock:
            self._blocked.pop(chat_id, None)
            self._left.discard(chat_id)
            owner, admins = self._admins.get(chat_id, (None, []))
            admins = [a for a in admins if a != self.bot_id]
            if new_status == "administrator":
                admins.append(self.bot_id)
            elif new_status == "kicked":
                self._blocked[chat_id] = _forbidden_for(kind)
            elif new_status == "left":
                self._left.add(chat_id)
            self._admins[chat_id] = (owner, admins)
            bot = self.bot_user
        update = {
            "update_id": self._next_update_id(),
            "my_chat_member": {
                "chat": chat,
                "from": self._user(user_id),
                "date": int(time.time()),
                "old_chat_member": _chat_member(bot, old_status),
                "new_chat_member": _chat_member(bot, new_status),
            },
        }
        return self.push_update(update) if push else update

    def post_webhook(self, url: str, update: JSONDict, secret_token: str | None = None) -> int:
        """POST one update to a webhook as Telegram would; returns the HTTP status.

        Blocking: in an async test use ``await server.post_webhook_async(...)``.
        """
        _refuse_inside_event_loop("post_webhook")
        with httpx.Client(timeout=10) as client:
            response = client.post(url, json=update, headers=_webhook_headers(secret_token))
        return response.status_code

    async def post_webhook_async(
        self, url: str, update: JSONDict, secret_token: str | None = None
    ) -> int:
        """``post_webhook`` for async tests."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, json=update, headers=_webhook_headers(secret_token))
        return response.status_code

    # -- configuring chats -----------------------------------------------------------------------

    def set_chat(
        self,
        chat_id: int,
        *,
        chat_type: Literal["private", "group", "supergroup", "channel"] | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Declare a chat (for ``getChat`` and ``@username`` chat ids); returns it."""
        kind = chat_type or _guess_chat_type(chat_id)
        chat: JSONDict = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = title or f"User{chat_id}"
        else:
            chat["title"] = title or f"Chat {chat_id}"
        if username:
            chat["username"] = username
        return self._remember_chat(chat)

    def set_chat_admins(
        self, chat_id: int, user_ids: list[int], *, owner_id: int | None = None
    ) -> None:
        """Set who administers a chat (``getChatMember``/``getChatAdministrators``).

        Include ``server.bot_id`` to make the bot an administrator (needed in channels).
        """
        with self._lock:
            self._admins[chat_id] = (owner_id, [u for u in user_ids if u != owner_id])

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

    # -- request dispatch (server loop) ----------------------------------------------------------

    async def _dispatch(
        self,
        token: str,
        raw_method: str,
        params: JSONDict,
        gone: asyncio.Event,
    ) -> tuple[int, JSONDict]:
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return 401, ApiError(401, "Unauthorized").payload()
        method = self._canonical.get(raw_method.lower())
        if method is None:
            return 404, ApiError(404, "Not Found").payload()
        with self._lock:
            self._calls.append((method, params))
        try:
            if self.latency and method != "getUpdates":
                await asyncio.sleep(self.latency)
            await self._apply_outage(gone)
            self._apply_faults(method, params)
            result = self._methods[method](params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            if error.error_code == 429:
                with self._lock:
                    self._too_many_requests += 1
            return error.error_code, error.payload()
        except Exception as exc:  # a bug in the server: answer 500 and keep it
            logger.exception("Bot API test server failed in %s", method)
            with self._lock:
                self._server_errors.append(f"{method}: {exc!r}")
            return 500, ApiError(500, "Internal Server Error").payload()
        return 200, {"ok": True, "result": result}

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
                self._check_rate(self._rate, chat_id)

    @staticmethod
    def _check_rate(rate: _RateLimit, chat_id: int | str) -> None:
        now = time.monotonic()
        windows: list[tuple[deque[float], int, float]] = [
            (rate.global_window, rate.per_second_global, 1.0),
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

    # -- API methods ---------------------------------------------------------------------------

    def _no_op(self, params: JSONDict) -> bool:
        return True

    def _get_me(self, params: JSONDict) -> JSONDict:
        return dict(self.bot_user)

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = params.get("offset")
        limit = params.get("limit") or 100
        timeout = float(params.get("timeout") or 0)
        if not 1 <= limit <= 100:
            limit = 100
        with self._lock:
            if self._webhook_url:
                raise ApiError(409, _CONFLICT_WEBHOOK)
            if "allowed_updates" in params:
                allowed = params["allowed_updates"]
                self._allowed_updates = list(allowed) if allowed else None
            self._confirm_updates(offset)
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_all()  # an older long poll ends with 409 (see below)
        assert self._loop is not None
        deadline = self._loop.time() + timeout
        while True:
            with self._lock:
                if self._webhook_url:
                    raise ApiError(409, _CONFLICT_WEBHOOK)
                if self._poll_generation != generation:
                    raise ApiError(409, _CONFLICT_OTHER_POLL)
                updates = self._deliverable_updates(limit)
            remaining = deadline - self._loop.time()
            if updates or remaining <= 0 or self._closing:
                return updates
            await self._wait_change(remaining)

    def _confirm_updates(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            del self._updates[: max(len(self._updates) + offset, 0)]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable_updates(self, limit: int) -> list[JSONDict]:
        """Drop updates of kinds not allowed, then return up to ``limit`` of the rest."""
        self._updates = [u for u in self._updates if self._allowed(u)]
        return copy.deepcopy(self._updates[:limit])

    def _allowed(self, update: JSONDict) -> bool:
        kinds = set(update) - {"update_id"}
        if self._allowed_updates is None:
            return not kinds <= _NOT_SENT_BY_DEFAULT
        return bool(kinds & set(self._allowed_updates))

    def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        with self._lock:
            self._webhook_url = url
            self._webhook_secret = str(secret) if secret is not None else None
            self._webhook_last_error = None
            if "allowed_updates" in params:
                allowed = params["allowed_updates"]
                self._allowed_updates = list(allowed) if allowed else None
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._poll_generation += 1  # a running long poll ends with 409
        self._notify()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        with self._lock:
            self._webhook_url = ""
            self._webhook_secret = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        self._notify()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        with self._lock:
            info: JSONDict = {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook_url:
                info["max_connections"] = 40
                if self._allowed_updates is not None:
                    info["allowed_updates"] = list(self._allowed_updates)
                if self._webhook_last_error is not None:
                    info["last_error_date"], info["last_error_message"] = self._webhook_last_error
            return info

    async def _deliver_webhook_updates(self, client: httpx.AsyncClient) -> None:
        """Send queued updates to a loopback webhook, one at a time, retrying failures."""
        while True:
            with self._lock:
                url, secret = self._webhook_url, self._webhook_secret
                host = urlsplit(url).hostname if url else None
                update = self._deliverable_updates(1)[:1] if url and host in _LOOPBACK_HOSTS else []
            if not update:
                await self._wait_change(None)
                continue
            try:
                response = await client.post(url, json=update[0], headers=_webhook_headers(secret))
                status = response.status_code
                error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
            except httpx.HTTPError as exc:
                status, error = 0, f"Connection failed: {type(exc).__name__}"
            with self._lock:
                self.webhook_deliveries.append((update[0]["update_id"], status))
                if 200 <= status < 300:
                    self._updates = [
                        u for u in self._updates if u["update_id"] != update[0]["update_id"]
                    ]
                    continue
                self._webhook_last_error = (int(time.time()), error)
            await asyncio.sleep(0.2)

    # messages ----------------------------------------------------------------------------------

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        raw = params.get("text")
        text, entities = self._formatted(raw, params, "entities", caption=False)
        reply_markup = _checked_reply_markup(params.get("reply_markup"))
        message = self._store_bot_message(
            chat, params, {"text": text}, "entities", entities, reply_markup
        )
        self._record("sendMessage", message, params, text=raw, plain_text=text, entities=entities)
        return message

    def _send_photo(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        caption, entities = self._optional_caption(params)
        reply_markup = _checked_reply_markup(params.get("reply_markup"))
        photo = params.get("photo")
        extra: JSONDict = {}
        if isinstance(photo, UploadedFile):
            size = _png_size(photo.data)
            if size is None and not photo.data.startswith(JPEG_SIGNATURE):
                raise _bad_request("IMAGE_PROCESS_FAILED")
            stored = self._store_file(photo, "photos", ".png" if size else ".jpg")
            width, height = size or (800, 600)
            photo_size = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
                "file_size": photo.size,
            }
            extra = {
                "photo_size": photo.size,
                "photo_is_png": photo.data.startswith(PNG_SIGNATURE),
                "photo_width": width,
                "photo_height": height,
                "photo_file_name": photo.file_name,
                "file_id": stored.file_id,
            }
        elif isinstance(photo, str) and photo:
            photo_size = self._existing_or_remote_file(photo)
            extra = {"photo_ref": photo}
        else:
            raise _bad_request("there is no photo in the request")
        body: JSONDict = {"photo": [photo_size]}
        if caption:
            body["caption"] = caption
        message = self._store_bot_message(
            chat, params, body, "caption_entities", entities, reply_markup
        )
        self._record(
            "sendPhoto",
            message,
            params,
            caption=params.get("caption"),
            plain_text=caption,
            entities=entities,
            **extra,
        )
        return message

    def _send_document(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        caption, entities = self._optional_caption(params)
        reply_markup = _checked_reply_markup(params.get("reply_markup"))
        document = params.get("document")
        extra: JSONDict = {}
        if isinstance(document, UploadedFile):
            if not document.data:
                raise _bad_request("file must be non-empty")
            stored = self._store_file(document, "documents", "")
            doc: JSONDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": document.file_name,
                "mime_type": document.content_type,
                "file_size": document.size,
            }
            extra = {
                "document_size": document.size,
                "document_name": document.file_name,
                "document_mime_type": document.content_type,
                "file_id": stored.file_id,
            }
        elif isinstance(document, str) and document:
            doc = self._existing_or_remote_file(document)
            extra = {"document_ref": document}
        else:
            raise _bad_request("there is no document in the request")
        body: JSONDict = {"document": doc}
        if caption:
            body["caption"] = caption
        message = self._store_bot_message(
            chat, params, body, "caption_entities", entities, reply_markup
        )
        self._record(
            "sendDocument",
            message,
            params,
            caption=params.get("caption"),
            plain_text=caption,
            entities=entities,
            **extra,
        )
        return message

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        chat_id, message = self._message_to_edit(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        raw = params.get("text")
        text, entities = self._formatted(raw, params, "entities", caption=False)
        reply_markup = _checked_reply_markup(params.get("reply_markup"))
        changes: JSONDict = {
            "text": text,
            "entities": entities,
            "reply_markup": _inline_only(reply_markup),
        }
        edited = self._apply_edit(chat_id, message, changes)
        self._record(
            "editMessageText", edited, params, text=raw, plain_text=text, entities=entities
        )
        return edited

    def _edit_message_caption(self, params: JSONDict) -> JSONDict:
        chat_id, message = self._message_to_edit(params)
        if not any(k in message for k in ("photo", "document")):
            raise _bad_request("there is no caption in the message to edit")
        caption, entities = self._optional_caption(params)
        reply_markup = _checked_reply_markup(params.get("reply_markup"))
        changes = {
            "caption": caption or None,
            "caption_entities": entities,
            "reply_markup": _inline_only(reply_markup),
        }
        edited = self._apply_edit(chat_id, message, changes)
        self._record(
            "editMessageCaption",
            edited,
            params,
            caption=params.get("caption"),
            plain_text=caption,
            entities=entities,
        )
        return edited

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        chat_id, message = self._message_to_edit(params)
        reply_markup = _checked_reply_markup(params.get("reply_markup"))
        edited = self._apply_edit(chat_id, message, {"reply_markup": _inline_only(reply_markup)})
        self._record("editMessageReplyMarkup", edited, params)
        return edited

    def _delete_message(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        message_id = _message_id(params)
        with self._lock:
            if (chat["id"], message_id) not in self._messages:
                raise _bad_request("message to delete not found")
            message = self._messages.pop((chat["id"], message_id))
        self._record("deleteMessage", message, params)
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if query_id not in self._callback_ids:
                raise _bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._callback_ids.discard(query_id)
            self._callback_answers.append(dict(params))
        return True

    # commands -----------------------------------------------------------------------------------

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands specified")
        menu: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not _COMMAND_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            menu.append({"command": name, "description": description})
        key = self._commands_key(params)
        with self._lock:
            if menu:
                self._commands[key] = menu
            else:
                self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        with self._lock:
            return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    def _delete_my_commands(self, params: JSONDict) -> bool:
        with self._lock:
            self._commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise _bad_request("can't parse BotCommandScope JSON object")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        return _scope_key(scope), language

    # chats ---------------------------------------------------------------------------------------

    def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad_request("invalid user_id specified")
        with self._lock:
            owner, admins = self._admins.get(chat["id"], (None, []))
            user = self.bot_user if user_id == self.bot_id else self._user(user_id)
            if user_id == owner:
                return _chat_member(user, "creator")
            if user_id in admins:
                return _chat_member(user, "administrator")
            if user_id == self.bot_id and (chat["id"] in self._left or chat["id"] in self._blocked):
                return _chat_member(user, "left")
            return _chat_member(user, "member")

    def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat = self._target_chat(params)
        if chat["type"] == "private":
            raise _bad_request("there are no administrators in the private chat")
        with self._lock:
            owner, admins = self._admins.get(chat["id"], (None, []))
            members = [_chat_member(self._user(owner), "creator")] if owner is not None else []
            for user_id in admins:
                user = self.bot_user if user_id == self.bot_id else self._user(user_id)
                members.append(_chat_member(user, "administrator"))
            return members

    def _leave_chat(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        if chat["type"] == "private":
            raise _bad_request("chat member status can't be changed in private chats")
        with self._lock:
            self._left.add(chat["id"])
        return True

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # -- internals -------------------------------------------------------------------------------

    def _target_chat(self, params: JSONDict) -> JSONDict:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if isinstance(chat_id, str):
            username = chat_id.removeprefix("@").lower()
            with self._lock:
                for chat in self._chats.values():
                    if str(chat.get("username", "")).lower() == username:
                        params["chat_id"] = chat["id"]
                        return chat
            raise _bad_request("chat not found")
        return self._chat(chat_id)

    def _chat(self, chat_id: int) -> JSONDict:
        with self._lock:
            chat = self._chats.get(chat_id)
        if chat is not None:
            return chat
        chat_type = _guess_chat_type(chat_id)
        if chat_type == "private":
            return {"id": chat_id, "type": chat_type, "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}

    def _remember_chat(self, chat: JSONDict) -> JSONDict:
        with self._lock:
            known = self._chats.get(chat["id"], {})
            merged = {**known, **chat}
            self._chats[chat["id"]] = merged
            return merged

    def _user(self, user_id: int) -> JSONDict:
        with self._lock:
            return self._users.get(user_id) or {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
            }

    def _remember_user(
        self, user_id: int, username: str | None, first_name: str | None, language_code: str | None
    ) -> JSONDict:
        user: JSONDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self._lock:
            self._users[user_id] = user
        return user

    def _next_update_id(self) -> int:
        with self._lock:
            return next(self._update_ids)

    def _new_message_id(self, chat_id: int) -> int:
        with self._lock:
            message_id = self._next_message_id.get(chat_id, 1)
            self._next_message_id[chat_id] = message_id + 1
            return message_id

    def _last_message_id(self, chat_id: int, from_id: int | None = None) -> int:
        ids = [
            mid
            for (cid, mid), m in self._messages.items()
            if cid == chat_id and (from_id is None or m.get("from", {}).get("id") == from_id)
        ]
        if not ids:
            raise ValueError(f"no earlier message in chat {chat_id} to edit; pass message_id")
        return max(ids)

    def _fake_photo_size(self) -> JSONDict:
        number = next(self._file_counter)
        return {
            "file_id": f"AgACAgIAAxk{number:010d}",
            "file_unique_id": f"AQAD{number:06d}",
            "width": 1280,
            "height": 720,
            "file_size": 65536,
        }

    def _store_file(self, upload: UploadedFile, folder: str, suffix: str) -> _StoredFile:
        number = next(self._file_counter)
        stored = _StoredFile(
            file_id=f"BQACAgIAAxk{number:010d}",
            file_unique_id=f"AgAD{number:06d}",
            file_path=f"{folder}/file_{number}{suffix}",
            data=upload.data,
        )
        with self._lock:
            self._files[stored.file_id] = stored
        return stored

    def _existing_or_remote_file(self, reference: str) -> JSONDict:
        with self._lock:
            stored = self._files.get(reference)
        if stored is not None:
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 800,
                "height": 600,
                "file_size": len(stored.data),
            }
        if reference.startswith(("http://", "https://")):
            return self._fake_photo_size()
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _formatted(
        self, raw: object, params: JSONDict, entities_field: str, *, caption: bool
    ) -> tuple[str, list[JSONDict]]:
        """Apply parse_mode, trim and check limits; returns (plain text, entities)."""
        if raw is None or raw == "":
            raise _bad_request("message caption is empty" if caption else "message text is empty")
        text = str(raw)
        parse_mode = params.get("parse_mode")
        entities: list[JSONDict] = list(params.get(entities_field) or [])
        if parse_mode and str(parse_mode).lower() == "html":
            try:
                text, entities = parse_html(text, strict_ampersand=self.strict_ampersand)
            except HtmlParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
        elif parse_mode and str(parse_mode).lower() not in ("markdown", "markdownv2"):
            raise _bad_request("unsupported parse_mode")
        text, entities = _trim(text, entities)
        if not text:
            raise _bad_request("message caption is empty" if caption else "message text is empty")
        limit = MAX_CAPTION_UTF16 if caption else MAX_TEXT_UTF16
        if utf16_len(text) > limit:
            raise _bad_request("message caption is too long" if caption else "message is too long")
        return text, entities

    def _optional_caption(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        if not params.get("caption"):
            return "", []
        return self._formatted(params["caption"], params, "caption_entities", caption=True)

    def _store_bot_message(
        self,
        chat: JSONDict,
        params: JSONDict,
        body: JSONDict,
        entities_field: str,
        entities: list[JSONDict],
        reply_markup: JSONDict | None,
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": self._new_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
        }
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = dict(self.bot_user)
        message.update(body)
        if entities:
            message[entities_field] = entities
        reply_to = params.get("reply_to_message_id")
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
        with self._lock:
            if reply_to is not None and (replied := self._messages.get((chat["id"], reply_to))):
                message["reply_to_message"] = {
                    k: v for k, v in replied.items() if k != "reply_to_message"
                }
            inline = _inline_only(reply_markup)
            if inline:
                message["reply_markup"] = inline
            self._messages[(chat["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _message_to_edit(self, params: JSONDict) -> tuple[int, JSONDict]:
        if params.get("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = _message_id(params)
        with self._lock:
            message = self._messages.get((chat["id"], message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id and chat["type"] != "channel":
            raise _bad_request("message can't be edited")
        return chat["id"], message

    def _apply_edit(self, chat_id: int, message: JSONDict, changes: JSONDict) -> JSONDict:
        with self._lock:
            if all(message.get(k) == (v or None) for k, v in changes.items()):
                raise _bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
            for key, value in changes.items():
                if value:
                    message[key] = value
                else:
                    message.pop(key, None)
            message["edit_date"] = int(time.time())
            return copy.deepcopy(message)

    def _record(self, method: str, message: JSONDict, params: JSONDict, **details: Any) -> None:
        record: JSONDict = {
            "method": method,
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "text": None,
            "plain_text": None,
            "caption": None,
            "parse_mode": params.get("parse_mode"),
            "entities": [],
            "reply_markup": params.get("reply_markup"),
            "date": int(time.time()),
        }
        record.update(details)
        with self._lock:
            self._sent.append(record)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _refuse_inside_event_loop(name: str) -> None:
    if _running_loop() is not None:
        raise RuntimeError(
            f"BotApiServer.{name}() blocks and would freeze the running event loop (and the bot "
            f"under test with it); use `await server.{name}_async(...)` instead"
        )


def _webhook_headers(secret_token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    return headers


def _guess_chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


def _forbidden_for(chat_type: str) -> str:
    return {
        "private": "Forbidden: bot was blocked by the user",
        "group": "Forbidden: bot was kicked from the group chat",
        "supergroup": "Forbidden: bot was kicked from the supergroup chat",
        "channel": "Forbidden: bot is not a member of the channel chat",
    }.get(chat_type, "Forbidden: bot was blocked by the user")


def _default_description(error_code: int, retry_after: int | None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: _CONFLICT_OTHER_POLL,
        500: "Internal Server Error",
        502: "Bad Gateway",
        504: "Gateway Timeout",
    }.get(error_code, "Error")


def _sent_description(count: int, chat_id: int | None, method: str | None) -> str:
    where = f" to chat {chat_id}" if chat_id is not None else ""
    what = method or "send/edit"
    return f"{count} {what} record(s){where} in server.sent"


def _scope_key(scope: JSONDict) -> str:
    """A stable key for a BotCommandScope: its type plus chat_id/user_id when present."""
    kind = str(scope.get("type", "default"))
    parts = [kind]
    for name in ("chat_id", "user_id"):
        if name in scope:
            parts.append(f"{name}={scope[name]}")
    return ":".join(parts)


def _chat_member(user: JSONDict, status: str) -> JSONDict:
    """A ChatMember dict complete enough for PTB, for the statuses the server uses."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = dict.fromkeys(
            (
                "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_change_info", "can_invite_users", "can_post_stories",
                "can_edit_stories", "can_delete_stories", "can_post_messages",
                "can_edit_messages", "can_pin_messages",
            ),
            True,
        )  # fmt: skip
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_promote_members": False,
            **rights,
        }
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": status, "user": user}


def _checked_reply_markup(markup: object) -> JSONDict | None:
    """Check a reply_markup like Telegram does for the mistakes bots make."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request(_TEXT_BUTTONS_UNALLOWED)
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad_request("BUTTON_DATA_INVALID")
                if not any(
                    k in button
                    for k in (
                        "callback_data",
                        "url",
                        "switch_inline_query",
                        "switch_inline_query_current_chat",
                        "web_app",
                        "login_url",
                        "callback_game",
                        "pay",
                        "copy_text",
                        "switch_inline_query_chosen_chat",
                    )
                ):
                    raise _bad_request(_TEXT_BUTTONS_UNALLOWED)
    elif not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _message_id(params: JSONDict) -> int:
    message_id = params.get("message_id")
    if not isinstance(message_id, int):
        raise _bad_request("message identifier is not specified")
    return message_id


def _inline_only(markup: JSONDict | None) -> JSONDict | None:
    """Messages carry only inline keyboards, as Telegram returns them."""
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _typed_param(name: str, value: object) -> object:
    """Give a form field the type Telegram reads it as (PTB sends everything as strings)."""
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None
    if name in _INT_FIELDS:
        stripped = value.strip()
        if re.fullmatch(r"-?\d+", stripped):
            return int(stripped)
        if name in ("chat_id", "from_chat_id") and stripped.startswith("@"):
            return stripped
        raise _bad_request(f"invalid {name} specified" if name != "chat_id" else "chat not found")
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


# ---------------------------------------------------------------------------------------------
# tornado handlers
# ---------------------------------------------------------------------------------------------


class _BaseHandler(tornado.web.RequestHandler):
    """Shared pieces: JSON answers and logging that never shows the token."""

    api_method: str | None = None

    def _request_summary(self) -> str:
        return f"{self.request.method} <redacted path> ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        logger.error(
            "Bot API test server: error in %s",
            self.api_method or "request",
            exc_info=(typ, value, tb),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self._write_json(status_code, ApiError(status_code, self._reason or "Error").payload())

    def _write_json(self, status: int, payload: JSONDict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, ensure_ascii=False))


class _ApiHandler(_BaseHandler):
    """``/bot<token>/<method>``: parse the body Telegram's way and dispatch."""

    def initialize(self, server: BotApiServer) -> None:
        self.server = server
        self.gone = asyncio.Event()

    def on_connection_close(self) -> None:
        self.gone.set()

    async def get(self, token: str, method: str) -> None:
        await self._handle(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._handle(token, method)

    async def _handle(self, token: str, method: str) -> None:
        self.api_method = method
        try:
            params = self._params()
        except ApiError as error:
            self._write_json(error.error_code, error.payload())
            return
        status, payload = await self.server._dispatch(token, method, params, self.gone)
        if self.gone.is_set():
            # The client gave up (a cancelled long poll, a read timeout): nothing to answer.
            self.set_status(499, "Client Closed Request")
            return
        self._write_json(status, payload)

    def _params(self) -> JSONDict:
        raw: JSONDict = {}
        for name, values in self.request.query_arguments.items():
            raw[name] = values[-1].decode("utf-8", "replace")
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            if self.request.body:
                try:
                    body = json.loads(self.request.body)
                except ValueError:
                    raise _bad_request("can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise _bad_request("JSON body must be an object")
                raw.update(body)
        else:
            for name, values in self.request.body_arguments.items():
                raw[name] = values[-1].decode("utf-8", "replace")
        files = {
            name: UploadedFile(name, parts[-1].filename, parts[-1].content_type, parts[-1].body)
            for name, parts in self.request.files.items()
        }
        params: JSONDict = {}
        for name, value in raw.items():
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value.removeprefix("attach://"))
                if attached is None:
                    raise _bad_request(f"file {value} not found in the request")
                params[name] = attached
            else:
                params[name] = _typed_param(name, value)
        for name, upload in files.items():
            if name not in params and not name.startswith("attached"):
                params[name] = upload
        return params


class _FileHandler(_BaseHandler):
    """``/file/bot<token>/<file_path>``: downloads of files the bot uploaded."""

    def initialize(self, server: BotApiServer) -> None:
        self.server = server

    def get(self, token: str, file_path: str) -> None:
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            self._write_json(401, ApiError(401, "Unauthorized").payload())
            return
        with self.server._lock:
            stored = next(
                (f for f in self.server._files.values() if f.file_path == file_path), None
            )
        if stored is None:
            self._write_json(404, ApiError(404, "Not Found").payload())
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(stored.data)


class _NotFoundHandler(_BaseHandler):
    """Anything else: Telegram's 404."""

    def prepare(self) -> None:
        self._write_json(404, ApiError(404, "Not Found").payload())


# ---------------------------------------------------------------------------------------------
# pytest fixture
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def botapi_server() -> Iterator[BotApiServer]:
    """A running ``BotApiServer``, stopped after the test.

    Make it available with ``from tests.support.botapi import botapi_server`` in a conftest.
    """
    with BotApiServer() as server:
        yield server
