"""Admin commands: sources (/addsource, /removesource, /pausesource, /resumesource, /sourceinfo),
/admins and /stats. Anyone else gets a polite refusal and the attempt is logged."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.services import sources, subscriptions
from bot.i18n import shorten, t
from bot.menus import set_chat_menu
from bot.pollers import FeedError, FetchError, NoPreviewError, PollerError
from handlers import Context, Handler, args_of, is_bot_admin, language_of, log_refusal, reply, speaking

T = TypeVar("T")

logger = logging.getLogger(__name__)


def admin_only(command: str) -> Callable[[Handler], Handler]:
    """Refuse (politely, and logged) anyone who is not a claimwatch admin."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: Context) -> None:
            if not await is_bot_admin(update, context):
                log_refusal(update, command)
                await reply(update, context, t(await language_of(update, context), "not_admin"))
                return
            await handler(update, context)

        return guarded

    return wrap


async def admin_zone(update: Update, context: Context) -> ZoneInfo:
    """The time zone to show an admin times in: their chat's subscriber settings, else the
    bot's CLAIMWATCH_TIMEZONE."""
    chat = update.effective_chat
    if chat is not None:
        sub = await asyncio.to_thread(subscriptions.get_subscriber, context.runtime.session_factory, chat.id)
        if sub is not None:
            return sub.zone
    return context.runtime.settings.zone


def _when(value: datetime | None, lang: str, zone: ZoneInfo) -> str:
    """A time in ``zone``, named ("2026-12-02 08:15 Europe/Kyiv"), or "never"."""
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}" if value else t(lang, "never")


async def _on_source(update: Update, context: Context, lang: str, command: str,
                     service: Callable[[Any, str], T]) -> T | None:
    """Run ``service(session_factory, key)`` for the source the command names; None (and the
    admin told) when the command names none or no such source is followed."""
    args = args_of(context)
    if not args:
        await reply(update, context, t(lang, "source_usage", command=command))
        return None
    key = " ".join(args)
    try:
        return await asyncio.to_thread(service, context.runtime.session_factory, key)
    except sources.SourceError:
        await reply(update, context, t(lang, "source_not_found", value=shorten(key)))
        return None


async def _source_action(update: Update, context: Context, lang: str, command: str,
                         action: Callable[..., str], done_key: str) -> None:
    label = await _on_source(update, context, lang, command, action)
    if label is None:
        return
    context.runtime.delivery.invalidate()
    await reply(update, context, t(lang, done_key, name=label))


@admin_only("addsource")
@speaking
async def cmd_addsource(update: Update, context: Context, lang: str) -> None:
    """Follow a channel or feed: /addsource <@channel | t.me link | feed URL> [role] [side]."""
    args = args_of(context)
    if not args:
        await reply(update, context, t(lang, "addsource_usage"))
        return
    try:
        target = sources.parse_target(args[0])
    except sources.SourceError:
        await reply(update, context, t(lang, "source_bad_target", value=shorten(args[0])))
        return
    try:
        role, side = sources.read_role_and_side(args[1:])
    except sources.BadSide as bad:
        key = "source_bad_side_guess" if bad.guess else "source_bad_side"
        await reply(update, context, t(lang, key, value=shorten(bad.word), side=bad.guess or ""))
        return
    rt = context.runtime
    followed = await asyncio.to_thread(sources.followed_source, rt.session_factory, target)
    if followed is not None:
        since = _when(followed.added_at, lang, await admin_zone(update, context))
        key = "source_already_followed" if followed.active else "source_already_paused"
        await reply(update, context, t(lang, key, name=followed.name, ref=followed.label, since=since))
        return
    user = update.effective_user
    try:
        result = await sources.add_source(rt.session_factory, rt.settings, args[0], role, side,
                                          added_by=user.id if user else None, extractor=rt.extractor)
    except (sources.SourceError, PollerError, ValueError) as exc:
        logger.warning("/addsource %s failed: %s", target.label, sources.one_line(str(exc)))
        await reply(update, context, _add_failure(lang, target.label, exc))
        return
    rt.delivery.invalidate()
    await reply(update, context, t(lang, "source_added", name=f"{result.label} ({result.name})"))


def _add_failure(lang: str, name: str, exc: Exception) -> str:
    """Why a source could not be added, in the admin's words: no fetcher URL, address or trace."""
    if isinstance(exc, NoPreviewError):
        return t(lang, "source_no_preview", name=name)
    if isinstance(exc, FeedError):
        return t(lang, "source_not_feed", name=name)
    if isinstance(exc, FetchError) and exc.status is not None:
        return t(lang, "source_http_error", name=name, status=exc.status)
    if isinstance(exc, PollerError):
        return t(lang, "source_unreachable", name=name)
    return t(lang, "source_add_failed", name=name)


@admin_only("removesource")
@speaking
async def cmd_removesource(update: Update, context: Context, lang: str) -> None:
    """Ask whether to stop following a source and delete its posts (buttons ``rmsrc:yes|no:<id>``;
    ``callbacks.on_remove_callback`` acts on an admin's press)."""
    removal = await _on_source(update, context, lang, "removesource", sources.removal_of)
    if removal is None:
        return
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(t(lang, "btn_remove"), callback_data=f"rmsrc:yes:{removal.id}"),
        InlineKeyboardButton(t(lang, "btn_keep"), callback_data=f"rmsrc:no:{removal.id}"),
    ]])
    await reply(update, context, t(lang, "remove_confirm", name=removal.name, ref=removal.label,
                                   posts=removal.posts), markup)


@admin_only("pausesource")
@speaking
async def cmd_pausesource(update: Update, context: Context, lang: str) -> None:
    """Stop polling a source (its posts stay)."""
    await _source_action(update, context, lang, "pausesource", sources.pause_source, "source_paused_done")


@admin_only("resumesource")
@speaking
async def cmd_resumesource(update: Update, context: Context, lang: str) -> None:
    """Poll a paused source again."""
    await _source_action(update, context, lang, "resumesource", sources.resume_source, "source_resumed_done")


@admin_only("sourceinfo")
@speaking
async def cmd_sourceinfo(update: Update, context: Context, lang: str) -> None:
    """Last post seen, errors and next poll of one source."""
    infos = await _on_source(update, context, lang, "sourceinfo", sources.list_sources_info)
    if infos is None:
        return
    info = infos[0]
    zone = await admin_zone(update, context)
    last = _when(info.last_post_at, lang, zone)
    if info.last_message_id is not None:
        last += f" (#{info.last_message_id})"
    errors = t(lang, "source_failures", failures=info.failures) if info.failures else t(lang, "none")
    polled = info.active and info.transport in sources.POLLED_TRANSPORTS
    if not polled:
        next_poll = "—"
    else:
        next_poll = _when(info.next_poll_at, lang, zone) if info.next_poll_at else t(lang, "source_poll_now")
    await reply(update, context, t(lang, "source_info", name=info.name, ref=info.label,
                                   role=info.role or "—",
                                   side=t(lang, f"side_{info.side}") if info.side else "—",
                                   transport=t(lang, f"transport_{info.transport}"),
                                   state=t(lang, "source_active" if info.active else "source_paused"),
                                   added=_when(info.added_at, lang, zone), last=last, errors=errors, next=next_poll))


@admin_only("admins")
@speaking
async def cmd_admins(update: Update, context: Context, lang: str) -> None:
    """/admins add <id> | remove <id> | list."""
    args = args_of(context)
    rt = context.runtime
    action = args[0].lower() if args else "list"
    if action == "list":
        configured, added = await asyncio.to_thread(subscriptions.list_admin_ids, rt.session_factory, rt.settings)
        await reply(update, context, t(lang, "admins_list", configured=", ".join(map(str, configured)) or t(lang, "none"),
                                       added=", ".join(map(str, added)) or t(lang, "none")))
        return
    if action not in ("add", "remove") or len(args) != 2 or not args[1].lstrip("-").isdigit():
        await reply(update, context, t(lang, "admins_usage"))
        return
    user_id = int(args[1])
    if action == "add":
        user = update.effective_user
        await asyncio.to_thread(subscriptions.add_admin, rt.session_factory, user_id, user.id if user else None)
        await set_chat_menu(context.bot, user_id, admin=True)  # their admin menu, at once
        await reply(update, context, t(lang, "admin_added", user_id=user_id))
        return
    removed = await asyncio.to_thread(subscriptions.remove_admin, rt.session_factory, user_id)
    if removed:
        await set_chat_menu(context.bot, user_id, admin=False)
    await reply(update, context, t(lang, "admin_removed" if removed else "admin_not_found", user_id=user_id))


@admin_only("stats")
@speaking
async def cmd_stats(update: Update, context: Context, lang: str) -> None:
    """Counts of subscribers, sources, posts, incidents and deliveries."""
    numbers = await asyncio.to_thread(subscriptions.stats, context.runtime.session_factory)
    await reply(update, context, t(lang, "stats", active=numbers.active, inactive=numbers.inactive,
                                   alerts=numbers.alerts, sources=numbers.sources, posts=numbers.posts,
                                   claims=numbers.claims, incidents=numbers.incidents, conflicts=numbers.conflicts,
                                   sent=numbers.sent, failed=numbers.failed))
