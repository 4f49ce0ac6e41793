"""Long polling that survives an update python-telegram-bot cannot read.

PTB decodes a whole ``getUpdates`` batch at once (``Update.de_list``). When one update does not
decode (a field of a newer Bot API that this PTB rejects, say a poll without ``persistent_id``,
or a value of the wrong type), ``Bot.get_updates`` raises, the ``Updater`` logs CRITICAL with the
raw batch and asks again with the same offset: the same batch comes back, the loop spins forever
and every later update, valid ones included, is never handled.

``SafeUpdatesRequest`` is the request object PTB uses for ``getUpdates`` only. It checks every
update of a batch on its own, and replaces one that cannot be read, or whose basic fields (chat,
sender, message id, date, text, entities, callback data) have the wrong type, by an empty update
with the same ``update_id``: the offset moves past it, no handler sees it, and one WARNING line
says which update was dropped and why (a reason of at most 200 characters, not the update
itself, which holds a user's message). PTB's own CRITICAL line logs the whole raw batch.

Wire it in where the Application is built::

    Application.builder()...get_updates_request(SafeUpdatesRequest())
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    ChatMember,
    ChatMemberUpdated,
    MaybeInaccessibleMessage,
    Message,
    MessageEntity,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginUser,
    Update,
    User,
)
from telegram.request import HTTPXRequest

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]

_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message",
                  "edited_business_message", "guest_message")
_MEMBER_KINDS = ("my_chat_member", "chat_member")


class SafeUpdatesRequest(HTTPXRequest):
    """``HTTPXRequest`` for ``getUpdates`` that turns unreadable updates into empty ones.

    PTB sends only ``getUpdates`` through the request object given to
    ``ApplicationBuilder.get_updates_request``, so every successful answer read here is a batch of
    updates. Takes the same arguments as ``HTTPXRequest``; the connection pool defaults to 1, as
    PTB's own ``getUpdates`` request does.
    """

    def __init__(self, connection_pool_size: int = 1, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=connection_pool_size, **kwargs)

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        data = HTTPXRequest.parse_json_payload(payload)
        if isinstance(data, dict) and data.get("ok") is True and isinstance(data.get("result"), list):
            data["result"] = readable_updates(data["result"])
        return data


def readable_updates(batch: Iterable[object]) -> list[JSONDict]:
    """The batch with every unreadable update replaced by ``{"update_id": <its id>}``.

    An entry without a usable ``update_id`` is left out (it cannot be confirmed anyway).
    """
    out: list[JSONDict] = []
    for raw in batch:
        problem = update_problem(raw)
        if problem is None:
            assert isinstance(raw, dict)
            out.append(raw)
            continue
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if isinstance(update_id, float) and update_id.is_integer():
            update_id = int(update_id)
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            logger.warning("dropped update %s: python-telegram-bot cannot read it (%s)", update_id, problem)
            out.append({"update_id": update_id})
        else:
            logger.warning("dropped an update without a usable update_id (%s)", problem)
    return out


def update_problem(raw: object) -> str | None:
    """Why the bot cannot handle this update (one line), or None when it can."""
    if not isinstance(raw, dict):
        return f"an update must be an object, not {type(raw).__name__}"
    try:
        update = Update.de_json(copy.deepcopy(raw), None)  # a copy: PTB decodes the original again
    except Exception as exc:  # PTB raises TypeError, ValueError, KeyError, AttributeError...
        return _one_line(f"{type(exc).__name__}: {exc}")
    try:
        return _check_update(update)
    except Exception as exc:
        return _one_line(f"{type(exc).__name__} while checking: {exc}")


def _check_update(update: Update) -> str | None:
    if not _is_int(update.update_id):
        return "update_id is not an integer"
    for kind in _MESSAGE_KINDS:
        message = getattr(update, kind)
        if message is not None and (problem := _message_problem(message, kind)):
            return problem
    query = update.callback_query
    if query is not None and (problem := _callback_problem(query)):
        return problem
    for kind in _MEMBER_KINDS:
        change = getattr(update, kind)
        if change is not None and (problem := _member_update_problem(change, kind)):
            return problem
    # Whatever else the update is, what handlers read first must be sound.
    user = update.effective_user
    if user is not None and (problem := _user_problem(user, "effective user")):
        return problem
    chat = update.effective_chat
    if chat is not None and (problem := _chat_problem(chat, "effective chat")):
        return problem
    return None


def _message_problem(message: object, where: str, depth: int = 0) -> str | None:
    if not isinstance(message, MaybeInaccessibleMessage):
        return f"{where} is not a message"
    if not _is_int(message.message_id):
        return f"{where}.message_id is not an integer"
    if not isinstance(message.date, datetime):
        return f"{where}.date is missing"
    if problem := _chat_problem(message.chat, f"{where}.chat"):
        return problem
    if not isinstance(message, Message):
        return None
    if message.from_user is not None and (problem := _user_problem(message.from_user, f"{where}.from")):
        return problem
    if message.sender_chat is not None and (problem := _chat_problem(message.sender_chat, f"{where}.sender_chat")):
        return problem
    for name in ("text", "caption", "author_signature", "media_group_id"):
        if not _is_str_or_none(getattr(message, name)):
            return f"{where}.{name} is not a string"
    if message.edit_date is not None and not isinstance(message.edit_date, datetime):
        return f"{where}.edit_date is not a date"
    for name in ("entities", "caption_entities"):
        for entity in getattr(message, name) or ():
            if not (isinstance(entity, MessageEntity) and isinstance(entity.type, str)
                    and _is_int(entity.offset) and _is_int(entity.length)):
                return f"{where}.{name} holds a malformed entity"
    if message.forward_origin is not None and (problem := _origin_problem(message.forward_origin, where)):
        return problem
    if message.reply_to_message is not None and depth < 2:
        return _message_problem(message.reply_to_message, f"{where}.reply_to_message", depth + 1)
    return None


def _origin_problem(origin: object, where: str) -> str | None:
    if not isinstance(origin, MessageOrigin) or not isinstance(origin.date, datetime):
        return f"{where}.forward_origin is malformed"
    if isinstance(origin, MessageOriginChannel):
        if not _is_int(origin.message_id):
            return f"{where}.forward_origin.message_id is not an integer"
        return _chat_problem(origin.chat, f"{where}.forward_origin.chat")
    if isinstance(origin, MessageOriginChat):
        return _chat_problem(origin.sender_chat, f"{where}.forward_origin.sender_chat")
    if isinstance(origin, MessageOriginUser):
        return _user_problem(origin.sender_user, f"{where}.forward_origin.sender_user")
    return None


def _callback_problem(query: CallbackQuery) -> str | None:
    if not isinstance(query.id, str):
        return "callback_query.id is not a string"
    if problem := _user_problem(query.from_user, "callback_query.from"):
        return problem
    if not _is_str_or_none(query.data):
        return "callback_query.data is not a string"
    if query.message is not None:
        return _message_problem(query.message, "callback_query.message")
    return None


def _member_update_problem(change: ChatMemberUpdated, where: str) -> str | None:
    if problem := _chat_problem(change.chat, f"{where}.chat"):
        return problem
    if problem := _user_problem(change.from_user, f"{where}.from"):
        return problem
    if not isinstance(change.date, datetime):
        return f"{where}.date is missing"
    for name in ("old_chat_member", "new_chat_member"):
        member = getattr(change, name)
        if not isinstance(member, ChatMember) or not isinstance(member.status, str):
            return f"{where}.{name} is malformed"
        if problem := _user_problem(member.user, f"{where}.{name}.user"):
            return problem
    return None


def _chat_problem(chat: object, where: str) -> str | None:
    if not isinstance(chat, Chat):
        return f"{where} is missing"
    if not _is_int(chat.id):
        return f"{where}.id is not an integer"
    if not isinstance(chat.type, str):
        return f"{where}.type is not a string"
    for name in ("title", "username", "first_name", "last_name"):
        if not _is_str_or_none(getattr(chat, name)):
            return f"{where}.{name} is not a string"
    return None


def _user_problem(user: object, where: str) -> str | None:
    if not isinstance(user, User):
        return f"{where} is missing"
    if not _is_int(user.id):
        return f"{where}.id is not an integer"
    if not isinstance(user.first_name, str):
        return f"{where}.first_name is not a string"
    for name in ("last_name", "username", "language_code"):
        if not _is_str_or_none(getattr(user, name)):
            return f"{where}.{name} is not a string"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


__all__ = ["SafeUpdatesRequest", "readable_updates", "update_problem"]
