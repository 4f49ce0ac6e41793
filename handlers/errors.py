"""The error handler: log the failure (never the token), answer the user with one polite line."""

from __future__ import annotations

import logging
import re
import traceback

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import t
from bot.services.subscriptions import pick_language
from handlers import Context

logger = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{10,}")


async def on_error(update: object, context: Context) -> None:
    """Log an unhandled error and tell the user something went wrong, without details."""
    error = context.error
    where = update.to_dict().get("update_id") if isinstance(update, Update) else None
    trace = "".join(traceback.format_exception(error)) if error is not None else "no exception"
    logger.error("error while handling update %s:\n%s", where, _TOKEN_RE.sub("<token>", trace))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    lang = pick_language(user.language_code if user else None)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t(lang, "error_generic"), show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, t(lang, "error_generic"))
    except TelegramError as exc:
        logger.warning("could not tell chat %s about the error: %s", update.effective_chat.id, exc)
