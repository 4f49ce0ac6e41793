"""Digest fan-out end to end: scheduled jobs, 429 storms, 403s, and a restart mid-way."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from bot import jobs
from bot.services import subscriptions
from bot.services.delivery import count_deliveries
from tests.e2e.conftest import Bot
from tests.e2e.test_ingestion_and_admin import KHARKIV_POST, _post


def _subscribe_many(bot: Bot, chat_ids: list[int]) -> None:
    for chat_id in chat_ids:
        bot.server.set_chat(chat_id, chat_type="private")
        jobs.subscribe(bot.app.job_queue, bot.delivery, chat_id, chat_type="private", language="en")


def _fire_digest_jobs(bot: Bot) -> None:
    """Make every digest job due now, through the real scheduler."""
    assert bot.app.job_queue is not None
    now = datetime.now(UTC)
    for job in bot.app.job_queue.jobs():
        if job.name and job.name.startswith("digest:"):
            job.job.modify(next_run_time=now)


def _key(bot: Bot, chat_id: int) -> str:
    sub = subscriptions.get_subscriber(bot.session_factory, chat_id)
    assert sub is not None
    return f"digest:{bot.delivery.digest_day(sub).isoformat()}"


@pytest.mark.asyncio
async def test_fanout_to_200_with_429_storm_and_403_gives_each_one_digest(bot: Bot) -> None:
    server = bot.server
    chats = list(range(20_001, 20_201))
    _subscribe_many(bot, chats)
    blocked = chats[::40]
    for chat_id in blocked:
        server.block_chat(chat_id)
    server.rate_limit()  # Telegram's flood limits, answered with 429
    server.fail_next("sendMessage", 429, retry_after=1, times=25)  # and a storm on top
    key = _key(bot, chats[0])
    _fire_digest_jobs(bot)
    await server.wait_for_async(
        lambda: sum(count_deliveries(bot.session_factory, key).get(s, 0) for s in ("sent", "failed")) == len(chats),
        timeout=50, what="every delivery finished", interval=0.2)
    counts = Counter(r["chat_id"] for r in server.sent if r["method"] == "sendMessage")
    for chat_id in chats:
        expected = 0 if chat_id in blocked else 1
        assert counts[chat_id] == expected, chat_id
    assert count_deliveries(bot.session_factory, key) == {"sent": 195, "failed": 5}
    for chat_id in blocked:
        sub = subscriptions.get_subscriber(bot.session_factory, chat_id)
        assert sub is not None and not sub.active
    assert any(name == "sendMessage" for name, _ in server.calls)
    # a second firing the same day sends nothing more
    before = len(server.sent)
    _fire_digest_jobs(bot)
    await asyncio.sleep(1.0)
    await bot.delivery.wait_background()
    assert len(server.sent) == before


@pytest.mark.asyncio
async def test_restart_mid_fanout_sends_no_duplicate(bot: Bot) -> None:
    server = bot.server
    await _post(bot, KHARKIV_POST)  # a day with incidents: text + chart per subscriber
    await bot.stop()
    await bot.start(pace=1.05, shutdown_grace=0)
    chats = list(range(30_001, 30_041))
    _subscribe_many(bot, chats)
    # the incidents are dated today; make the digest cover today whatever the hour
    for chat_id in chats:
        jobs.update_settings(bot.app.job_queue, bot.delivery, chat_id, digest_time="12:00")
    bot.delivery.digest_day = lambda subscriber, now=None: datetime.now(subscriber.zone).date()  # type: ignore[method-assign]
    key = _key(bot, chats[0])
    server.rate_limit()
    _fire_digest_jobs(bot)
    await server.wait_for_async(lambda: len([r for r in server.sent if r["chat_id"] in chats]) >= 30, timeout=20)
    await bot.stop()  # mid-way: most chats have the text, few the chart
    interrupted = count_deliveries(bot.session_factory, key)
    assert interrupted.get("sending", 0) > 0
    await bot.start(pace=1.05)
    bot.delivery.digest_day = lambda subscriber, now=None: datetime.now(subscriber.zone).date()  # type: ignore[method-assign]
    await server.wait_for_async(
        lambda: count_deliveries(bot.session_factory, key).get("sent", 0) == len(chats), timeout=30,
        what="every delivery finished after the restart", interval=0.2)
    await bot.delivery.wait_background()
    for chat_id in chats:
        received = server.messages_to(chat_id)
        kinds = Counter(r["method"] for r in received)
        assert kinds["sendMessage"] <= 1 and kinds["sendPhoto"] <= 2, (chat_id, kinds)
    complete = sum(1 for c in chats if len(server.messages_to(c)) == 3)  # text, chart, map
    assert complete >= len(chats) - interrupted.get("sending", 0)


@pytest.mark.asyncio
async def test_paid_broadcast_fans_out_past_the_free_limit_once_each(server, tmp_path, extractor) -> None:  # type: ignore[no-untyped-def]
    """With CLAIMWATCH_PAID_BROADCAST the digests go out as paid broadcasts, paced at
    CLAIMWATCH_BROADCAST_RATE (here 200 a second, past the free 30) against a server enforcing
    Telegram's limits: every subscriber gets the digest once, none is refused for flooding."""
    from config.settings import load_settings
    from store.db import open_database
    from tests.e2e.conftest import ADMIN_ID
    from tests.e2e.conftest import Bot as RunningBot

    settings = load_settings(TELEGRAM_BOT_TOKEN=server.token, CLAIMWATCH_TELEGRAM_API_URL=server.url,
                             CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'paid.db'}",
                             CLAIMWATCH_ADMIN_IDS=str(ADMIN_ID), CLAIMWATCH_PAID_BROADCAST="1",
                             CLAIMWATCH_BROADCAST_RATE="200")
    _, session_factory = open_database(settings.database_url)
    bot = RunningBot(server, settings, session_factory, extractor)
    await bot.start()
    try:
        chats = list(range(30_001, 30_301))
        _subscribe_many(bot, chats)
        server.rate_limit()
        key = _key(bot, chats[0])
        _fire_digest_jobs(bot)
        await server.wait_for_async(lambda: count_deliveries(bot.session_factory, key).get("sent", 0) == len(chats),
                                    timeout=60, what="every digest sent", interval=0.2)
        sends = [r for r in server.sent if r["method"] == "sendMessage" and r["chat_id"] in set(chats)]
        assert Counter(r["chat_id"] for r in sends) == Counter(chats)  # each exactly once
        assert all(r["paid_broadcast"] for r in sends)
        assert server.too_many_requests == 0  # the server refused nothing for flooding
    finally:
        await bot.stop()
