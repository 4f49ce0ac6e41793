"""The Telegram Application: builder, handler registration, start-up work, and ``claimwatch run``.

Start-up (``post_init``) sets the command menus (per language, and an admin menu per admin
chat), rebuilds every subscriber's digest job from the database (PTB's JobQueue keeps jobs in
memory only), finishes deliveries a previous process left half-done, and schedules polling.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot import jobs
from bot.engine.extract import Extractor
from bot.i18n import t
from bot.jobs import DEFAULT_SWEEP_INTERVAL
from bot.menus import ADMIN_COMMANDS, USER_COMMANDS, set_chat_menu, set_default_menus
from bot.services import subscriptions
from bot.services.delivery import DEFAULT_RETRY_DELAY, DEFAULT_STALE_AFTER
from bot.services.digests import DeliveryService
from bot.services.ingest import load_extractor
from bot.services.polling import PollResult
from bot.telegram.safe_updates import SafeUpdatesRequest
from bot.telegram.send import DEFAULT_PACE
from bot.telegram.tracked_request import TrackedRequest
from config.settings import Settings
from handlers import CONTEXT_TYPES, RUNTIME_KEY, BotRuntime
from handlers import admin, callbacks, channel, errors, profile, user

logger = logging.getLogger(__name__)

# every message is Telegram HTML (text from posts is escaped by the engine) without link previews
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))


def build_application(settings: Settings, session_factory: sessionmaker[Session], extractor: Extractor | None, *,
                      pace: float = DEFAULT_PACE, stale_after: timedelta = DEFAULT_STALE_AFTER,
                      poll_sources: bool = True, shutdown_grace: float = 10.0,
                      sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
                      retry_delay: timedelta = DEFAULT_RETRY_DELAY,
                      lease_owner: str | None = None) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, wired to the database, the extraction engine and the Bot API at ``telegram_api_url``.

    Sends go through ``TrackedRequest``, so the delivery log knows which message is on the wire.
    ``lease_owner`` is the bot lease this process holds (see ``store.leases``; ``run_bot`` keeps
    it with a heartbeat): only its holder resumes interrupted deliveries, and it is released at stop.

    Raises:
        ValueError: no bot token is configured.
    """
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    application = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .request(TrackedRequest(connection_pool_size=256))
        .get_updates_request(SafeUpdatesRequest())
        .rate_limiter(smooth_rate_limiter(settings.broadcast_rate if settings.paid_broadcast else FREE_RATE))
        .defaults(DEFAULTS)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(16)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    delivery = DeliveryService(session_factory, extractor, pace=pace, stale_after=stale_after,
                               default_timezone=settings.timezone, retry_delay=retry_delay,
                               lease_owner=lease_owner, paid_broadcast=settings.paid_broadcast)
    application.bot_data[RUNTIME_KEY] = BotRuntime(settings, session_factory, extractor, delivery,
                                                   lease_owner=lease_owner, poll_sources=poll_sources,
                                                   shutdown_grace=shutdown_grace, sweep_interval=sweep_interval)
    register_handlers(application)
    return application


FREE_RATE = 29.0  # messages a second: Telegram's free limit is 30; paid broadcasts go up to 1,000


def smooth_rate_limiter(per_second: float = FREE_RATE, per_group_per_minute: float = 20.0) -> AIORateLimiter:
    """Telegram's flood limits as an even pace. ``AIORateLimiter``'s buckets hold as many tokens
    as the rate (30 at once, then 30/s), and that burst on top of the steady rate is what Telegram
    answers with 429s; a bucket of one token spaces the messages evenly instead. A group keeps a
    burst of three (20 a minute), so quick replies in one group are not held back."""
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / per_second,
                          group_max_rate=3, group_time_period=180 / per_group_per_minute, max_retries=3)


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Every command, post, button and membership handler, and the error handler."""
    only_messages = filters.UpdateType.MESSAGE
    commands = {
        "start": user.cmd_start, "help": user.cmd_help, "subscribe": user.cmd_subscribe,
        "unsubscribe": user.cmd_unsubscribe, "settings": user.cmd_settings, "digest": user.cmd_digest,
        "incidents": user.cmd_incidents, "lang": user.cmd_lang, "sources": user.cmd_sources,
        "addsource": admin.cmd_addsource, "removesource": admin.cmd_removesource,
        "pausesource": admin.cmd_pausesource, "resumesource": admin.cmd_resumesource,
        "sourceinfo": admin.cmd_sourceinfo, "admins": admin.cmd_admins, "stats": admin.cmd_stats,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=only_messages))
    application.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POSTS & (filters.TEXT | filters.CAPTION),
                                           channel.on_channel_post))
    application.add_handler(MessageHandler(only_messages & filters.ChatType.PRIVATE & filters.FORWARDED,
                                           channel.on_forwarded_post))
    application.add_handler(CallbackQueryHandler(callbacks.on_settings_callback, pattern=r"^settings:"))
    application.add_handler(CallbackQueryHandler(callbacks.on_forward_callback, pattern=r"^fwd:"))
    application.add_handler(CallbackQueryHandler(callbacks.on_channel_callback, pattern=r"^chan:"))
    application.add_handler(CallbackQueryHandler(callbacks.on_lang_callback, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(callbacks.on_remove_callback, pattern=r"^rmsrc:"))
    application.add_handler(CallbackQueryHandler(callbacks.on_unknown_callback))
    application.add_handler(ChatMemberHandler(channel.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(only_messages & filters.COMMAND, user.on_unknown_command))
    application.add_handler(MessageHandler(only_messages & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
                                           & ~filters.FORWARDED, user.on_text))
    application.add_error_handler(errors.on_error)


def _runtime(application: Application[Any, Any, Any, Any, Any, Any]) -> BotRuntime:
    value = application.bot_data[RUNTIME_KEY]
    assert isinstance(value, BotRuntime)
    return value


async def set_command_menus(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """setMyCommands for everyone (per language, plus a default) and an admin menu in each admin's chat."""
    rt = _runtime(application)
    await set_default_menus(application.bot)
    configured, added = await asyncio.to_thread(subscriptions.list_admin_ids, rt.session_factory, rt.settings)
    for admin_id in sorted(set(configured) | set(added)):
        await set_chat_menu(application.bot, admin_id, admin=True)


async def notify_admins(application: Application[Any, Any, Any, Any, Any, Any],
                        message: Callable[[str], str]) -> None:
    """Send every admin one message, ``message(language)`` in their language: their chat's stored
    language (/lang or their subscription), else English."""
    rt = _runtime(application)
    configured, added = await asyncio.to_thread(subscriptions.list_admin_ids, rt.session_factory, rt.settings)
    for admin_id in sorted(set(configured) | set(added)):
        sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, admin_id)
        try:
            await application.bot.send_message(admin_id, message(sub.language if sub else subscriptions.pick_language(None)))
        except TelegramError as exc:
            logger.warning("could not notify admin %s: %s", admin_id, exc)


async def notify_paused(application: Application[Any, Any, Any, Any, Any, Any], result: PollResult) -> None:
    """Tell every admin that polling paused a source after failures; the error itself is logged
    (by the poll), not sent: it may name the fetcher's addresses."""
    await notify_admins(application, lambda lang: t(lang, "source_auto_paused", name=result.label or result.ref,
                                                    failures=result.failures))


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    rt = _runtime(application)
    try:
        await set_command_menus(application)
    except TelegramError as exc:
        logger.warning("could not set the command menus: %s", exc)
    await profile.set_descriptions(application.bot)
    job_queue = application.job_queue
    if job_queue is not None:
        await asyncio.to_thread(jobs.rebuild_schedules, job_queue, rt.delivery)
        if rt.poll_sources and rt.extractor is not None:

            async def notify(result: PollResult) -> None:
                await notify_paused(application, result)

            jobs.schedule_polling(job_queue, rt.session_factory, rt.settings, rt.extractor, notify=notify)
    await rt.delivery.resume_interrupted(application.bot)
    if job_queue is not None:
        jobs.schedule_sweep(job_queue, rt.delivery,
                            rt.sweep_interval)


async def _post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    rt = _runtime(application)
    await rt.delivery.shutdown(rt.shutdown_grace)
    owner = rt.lease_owner
    if owner:  # after the deliveries stopped: a standby may take over at once
        from store.leases import release_lease

        keeper = rt.lease_keeper
        if keeper is not None:  # no heartbeat after the release (it would read as a takeover)
            await asyncio.to_thread(keeper.stop)
        try:
            await asyncio.to_thread(release_lease, rt.session_factory, owner)
            rt.lease_owner = None
        except Exception:
            logger.warning("could not release the bot lease; it lapses by itself", exc_info=True)


async def stop_application(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop an Application started by hand (tests, benchmarks) as ``run_polling`` stops it:
    the updater, the application and its ``post_stop`` (deliveries in flight), then shutdown."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    await application.shutdown()

def take_bot_lease(session_factory: sessionmaker[Session], *, standby: bool,
                   sleep: float | None = None) -> str | None:
    """The bot lease for this process, or None (with one line printed) when another bot holds it.

    With ``standby`` wait until the holder's lease lapses or is released, then take it.
    """
    import time

    from store.leases import HEARTBEAT_INTERVAL, LeaseHeld, acquire_lease, new_owner

    owner = new_owner()
    announced = False
    while True:
        try:
            acquire_lease(session_factory, owner)
            if announced:
                logger.info("the bot lease is free: taking over")
            return owner
        except LeaseHeld as held:
            if not standby:
                print(f"claimwatch: {held}; stop it first, or start this one with --standby to take over "
                      f"when it stops", file=sys.stderr)
                return None
            if not announced:
                logger.info("standing by: %s", held)
                announced = True
        time.sleep(sleep if sleep is not None else HEARTBEAT_INTERVAL / 2)


PROBE_TIMEOUT = 10.0  # seconds the start-up getMe may take


def probe_bot_api(settings: Settings, *, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Ask the Bot API at ``CLAIMWATCH_TELEGRAM_API_URL`` who the bot is (getMe) before anything
    else starts; None when it answers for the token, else one line naming the setting, what was
    tried (the token left out) and what went wrong: unreachable, not a Bot API, or the token refused."""
    import httpx

    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value()
    setting = f"CLAIMWATCH_TELEGRAM_API_URL={settings.telegram_api_url}"
    tried = f"POST {settings.telegram_api_url}/bot<TELEGRAM_BOT_TOKEN>/getMe"
    try:
        response = httpx.post(f"{settings.telegram_api_url}/bot{token}/getMe", timeout=timeout)
    except httpx.TimeoutException:
        return f"cannot reach the Telegram Bot API at {setting}: no answer within {timeout:g} s (tried {tried})"
    except httpx.HTTPError as exc:  # refused, unknown host, TLS, a broken answer
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"cannot reach the Telegram Bot API at {setting}: {reason} (tried {tried})"
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
        kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
        return (f"{setting} is not a Telegram Bot API: {tried} answered HTTP {response.status_code} ({kind}), "
                f"not a Bot API reply")
    if body["ok"]:
        return None
    description = str(body.get("description") or "").splitlines()[0][:200] if body.get("description") else ""
    if response.status_code in (401, 404):
        return (f"Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather): the Bot API at {setting} "
                f"answered {tried} with {response.status_code} {description}".rstrip())
    return f"the Telegram Bot API at {setting} refused {tried}: {response.status_code} {description}".rstrip()


def run_bot(settings: Settings, webhook_url: str | None = None, listen: str = "127.0.0.1:8443", *,
            standby: bool = False, poll: bool | None = None) -> int:
    """``claimwatch run``: long polling by default, a webhook when ``webhook_url`` is given.

    The bot polls due channels and feeds itself unless ``poll`` is False (``--no-poll``) or,
    when ``poll`` is None, ``CLAIMWATCH_POLL_IN_BOT`` is false: ``claimwatch worker`` processes
    poll them then (see ``bot.worker``).

    The Bot API is asked first (``probe_bot_api``): a wrong ``CLAIMWATCH_TELEGRAM_API_URL``, an
    unreachable API or a refused token is one line on stderr and exit status 1. Only one bot runs
    per database: the bot lease is taken first (or, with ``standby``, waited
    for), before anything talks to Telegram."""
    if settings.telegram_bot_token is None:
        print("claimwatch: TELEGRAM_BOT_TOKEN is not set (get a token from @BotFather)", file=sys.stderr)
        return 1
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if webhook_url and not secret:
        print("claimwatch: webhook mode needs CLAIMWATCH_WEBHOOK_SECRET (letters, digits, _ and -)", file=sys.stderr)
        return 1
    host, _, port = listen.rpartition(":")
    if webhook_url and (not host or not port.isdigit()):
        print(f"claimwatch: --listen must be HOST:PORT, not {listen!r}", file=sys.stderr)
        return 1
    from config.settings import TokenFilter, configure_logging
    from store.db import DatabaseError, open_database

    configure_logging(settings.log_level, secrets=[settings.telegram_bot_token.get_secret_value()])
    problem = probe_bot_api(settings)
    if problem is not None:
        print(TokenFilter().mask(f"claimwatch: {problem}"), file=sys.stderr)
        return 1
    try:
        _, session_factory = open_database(settings.database_url)
    except DatabaseError as exc:
        print(f"claimwatch: {exc}", file=sys.stderr)
        return 1
    owner = take_bot_lease(session_factory, standby=standby)
    if owner is None:
        return 1
    polls = settings.poll_in_bot if poll is None else poll
    if not polls:
        if settings.database_url.startswith("sqlite"):
            logger.warning("source polling is off in the bot, and claimwatch worker needs PostgreSQL: nothing "
                           "polls the followed channels and feeds of this SQLite database")
        else:
            logger.info("source polling is off in the bot: claimwatch worker processes poll channels and feeds")
    import os
    import signal

    from store.leases import LeaseKeeper

    # taken over while this process was frozen: stop as on SIGTERM (run_polling handles it)
    keeper = LeaseKeeper(session_factory, owner, on_lost=lambda: os.kill(os.getpid(), signal.SIGTERM))
    keeper.start()
    try:
        extractor = load_extractor(settings)
        application = build_application(settings, session_factory, extractor, lease_owner=owner,
                                        poll_sources=polls)
        _runtime(application).lease_keeper = keeper
        if webhook_url:
            application.run_webhook(listen=host, port=int(port), url_path=urlsplit(webhook_url).path.lstrip("/"),
                                    webhook_url=webhook_url, secret_token=secret,
                                    allowed_updates=Update.ALL_TYPES)
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        from store.leases import release_lease

        keeper.stop()
        try:  # a no-op when post_stop released it already, or when another process took it over
            release_lease(session_factory, owner)
        except Exception:
            logger.warning("could not release the bot lease; it lapses by itself")
    return 0


__all__ = ["ADMIN_COMMANDS", "USER_COMMANDS", "build_application", "notify_admins", "notify_paused", "probe_bot_api",
           "run_bot", "set_command_menus", "stop_application"]
