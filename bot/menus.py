"""The bot's command menus (setMyCommands): the plain menu everyone sees, per language, and the
admin menu set in each admin's own chat (a ``BotCommandScopeChat``)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.i18n import LANGUAGES, command_descriptions

logger = logging.getLogger(__name__)

USER_COMMANDS = ("start", "help", "subscribe", "unsubscribe", "settings", "digest", "incidents", "lang", "sources")
ADMIN_COMMANDS = ("addsource", "removesource", "pausesource", "resumesource", "sourceinfo", "admins", "stats")


def menu(lang: str, names: tuple[str, ...]) -> list[BotCommand]:
    descriptions = command_descriptions(lang)
    return [BotCommand(name, descriptions[name]) for name in names]


async def set_default_menus(bot: Bot) -> None:
    """The plain menu for everyone: English by default, and one per UI language."""
    await bot.set_my_commands(menu("en", USER_COMMANDS), scope=BotCommandScopeDefault())
    for lang in LANGUAGES:
        await bot.set_my_commands(menu(lang, USER_COMMANDS), scope=BotCommandScopeDefault(), language_code=lang)


async def set_chat_menu(bot: Bot, user_id: int, *, admin: bool) -> bool:
    """The menu in ``user_id``'s private chat: the admin menu, or the plain one once they are no
    admin any more; False (and logged) when Telegram refused it, e.g. they never started the bot."""
    names = USER_COMMANDS + ADMIN_COMMANDS if admin else USER_COMMANDS
    try:
        await bot.set_my_commands(menu("en", names), scope=BotCommandScopeChat(user_id))
        for lang in LANGUAGES:
            await bot.set_my_commands(menu(lang, names), scope=BotCommandScopeChat(user_id), language_code=lang)
    except TelegramError as exc:
        logger.warning("could not set the %s menu for %s: %s", "admin" if admin else "plain", user_id, exc)
        return False
    return True
