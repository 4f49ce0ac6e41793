"""Telegram transport: handlers parse an update, call one service, reply.

``BotRuntime`` carries what handlers need (stored in ``application.bot_data``); the helpers
below read the user's language and send one-line HTML replies.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from sqlalchemy.orm import Session, sessionmaker
from telegram import Chat, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.services import subscriptions
from bot.services.digests import DeliveryService
from bot.engine.extract import Extractor
from bot.engine.names import Names
from config.settings import Settings

logger = logging.getLogger(__name__)

RUNTIME_KEY = "claimwatch"
Context = ContextTypes.DEFAULT_TYPE


@dataclass
class BotRuntime:
    """The services and settings handlers use; one per Application."""

    settings: Settings
    session_factory: sessionmaker[Session]
    extractor: Extractor | None
    delivery: DeliveryService

    def reader_names(self) -> Names:
        """Names in the reader's language, sharing the extractor's gazetteer when there is one."""
        return self.delivery.reader_names()


def runtime(context: Context) -> BotRuntime:
    value = context.bot_data[RUNTIME_KEY]
    assert isinstance(value, BotRuntime)
    return value


async def language_of(update: Update, context: Context) -> str:
    """The chat's stored language, else the user's Telegram language (uk/en/ru)."""
    chat = update.effective_chat
    if chat is not None:
        sub = await asyncio.to_thread(subscriptions.get_subscriber, runtime(context).session_factory, chat.id)
        if sub is not None:
            return sub.language
    user = update.effective_user
    return subscriptions.pick_language(user.language_code if user else None)


async def reply(update: Update, context: Context, text: str,
                markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Answer in the update's chat with Telegram HTML."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                  link_preview_options=LinkPreviewOptions(is_disabled=True))


async def is_bot_admin(update: Update, context: Context) -> bool:
    """Whether the user is a claimwatch admin (configured or added with /admins)."""
    user = update.effective_user
    rt = runtime(context)
    return await asyncio.to_thread(subscriptions.is_admin, rt.session_factory, rt.settings, user.id if user else None)


async def may_manage_chat(update: Update, context: Context, chat_id: int | None = None) -> bool:
    """Private chats manage themselves; in groups and channels only their administrators may."""
    chat = update.effective_chat
    user = update.effective_user
    target = chat_id if chat_id is not None else (chat.id if chat else None)
    if target is None or user is None:
        return False
    if chat is not None and chat.type == Chat.PRIVATE and target == chat.id:
        return True
    try:
        member = await context.bot.get_chat_member(target, user.id)
    except TelegramError as exc:
        logger.info("getChatMember(%s, %s) failed: %s", target, user.id, exc)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def args_of(context: Context) -> list[str]:
    return list(context.args or [])


def log_refusal(update: Update, command: str) -> None:
    user = update.effective_user
    chat = update.effective_chat
    logger.warning("refused /%s for user %s in chat %s: not an admin", command,
                   user.id if user else None, chat.id if chat else None)


__all__ = ["BotRuntime", "Context", "RUNTIME_KEY", "args_of", "is_bot_admin", "language_of", "log_refusal",
           "may_manage_chat", "reply", "runtime"]
