"""A rising toll after an alert: the subscribers who had the alert get one short update, at most one
per incident an hour, and a restart sends none twice (the toll told and the time are stored)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from store.models import AlertToll
from tests.e2e.conftest import Bot, say
from tests.e2e.test_ingestion_and_admin import _post

READER = 130


def _posts(toll: int) -> str:
    return f"In Kharkiv the death toll from today's shelling has risen to {toll}."


async def _told(bot: Bot, start: int, count: int) -> list[str]:
    """What the reader was sent since ``start``, once there are at least ``count`` messages and the
    alerts under way are finished (a message too many shows in the next step's count)."""
    server = bot.server
    await server.wait_for_async(lambda: len(server.messages_to(READER)) - start >= count, what=f"{count} messages")
    await asyncio.sleep(0.3)
    await bot.delivery.wait_background()
    return [m.get("plain_text") or "" for m in server.messages_to(READER)[start:]]


def _an_hour_passes(bot: Bot) -> None:
    """Move the last update's time back: what an hour's wait would leave in the database."""
    with bot.session_factory.begin() as session:
        session.execute(update(AlertToll).values(updated_at=datetime.now(UTC) - timedelta(minutes=61)))


@pytest.mark.asyncio
async def test_a_rising_toll_sends_one_short_update_an_hour(bot: Bot) -> None:
    await say(bot, "/start sub_kharkiv", user_id=READER, language_code="uk")
    await say(bot, "/settings alerts on", user_id=READER, language_code="uk")
    await say(bot, "/subscribe", user_id=READER + 1)  # digest only: no alert, no update
    start = len(bot.server.messages_to(READER))
    quiet = len(bot.server.messages_to(READER + 1))

    await _post(bot, "In Kharkiv 2 people were killed by shelling today.")
    sent = await _told(bot, start, 1)
    assert len(sent) == 1 and sent[0].startswith("🚨 Харків — обстріл, 2 загиблих")

    await _post(bot, _posts(5))
    sent = await _told(bot, start, 2)
    assert len(sent) == 2
    assert sent[1].startswith("🔺 Оновлення: Харків — обстріл, 5 загиблих")
    assert "загиблі: 2 → 5" in sent[1] and "Харківська область" in sent[1]

    await _post(bot, _posts(7))  # within the hour: no second update
    await _told(bot, start, 2)

    await bot.stop()
    await bot.start()  # what was told, and when, is in the database
    await _post(bot, _posts(9))
    await _told(bot, start, 2)

    _an_hour_passes(bot)
    await _post(bot, _posts(11))
    sent = await _told(bot, start, 3)
    assert len(sent) == 3 and "загиблі: 5 → 11" in sent[2]  # nothing came for 7 or 9, nor twice
    assert len(bot.server.messages_to(READER + 1)) == quiet
