"""Updates the test server builds for the bot: messages, channel posts, forwards, button presses, membership."""

from __future__ import annotations

import logging
import time
from typing import Literal

import httpx


from tests.support.botapi.types import JSONDict
from tests.support.botapi.common import (
    _chat_member,
    _forbidden_for,
    _guess_chat_type,
    _refuse_inside_event_loop,
    _webhook_headers,
)
from tests.support.botapi.html import detect_entities

logger = logging.getLogger(__name__)


class UpdatesMixin:
    """Playing users and chats: building updates and queueing them for the bot, configuring chats.
    Mixed into ``BotApiServer``."""

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
