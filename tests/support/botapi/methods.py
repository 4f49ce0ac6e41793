"""The Bot API methods the test server implements (sending, editing, commands, chats, files, webhooks)."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx


from tests.support.botapi.types import JSONDict
from tests.support.botapi.common import (
    ApiError,
    JPEG_SIGNATURE,
    MAX_CAPTION_UTF16,
    MAX_TEXT_UTF16,
    PNG_SIGNATURE,
    UploadedFile,
    _COMMAND_RE,
    _CONFLICT_OTHER_POLL,
    _CONFLICT_WEBHOOK,
    _LOOPBACK_HOSTS,
    _NOT_MODIFIED,
    _NOT_SENT_BY_DEFAULT,
    _SECRET_TOKEN_RE,
    _StoredFile,
    _bad_request,
    _chat_member,
    _checked_reply_markup,
    _guess_chat_type,
    _inline_only,
    _message_id,
    _scope_key,
    _webhook_headers,
)
from tests.support.botapi.html import HtmlParseError, _png_size, _trim, parse_html, utf16_len

logger = logging.getLogger(__name__)


class MethodsMixin:
    """The Bot API methods the server implements, and the chat, user and message state behind
    them. Mixed into ``BotApiServer``."""

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
        return self._send_captioned("sendPhoto", chat, params, {"photo": [photo_size]}, caption, entities, reply_markup,
                                    extra)

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
        return self._send_captioned("sendDocument", chat, params, {"document": doc}, caption, entities, reply_markup,
                                    extra)

    def _send_captioned(self, method: str, chat: JSONDict, params: JSONDict, body: JSONDict, caption: str,
                        entities: list[JSONDict], reply_markup: JSONDict | None, extra: JSONDict) -> JSONDict:
        """Store and record a photo or document the bot sent, with its caption."""
        if caption:
            body["caption"] = caption
        message = self._store_bot_message(chat, params, body, "caption_entities", entities, reply_markup)
        self._record(method, message, params, caption=params.get("caption"), plain_text=caption,
                     entities=entities, **extra)
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
            "paid_broadcast": params.get("allow_paid_broadcast") in (True, "true", "True"),
            "date": int(time.time()),
        }
        record.update(details)
        with self._lock:
            self._sent.append(record)


# ---------------------------------------------------------------------------------------------
