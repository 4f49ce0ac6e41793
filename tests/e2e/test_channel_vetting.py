"""A channel that adds the bot is not a source until an admin approves it: the admins get Approve /
Reject buttons, its posts reach no digest and no alert meanwhile, Approve ingests them, Reject
makes the bot leave the channel. Driven through the project's local Bot API server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from store import queries
from tests.e2e.conftest import ADMIN_ID, Bot, press, say

CHANNEL = -1009990001
TITLE = "Totally Official News"
FAKE_POST = "У Харкові внаслідок ракетного удару сьогодні загинули 7 людей."


async def _admin_question(bot: Bot, before: int) -> dict[str, Any]:
    """Wait for the admin's question about a pending channel; returns it."""
    server = bot.server
    await server.wait_for_async(lambda: len(server.messages_to(ADMIN_ID)) > before, what="the admin's question")
    return server.messages_to(ADMIN_ID)[-1]


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}


async def _channel_post(bot: Bot, text: str) -> int:
    update = bot.server.channel_post(CHANNEL, text, title=TITLE, username="totally_official")
    await bot.server.wait_for_async(lambda: not bot.server.pending_updates, what="post fetched")
    await asyncio.sleep(0.3)  # the handler ran (or would have)
    return int(update["channel_post"]["message_id"])


async def _digest_text(bot: Bot, user_id: int) -> str:
    return str((await say(bot, "/digest", user_id=user_id))[0]["plain_text"])


def _is_source(bot: Bot) -> bool:
    with bot.session_factory() as session:
        return queries.get_source_by_ref(session, str(CHANNEL)) is not None


@pytest.mark.asyncio
async def test_a_channel_that_adds_the_bot_waits_for_approval_even_across_a_restart(bot: Bot) -> None:
    server = bot.server
    await say(bot, "/start sub_kharkiv", user_id=90)
    await say(bot, "/settings alerts on", user_id=90)
    subscriber_before = len(server.messages_to(90))

    before = len(server.messages_to(ADMIN_ID))
    server.my_chat_member(CHANNEL, new_status="administrator", chat_type="channel", title=TITLE, user_id=4242)
    question = await _admin_question(bot, before)
    assert TITLE in question["plain_text"] and "approves" in question["plain_text"]
    buttons = _buttons(question)
    assert set(buttons) == {"✅ Approve", "⛔ Reject and leave"}

    await _channel_post(bot, FAKE_POST)
    await _channel_post(bot, FAKE_POST + " Ще 3 поранені.")  # a second post does not ask again
    assert len(server.messages_to(ADMIN_ID)) == before + 1
    assert not _is_source(bot)
    digest = await _digest_text(bot, 95)
    assert TITLE not in digest and "Kharkiv" not in digest
    assert len(server.messages_to(90)) == subscriber_before  # no alert from a pending channel

    await bot.stop()
    await bot.start()  # the pending channel and its posts are in the database, not in memory

    await press(bot, ADMIN_ID, ADMIN_ID, question["message_id"], buttons["✅ Approve"])
    await server.wait_for_async(
        lambda: any(r["method"] == "editMessageText" and "is a source now" in (r["plain_text"] or "")
                    for r in server.sent), what="the approval confirmed")
    edited = [r for r in server.sent if r["method"] == "editMessageText"][-1]
    assert "2 posts kept aside were ingested" in edited["plain_text"]
    assert _is_source(bot)
    digest = await _digest_text(bot, 96)
    assert TITLE in digest and "Kharkiv" in digest
    await bot.delivery.wait_background()
    await server.wait_for_async(lambda: len(server.messages_to(90)) > subscriber_before, what="the alert")
    assert server.messages_to(90)[-1]["plain_text"].startswith("🚨 Kharkiv")

    # the question pressed again (or by a second admin): already decided
    answer = await press(bot, ADMIN_ID, ADMIN_ID, question["message_id"], buttons["✅ Approve"])
    assert "already approved or rejected" in (answer.get("text") or "")


@pytest.mark.asyncio
async def test_a_rejected_channel_is_left_and_its_posts_never_shown(bot: Bot) -> None:
    server = bot.server
    before = len(server.messages_to(ADMIN_ID))
    await _channel_post(bot, FAKE_POST)  # its first post, without a membership update
    question = await _admin_question(bot, before)
    assert TITLE in question["plain_text"]

    answer = await press(bot, 4242, ADMIN_ID, question["message_id"], _buttons(question)["✅ Approve"])
    assert "admins only" in (answer.get("text") or "")  # a stranger cannot approve
    assert not _is_source(bot)

    await press(bot, ADMIN_ID, ADMIN_ID, question["message_id"], _buttons(question)["⛔ Reject and leave"])
    await server.wait_for_async(lambda: any(c.get("chat_id") in (CHANNEL, str(CHANNEL))
                                            for c in server.calls_to("leaveChat")), what="the bot leaves")
    await server.wait_for_async(
        lambda: any(r["method"] == "editMessageText" and "was rejected" in (r["plain_text"] or "")
                    for r in server.sent), what="the rejection confirmed")
    assert not _is_source(bot)
    digest = await _digest_text(bot, 97)
    assert TITLE not in digest and "Kharkiv" not in digest


@pytest.mark.asyncio
async def test_the_admin_is_asked_in_their_language(bot: Bot) -> None:
    await say(bot, "/subscribe", user_id=ADMIN_ID, language_code="uk")
    before = len(bot.server.messages_to(ADMIN_ID))
    bot.server.my_chat_member(CHANNEL, new_status="administrator", chat_type="channel", title=TITLE)
    question = await _admin_question(bot, before)
    assert "додав бота" in question["plain_text"]
    assert set(_buttons(question)) == {"✅ Схвалити", "⛔ Відхилити й вийти"}
