"""A stretch of Bot API trouble (500s, 429s, requests that hang): nothing is lost, and the bot
recovers by itself once the server does."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.services import subscriptions
from bot.services.delivery import count_deliveries
from tests.e2e.conftest import Bot
from tests.e2e.test_digest_delivery import _fire_digest_jobs, _key, _subscribe_many

CHATS = list(range(40_001, 40_021))
USER = 40_999


@pytest.mark.asyncio
@pytest.mark.parametrize(("mode", "stretch"), [("500", 3.0), ("429", 3.0), ("timeout", 6.0)])
async def test_outage_during_fanout_loses_nothing_and_recovers(bot: Bot, mode: str, stretch: float) -> None:
    server = bot.server
    await bot.stop()
    await bot.start(sweep_interval=0.5, retry_delay=timedelta(seconds=0.5))
    bot.delivery.network_retries = 1  # give up on a message quickly; the sweep retries the delivery
    _subscribe_many(bot, CHATS)
    key = _key(bot, CHATS[0])

    server.set_outage(mode, retry_after=1)
    _fire_digest_jobs(bot)
    server.user_message("/start", user_id=USER)  # a person writes while Telegram is down
    await asyncio.sleep(stretch)
    during = count_deliveries(bot.session_factory, key)
    assert during.get("sent", 0) == 0  # nothing got through the outage...
    assert during.get("failed", 0) == 0  # ...and nothing was written off
    server.set_outage(None)

    await server.wait_for_async(
        lambda: count_deliveries(bot.session_factory, key).get("sent", 0) == len(CHATS),
        timeout=40, what="every digest delivered after the outage", interval=0.2)
    await server.wait_for_async(lambda: len(server.messages_to(USER)) >= 1, timeout=40,
                                what="the reply to /start sent during the outage")
    await asyncio.sleep(1.0)  # a sweep or two more must not send anything again
    await bot.delivery.wait_background()
    received = Counter(r["chat_id"] for r in server.sent if r["method"] == "sendMessage")
    assert {chat: received[chat] for chat in CHATS} == {chat: 1 for chat in CHATS}
    assert len(server.messages_to(USER)) == 1
    for chat_id in CHATS:
        subscriber = subscriptions.get_subscriber(bot.session_factory, chat_id)
        assert subscriber is not None and subscriber.active


@pytest.mark.asyncio
async def test_digest_missed_while_the_bot_was_down_is_sent_at_start(bot: Bot) -> None:
    server = bot.server
    _subscribe_many(bot, CHATS[:3])
    await bot.stop()
    # the digest time passed an hour ago while the bot was stopped; they subscribed yesterday
    from datetime import UTC, datetime

    from store.models import Subscriber

    with bot.session_factory.begin() as session:
        for row in session.query(Subscriber).filter(Subscriber.chat_id.in_(CHATS[:3])):
            local = datetime.now(UTC).astimezone(subscriptions.get_subscriber(bot.session_factory,
                                                                              row.chat_id).zone)
            row.digest_time = (local - timedelta(hours=1)).strftime("%H:%M")
            row.created_at = datetime.now(UTC) - timedelta(days=1)
    await bot.start(sweep_interval=0.5)
    await server.wait_for_async(lambda: all(server.messages_to(c) for c in CHATS[:3]), timeout=20,
                                what="the missed digests")
    await asyncio.sleep(1.2)
    await bot.delivery.wait_background()
    assert [len(server.messages_to(c)) for c in CHATS[:3]] == [1, 1, 1]
