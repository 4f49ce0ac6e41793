"""Shared pieces of the Bot API server: limits, error answers, stored records and small helpers."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from dataclasses import dataclass, field



from tests.support.botapi.types import JSONDict

logger = logging.getLogger(__name__)


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
