"""Inline-button presses: the settings menu (``settings:<what>:<value>``), the language of ``/lang``
(``lang:<code>``), forward confirmations (``fwd:yes:<token>`` / ``fwd:no:<token>``), pending channels
(``chan:yes:<chat id>`` / ``chan:no:<chat id>``, and ``chan:allow:<chat id>`` for a rejected one), source removals (``rmsrc:yes:<source id>`` /
``rmsrc:no:<source id>``), and buttons
the bot does not know."""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot import jobs
from bot.engine.names import sort_key, table_names
from bot.i18n import t
from bot.services import confirmations, sources, subscriptions, vetting
from bot.services.ingest import IngestStatus
from bot.services.subscriptions import InputError, SubscriberView
from handlers import (
    Context,
    is_bot_admin,
    language_of,
    log_refusal,
    may_manage_chat,
    reply,
)
from handlers.channel import show_decision

logger = logging.getLogger(__name__)

TIME_CHOICES = ("06:00", "07:00", "08:00", "09:00", "12:00", "18:00", "20:00", "21:00")
TZ_CHOICES = ("Europe/Kyiv", "Europe/Moscow", "Europe/Warsaw", "Europe/Berlin", "Europe/London",
              "America/New_York", "UTC")


# One vocabulary for /settings <word> <value> and the settings buttons (settings:<word>:<value>):
# the word names the subscriber setting a value changes (see ``subscriptions.update_settings``).
SETTING_WORDS = {"time": "digest_time", "tz": "timezone", "timezone": "timezone", "lang": "language",
                 "language": "language", "obl": "toggle_oblast", "oblast": "toggle_oblast",
                 "region": "toggle_oblast", "alerts": "instant_alerts"}
# the settings page a button of each setting redraws
SETTING_PAGES = {"digest_time": "time", "timezone": "tz", "toggle_oblast": "obl", "oblasts": "obl"}


def setting_change(word: str, value: str) -> dict[str, object] | None:
    """The change one setting word and its typed value ask for, or None when the word names none.

    Raises:
        InputError: the value of ``alerts`` is not on or off (other values are checked when saved).
    """
    field = SETTING_WORDS.get(word.lower())
    if field is None:
        return None
    return {field: subscriptions.parse_switch(value) if field == "instant_alerts" else value}


def settings_text(sub: SubscriberView) -> str:
    lang = sub.language
    names = table_names()
    oblasts = ", ".join(names.oblast(o, lang) or o for o in sub.oblasts) if sub.oblasts else t(lang, "all_oblasts")
    return t(lang, "settings_title", time=sub.digest_time, tz=sub.timezone, lang=t(lang, "lang_name"),
             oblasts=oblasts, alerts=t(lang, "on" if sub.instant_alerts else "off"))


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def settings_keyboard(sub: SubscriberView, view: str = "main") -> InlineKeyboardMarkup:
    """The settings menu, or one of its pages (time, tz, lang, obl)."""
    lang = sub.language
    back = [InlineKeyboardButton(t(lang, "btn_back"), callback_data="settings:menu:main")]
    if view == "time":
        buttons = [InlineKeyboardButton(("✓ " if v == sub.digest_time else "") + v, callback_data=f"settings:time:{v}")
                   for v in TIME_CHOICES]
        return InlineKeyboardMarkup(_rows(buttons, 4) + [back])
    if view == "tz":
        buttons = [InlineKeyboardButton(("✓ " if v == sub.timezone else "") + v, callback_data=f"settings:tz:{v}")
                   for v in TZ_CHOICES]
        return InlineKeyboardMarkup(_rows(buttons, 2) + [back])
    if view == "lang":
        buttons = [InlineKeyboardButton(("✓ " if code == sub.language else "") + t(code, "lang_name"),
                                        callback_data=f"settings:lang:{code}") for code in subscriptions.LANGUAGES]
        return InlineKeyboardMarkup([buttons, back])
    if view == "obl":
        names = table_names()
        labelled = sorted(((names.oblast_short(o.name, lang), o) for o in subscriptions.list_oblasts()),
                          key=lambda pair: sort_key(pair[0], lang))
        buttons = [InlineKeyboardButton(("✓ " if o.name in sub.oblasts else "") + label,
                                        callback_data=f"settings:obl:{o.slug}") for label, o in labelled]
        clear = [InlineKeyboardButton(("✓ " if not sub.oblasts else "") + t(lang, "btn_all_oblasts"),
                                      callback_data="settings:obl:*")]
        return InlineKeyboardMarkup(_rows(buttons, 3) + [clear, back])
    state = t(lang, "on" if sub.instant_alerts else "off")
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(t(lang, "btn_time"), callback_data="settings:menu:time"),
         InlineKeyboardButton(t(lang, "btn_tz"), callback_data="settings:menu:tz")],
        [InlineKeyboardButton(t(lang, "btn_lang"), callback_data="settings:menu:lang"),
         InlineKeyboardButton(t(lang, "btn_oblasts"), callback_data="settings:menu:obl")],
        [InlineKeyboardButton(t(lang, "btn_alerts", state=state),
                              callback_data=f"settings:alerts:{'off' if sub.instant_alerts else 'on'}")],
    ])


async def on_settings_callback(update: Update, context: Context) -> None:
    """Apply one settings button and redraw the menu."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    rt = context.runtime
    _, what, value = (query.data.split(":", 2) + ["", ""])[:3]
    sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, chat.id)
    lang = sub.language if sub else subscriptions.pick_language(query.from_user.language_code)
    if sub is None or not sub.active:
        await _answer(query, t(lang, "not_subscribed"), show_alert=True)
        return
    if not await may_manage_chat(update, context):
        await _answer(query, t(lang, "group_admin_only"), show_alert=True)
        return
    view = "main"
    changes: dict[str, object] | None = None
    answer = ""
    try:
        if what == "menu":
            view = value if value in ("time", "tz", "lang", "obl") else "main"
        elif what == "obl" and value == "*":  # the button "all regions"
            changes = {"oblasts": []}
        else:
            changes = setting_change(what, value)
        if changes:
            view = SETTING_PAGES.get(next(iter(changes)), "main")
            sub = await asyncio.to_thread(jobs.update_settings, context.job_queue, rt.delivery, chat.id, **changes)
    except InputError as exc:
        await _answer(query, t(lang, exc.key, value=exc.value), show_alert=True)
        return
    if changes:
        answer = t(sub.language, "saved")
    await _answer(query, answer or None)
    await _show(update, context, settings_text(sub), settings_keyboard(sub, view))


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """One button per language (``lang:<code>``), for anyone, subscribed or not."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(("✓ " if code == current else "") + t(code, "lang_name"),
                                                       callback_data=f"lang:{code}")
                                  for code in subscriptions.LANGUAGES]])


async def on_lang_callback(update: Update, context: Context) -> None:
    """A language button of ``/lang``: remember it for this chat and answer in it."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    lang = subscriptions.pick_language(query.from_user.language_code)
    if not await may_manage_chat(update, context):
        await _answer(query, t(lang, "group_admin_only"), show_alert=True)
        return
    try:
        chosen = await asyncio.to_thread(subscriptions.remember_language, context.runtime.session_factory,
                                         chat.id, query.data.removeprefix("lang:"), chat_type=chat.type)
    except InputError as exc:
        await _answer(query, t(lang, exc.key, value=exc.value), show_alert=True)
        return
    await _answer(query, t(chosen, "saved"))
    await _show(update, context, t(chosen, "lang_saved", lang=t(chosen, "lang_name")), language_keyboard(chosen))


async def _admin_button(update: Update, context: Context, what: str) -> tuple[CallbackQuery, str, str, str] | None:
    """An admin's press of a "prefix:action:value" button: (query, language, action, value), or
    None when there is no button or the presser is not an admin (refused and logged as ``what``)."""
    query = update.callback_query
    if query is None or query.data is None:
        return None
    lang = await language_of(update, context)  # the chat's chosen language, as the question was asked in
    if not await is_bot_admin(update, context):
        log_refusal(update, what)
        await _answer(query, t(lang, "not_admin"), show_alert=True)
        return None
    _, action, value = (query.data.split(":", 2) + ["", ""])[:3]
    return query, lang, action, value


async def on_forward_callback(update: Update, context: Context) -> None:
    """An admin confirms (or cancels) adding the channel of a forwarded post."""
    asked = await _admin_button(update, context, "forward-confirm")
    if asked is None:
        return
    query, lang, action, token = asked
    rt = context.runtime
    pending = await asyncio.to_thread(confirmations.take_forward, rt.session_factory, token)
    if pending is None:
        await _answer(query, t(lang, "forward_expired"), show_alert=True)
        return
    if action != "yes":
        await _answer(query)
        await _show(update, context, t(lang, "forward_cancelled"))
        return
    await _answer(query)
    # the admin chose to follow this channel: a rejection is forgotten, and when the channel is
    # pending it is approved (its held posts ingested) and the other admins' questions show it
    await asyncio.to_thread(vetting.allow_again, rt.session_factory, pending.chat_id)
    approved = await rt.delivery.approve_channel(context.bot, pending.chat_id, added_by=query.from_user.id)
    if approved is not None:
        await show_decision(context, approved.questions, "channel_approved_by", name=approved.name,
                            who=_who(query))
    outcome = await rt.delivery.ingest_and_alert(context.bot, chat_id=pending.chat_id, title=pending.title,
                                                 username=pending.username, post=pending.post, create=True,
                                                 added_by=query.from_user.id)
    if outcome.status is IngestStatus.INGESTED:
        text = t(lang, "source_added", name=outcome.source_name) + "\n" + t(
            lang, "forward_ingested", name=outcome.source_name, claims=outcome.claims)
    else:
        text = t(lang, "source_is_paused", name=outcome.source_name)
    await _show(update, context, text)


def _who(query: CallbackQuery) -> str:
    """The admin who pressed a button, as other admins know them: "Olena (@olena)"."""
    user = query.from_user
    return f"{user.full_name} (@{user.username})" if user.username else user.full_name


async def on_channel_callback(update: Update, context: Context) -> None:
    """An admin approves a pending channel (it becomes a source, its held posts are ingested),
    rejects it (its posts are dropped, the bot leaves the channel and will leave it again if it
    comes back), or allows a rejected channel again (``chan:allow``, from /sources). The other
    admins' copies of the question are edited to show the decision and who made it."""
    asked = await _admin_button(update, context, "channel-vetting")
    if asked is None:
        return
    query, lang, action, value = asked
    rt = context.runtime
    try:
        chat_id = int(value)
    except ValueError:
        await _answer(query, t(lang, "button_unknown"))
        return
    pressed = (query.message.chat.id, query.message.message_id) if query.message is not None else None
    if action == "allow":
        title = await asyncio.to_thread(vetting.allow_again, rt.session_factory, chat_id)
        if title is None:
            await _answer(query, t(lang, "channel_not_rejected"), show_alert=True)
            return
        await _answer(query)
        await _show(update, context, t(lang, "channel_allowed", name=title))
        return
    if action == "yes":
        approved = await rt.delivery.approve_channel(context.bot, chat_id, added_by=query.from_user.id)
        if approved is None:
            await _answer(query, t(lang, "channel_decided"), show_alert=True)
            return
        await _answer(query)
        await _show(update, context, t(lang, "channel_approved", name=approved.name, posts=approved.posts))
        await show_decision(context, approved.questions, "channel_approved_by", skip=pressed,
                            name=approved.name, who=_who(query))
        return
    if action != "no":
        await _answer(query, t(lang, "button_unknown"))
        return
    rejected = await asyncio.to_thread(vetting.reject, rt.session_factory, chat_id, by=query.from_user.id)
    if rejected is None:
        await _answer(query, t(lang, "channel_decided"), show_alert=True)
        return
    await _answer(query)
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:  # already removed from the channel: nothing to leave
        logger.info("could not leave rejected channel %s: %s", chat_id, exc)
    await _show(update, context, t(lang, "channel_rejected", name=rejected.title))
    await show_decision(context, rejected.questions, "channel_rejected_by", skip=pressed,
                        name=rejected.title, who=_who(query))


async def on_remove_callback(update: Update, context: Context) -> None:
    """An admin confirms removing a source (``/removesource``) or keeps it."""
    asked = await _admin_button(update, context, "removesource-confirm")
    if asked is None:
        return
    query, lang, action, value = asked
    if not (value.isascii() and value.isdigit() and len(value) <= 18):  # a source id, as the question sent it
        await _answer(query, t(lang, "button_unknown"))
        return
    if action != "yes":
        await _answer(query)
        await _show(update, context, t(lang, "source_kept"))
        return
    rt = context.runtime
    label = await asyncio.to_thread(sources.remove_source_id, rt.session_factory, int(value))
    if label is None:
        await _answer(query, t(lang, "source_gone"), show_alert=True)
        return
    rt.delivery.invalidate()
    await _answer(query)
    await _show(update, context, t(lang, "source_removed", name=label))


async def on_unknown_callback(update: Update, context: Context) -> None:
    """A button this bot does not know (an old keyboard): stop its spinner with one line."""
    query = update.callback_query
    if query is None:
        return
    await _answer(query, t(await language_of(update, context), "button_unknown"))


async def _answer(query: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    """Answer a button press; one too old to answer (pressed while the bot was down) is only logged."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        logger.info("could not answer button press %s: %s", query.id, exc.message)


async def _show(update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Put ``text`` in place of the pressed button's message, or send it anew when that message
    cannot be edited any more (deleted, too old, or inaccessible to the bot)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
        return
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return
        logger.info("could not edit the message of button press %s: %s", query.id, exc.message)
    await reply(update, context, text, markup)
