"""Telegram transport: one module per user-facing area (``user``: everyone's commands and
questions; ``admin``: source and admin commands; ``callbacks``: inline buttons; ``channel``:
channel posts, forwards and the bot's own membership; ``profile``: the bot's descriptions;
``errors``: the error handler). A handler parses an update, calls one service, replies.

Handlers get a ``CustomContext`` whose ``runtime`` (a ``BotRuntime``: settings, database,
engine, delivery service) is what the Application was built with; the helpers below read the
user's language and send one-line replies (Telegram HTML, from the Application's ``Defaults``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from sqlalchemy.orm import Session, sessionmaker
from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.services import subscriptions
from bot.jobs import DEFAULT_SWEEP_INTERVAL
from bot.services.digests import DeliveryService
from bot.engine.extract import Extractor
from bot.engine.names import Names
from config.settings import Settings

logger = logging.getLogger(__name__)

RUNTIME_KEY = "claimwatch"


@dataclass
class BotRuntime:
    """The services and settings handlers and start-up use; one per Application."""

    settings: Settings
    session_factory: sessionmaker[Session]
    extractor: Extractor | None
    delivery: DeliveryService
    lease_owner: str | None = None  # the bot lease this process holds (``claimwatch run``)
    lease_keeper: Any = None  # its heartbeat (``store.leases.LeaseKeeper``), stopped before the release
    poll_sources: bool = True
    shutdown_grace: float = 10.0  # seconds running deliveries get at stop
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL

    def reader_names(self) -> Names:
        """Names in the reader's language, sharing the extractor's gazetteer when there is one."""
        return self.delivery.reader_names()


class CustomContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler gets (``ContextTypes(context=CustomContext)`` on the builder)."""

    @property
    def runtime(self) -> BotRuntime:
        """What the Application was built with: settings, database, engine, delivery service."""
        value = self.bot_data[RUNTIME_KEY]
        assert isinstance(value, BotRuntime)
        return value


Context = CustomContext
CONTEXT_TYPES = ContextTypes(context=CustomContext)


async def language_of(update: Update, context: Context) -> str:
    """The chat's stored language, else the user's Telegram language (uk/en/ru)."""
    chat = update.effective_chat
    if chat is not None:
        sub = await asyncio.to_thread(subscriptions.get_subscriber, context.runtime.session_factory, chat.id)
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
    return await context.bot.send_message(chat.id, text, reply_markup=markup)


async def is_bot_admin(update: Update, context: Context) -> bool:
    """Whether the user is a claimwatch admin (configured or added with /admins)."""
    user = update.effective_user
    rt = context.runtime
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


LangHandler = Callable[[Update, Context, str], Awaitable[None]]
Handler = Callable[[Update, Context], Awaitable[None]]


def speaking(handler: LangHandler) -> Handler:
    """Give a handler the language to answer in (``language_of``) as its third argument."""

    @functools.wraps(handler)
    async def with_language(update: Update, context: Context) -> None:
        await handler(update, context, await language_of(update, context))

    return with_language


def args_of(context: Context) -> list[str]:
    return list(context.args or [])


def log_refusal(update: Update, command: str) -> None:
    user = update.effective_user
    chat = update.effective_chat
    logger.warning("refused /%s for user %s in chat %s: not an admin", command,
                   user.id if user else None, chat.id if chat else None)


__all__ = ["BotRuntime", "CONTEXT_TYPES", "Context", "CustomContext", "RUNTIME_KEY", "args_of", "is_bot_admin",
           "language_of", "log_refusal", "may_manage_chat", "reply", "speaking"]
