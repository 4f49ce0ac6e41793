"""Commands for everyone: /start, /help, /subscribe, /unsubscribe, /settings, /digest, /incidents, /lang,
/sources; and questions typed in plain text."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import TelegramError

from bot import jobs
from bot.engine.digest import format_day
from bot.engine.names import table_names
from bot.i18n import Raw, shorten, t
from bot.services import reading, subscriptions, vetting
from bot.services.subscriptions import InputError, SubscriberView
from bot.telegram.send import GaveUp, Part, send_parts
from handlers import (
    Context,
    args_of,
    is_bot_admin,
    may_manage_chat,
    reply,
    speaking,
)
from handlers.callbacks import (
    SETTING_WORDS,
    language_keyboard,
    setting_change,
    settings_keyboard,
    settings_text,
)

logger = logging.getLogger(__name__)

def _when(sub: SubscriberView) -> dict[str, str]:
    return {"time": sub.digest_time, "tz": sub.timezone}


async def _subscribe_target(update: Update, context: Context, lang: str) -> tuple[int, str] | None:
    """The chat /subscribe or /unsubscribe acts on: this chat, or ``@channel`` named by its admin."""
    chat = update.effective_chat
    assert chat is not None
    args = args_of(context)
    if args and chat.type == Chat.PRIVATE:
        try:
            target = await context.bot.get_chat(args[0] if args[0].startswith("@") else int(args[0]))
        except (ValueError, TelegramError):
            await reply(update, context, t(lang, "group_admin_only"))
            return None
        if not await may_manage_chat(update, context, target.id):
            await reply(update, context, t(lang, "group_admin_only"))
            return None
        return target.id, target.type
    if not await may_manage_chat(update, context):
        await reply(update, context, t(lang, "group_admin_only"))
        return None
    return chat.id, chat.type


@speaking
async def cmd_start(update: Update, context: Context, lang: str) -> None:
    """Welcome the user; ``/start sub_<oblast>`` subscribes with that region."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None:
        return
    rt = context.runtime
    args = args_of(context)
    if args and args[0].startswith("sub_"):
        try:
            oblast = subscriptions.parse_oblast(args[0].removeprefix("sub_"))
        except InputError as exc:
            await reply(update, context, t(lang, exc.key, value=exc.value))
            return
        if not await may_manage_chat(update, context):
            await reply(update, context, t(lang, "group_admin_only"))
            return
        sub, _ = await asyncio.to_thread(jobs.subscribe, context.job_queue, rt.delivery, chat.id, chat_type=chat.type,
                                         language=subscriptions.pick_language(user.language_code if user else None),
                                         oblasts=[oblast])
        shown = ", ".join(table_names().oblast(o, sub.language) or o for o in sub.oblasts)
        await reply(update, context, t(sub.language, "welcome_subscribed", oblasts=shown, **_when(sub)))
        return
    await reply(update, context, t(lang, "welcome"))


@speaking
async def cmd_help(update: Update, context: Context, lang: str) -> None:
    """List the commands (and the admin ones for admins)."""
    text = t(lang, "help")
    if await is_bot_admin(update, context):
        text += "\n\n" + t(lang, "help_admin")
    await reply(update, context, text)


@speaking
async def cmd_subscribe(update: Update, context: Context, lang: str) -> None:
    """Subscribe this chat (or ``@channel`` you administer) to the daily digest."""
    user = update.effective_user
    target = await _subscribe_target(update, context, lang)
    if target is None:
        return
    chat_id, chat_type = target
    sub, changed = await asyncio.to_thread(
        jobs.subscribe, context.job_queue, context.runtime.delivery, chat_id, chat_type=chat_type,
        language=subscriptions.pick_language(user.language_code if user else None))
    await reply(update, context, t(lang, "subscribed" if changed else "already_subscribed", **_when(sub)))


@speaking
async def cmd_unsubscribe(update: Update, context: Context, lang: str) -> None:
    """Stop the daily digest of this chat (or of ``@channel`` you administer)."""
    target = await _subscribe_target(update, context, lang)
    if target is None:
        return
    done = await asyncio.to_thread(jobs.unsubscribe, context.job_queue, context.runtime.delivery, target[0])
    await reply(update, context, t(lang, "unsubscribed" if done else "not_subscribed"))


@speaking
async def cmd_settings(update: Update, context: Context, lang: str) -> None:
    """Show the settings menu, or change one setting: ``/settings time 07:30``."""
    chat = update.effective_chat
    if chat is None:
        return
    rt = context.runtime
    sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, chat.id)
    if sub is None or not sub.active:
        await reply(update, context, t(lang, "not_subscribed"))
        return
    if not await may_manage_chat(update, context):
        await reply(update, context, t(lang, "group_admin_only"))
        return
    args = args_of(context)
    if not args:
        await reply(update, context, settings_text(sub), settings_keyboard(sub))
        return
    if args[0].lower() not in SETTING_WORDS or len(args) < 2:
        await reply(update, context, t(lang, "settings_usage"))
        return
    try:
        changes = setting_change(args[0], " ".join(args[1:])) or {}
        sub = await asyncio.to_thread(jobs.update_settings, context.job_queue, rt.delivery, chat.id, **changes)
    except InputError as exc:
        await reply(update, context, t(lang, exc.key, value=exc.value))
        return
    await reply(update, context, t(sub.language, "saved") + "\n\n" + settings_text(sub))


@speaking
async def cmd_digest(update: Update, context: Context, lang: str) -> None:
    """Send today's digest now (today in the chat's time zone): the text, then its chart and map.

    The parts are the scheduled digest's (``DeliveryService.digest_parts``). The pictures go after
    the text and on their own: one that cannot be rendered is left out (and logged); one that
    cannot be sent leaves the text delivered, and the reader is told only that it is missing.
    """
    chat = update.effective_chat
    if chat is None:
        return
    rt = context.runtime
    sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, chat.id)
    zone = sub.timezone if sub is not None else rt.delivery.default_timezone
    oblasts = sub.oblasts if sub is not None and sub.active else ()
    day = datetime.now(ZoneInfo(zone)).date()
    parts = await rt.delivery.digest_parts(day, lang, oblasts, zone=zone)
    await send_parts(context.bot, chat.id, [p for p in parts if p.photo is None], rt.delivery.pace)
    for picture in (p for p in parts if p.photo is not None):
        try:
            await send_parts(context.bot, chat.id, [picture], rt.delivery.pace)
        except (TelegramError, GaveUp) as exc:
            logger.warning("a picture of %s did not reach chat %s: %s", day, chat.id, exc)
            with contextlib.suppress(TelegramError, GaveUp):
                await send_parts(context.bot, chat.id, [Part(text=t(lang, "picture_not_sent"))], 0)


@speaking
async def cmd_incidents(update: Update, context: Context, lang: str) -> None:
    """The latest incidents, newest first, for a place when one is given (in any language)."""
    chat = update.effective_chat
    if chat is None:
        return
    rt = context.runtime
    query = " ".join(args_of(context)).strip() or None
    gazetteer = rt.extractor.gazetteer if rt.extractor is not None else None
    found = await asyncio.to_thread(reading.latest_incidents, rt.session_factory, rt.reader_names(), gazetteer,
                                    query, lang)
    if not found.messages:
        where = t(lang, "incidents_for", place=shorten(found.place)) if found.place else ""
        await reply(update, context, t(lang, "incidents_none", place=Raw(where)))
        return
    for message in found.messages:
        await reply(update, context, message)


@speaking
async def cmd_lang(update: Update, context: Context, lang: str) -> None:
    """Choose the bot's language (``/lang uk``), subscribed or not; without a value, buttons."""
    chat = update.effective_chat
    if chat is None:
        return
    args = args_of(context)
    if not await may_manage_chat(update, context):
        await reply(update, context, t(lang, "group_admin_only"))
        return
    if not args:
        await reply(update, context, t(lang, "choose_lang"), language_keyboard(lang))
        return
    try:
        chosen = await asyncio.to_thread(subscriptions.remember_language, context.runtime.session_factory,
                                         chat.id, args[0], chat_type=chat.type)
    except InputError as exc:
        await reply(update, context, t(lang, exc.key, value=exc.value))
        return
    await reply(update, context, t(chosen, "lang_saved", lang=t(chosen, "lang_name")))


@speaking
async def on_text(update: Update, context: Context, lang: str) -> None:
    """A message that is not a command, in a private chat: a question about a place or a day gets
    the matching incidents; anything else a pointer to /help."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None or message is None or not message.text:
        return
    rt = context.runtime
    if rt.extractor is None:
        await reply(update, context, t(lang, "text_not_understood"))
        return
    sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, chat.id)
    zone = sub.zone if sub is not None else rt.settings.zone
    today = datetime.now(zone).date()
    oblasts = sub.oblasts if sub is not None and sub.active else ()
    found = await asyncio.to_thread(reading.answer_question, rt.session_factory, rt.reader_names(),
                                    rt.extractor.gazetteer, message.text, lang, today, oblasts=oblasts, zone=zone)
    if found is None:
        await reply(update, context, t(lang, "text_not_understood"))
        return
    if not found.messages:
        when = format_day(found.day, lang) if found.day else ""
        key = "text_none_place_day" if found.place and found.day else "text_none_place" if found.place else "text_none_day"
        await reply(update, context, t(lang, key, place=found.place or "", day=when))
        return
    for text in found.messages:
        await reply(update, context, text)


@speaking
async def cmd_sources(update: Update, context: Context, lang: str) -> None:
    """What claimwatch follows; an admin also sees the rejected channels, each with a button that
    allows it again."""
    from bot.services.sources import list_sources_info

    rt = context.runtime
    infos = await asyncio.to_thread(list_sources_info, rt.session_factory)
    lines = [t(lang, "sources_title", n=len(infos))] if infos else [t(lang, "sources_none")]
    for info in infos:
        handle = f" ({info.label})" if info.label and info.label != info.name and not info.label.lstrip("-").isdigit() else ""
        lines.append(t(lang, "source_line", name=info.name, handle=handle,
                       state=t(lang, "source_active" if info.active else "source_paused")))
    rejected = await asyncio.to_thread(vetting.list_rejected, rt.session_factory) \
        if await is_bot_admin(update, context) else []
    if not rejected:
        await reply(update, context, "\n".join(lines))
        return
    sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, update.effective_chat.id) \
        if update.effective_chat else None
    zone = sub.zone if sub is not None else rt.settings.zone
    lines += ["", t(lang, "rejected_title", n=len(rejected))]
    for channel in rejected:
        moment = channel.rejected_at.astimezone(zone)
        lines.append(t(lang, "rejected_line", name=channel.title,
                       handle=f" (@{channel.username})" if channel.username else "",
                       when=f"{format_day(moment.date(), lang)}, {moment:%H:%M}"))
    buttons = [[InlineKeyboardButton(t(lang, "btn_allow_again", name=shorten(channel.title, 40)),
                                     callback_data=f"chan:allow:{channel.chat_id}")] for channel in rejected[:20]]
    await reply(update, context, "\n".join(lines), InlineKeyboardMarkup(buttons))


def _addressee(message: Message) -> str:
    """The bot a ``/command@name`` names ("" when it names none)."""
    entity = message.entities[0] if message.entities else None
    if entity is None or entity.type != MessageEntity.BOT_COMMAND or entity.offset != 0:
        return ""
    return message.parse_entity(entity).partition("@")[2]


@speaking
async def on_unknown_command(update: Update, context: Context, lang: str) -> None:
    """Any other /command meant for me gets a one-line pointer to /help.

    A command addressed to another bot (``/start@otherbot``) is left alone, and so, in a group,
    is a bare one: groups have other bots, and a command of theirs is not a mistake.
    """
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    addressee = _addressee(message)
    if addressee:
        if addressee.lower() != (context.bot.username or "").lower():
            return
    elif chat.type != Chat.PRIVATE:
        return
    await reply(update, context, t(lang, "unknown_command"))
