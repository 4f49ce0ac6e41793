"""The bot's profile per language, set at start-up: the description a new user reads on the empty
chat screen ("What can this bot do?") and the short description of its profile and shared links."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.i18n import FALLBACK, LANGUAGES, t

logger = logging.getLogger(__name__)


async def set_descriptions(bot: Bot) -> None:
    """setMyDescription and setMyShortDescription for every language, and English for the rest.

    A refusal is logged, not raised: the bot works without its profile texts.
    """
    for code in (None, *LANGUAGES):
        lang = code or FALLBACK
        try:
            await bot.set_my_description(t(lang, "description"), language_code=code)
            await bot.set_my_short_description(t(lang, "short_description"), language_code=code)
        except TelegramError as exc:
            logger.warning("could not set the bot's description (%s): %s", code or "default", exc)
