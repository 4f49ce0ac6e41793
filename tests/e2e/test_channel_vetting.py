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


def _edits_of(bot: Bot, chat_id: int, message_id: int) -> list[dict[str, Any]]:
    return [r for r in bot.server.sent if r["method"] == "editMessageText" and r["chat_id"] == chat_id
            and r["message_id"] == message_id]


@pytest.mark.asyncio
async def test_one_admins_decision_shows_on_every_admins_copy(bot: Bot) -> None:
    server = bot.server
    second = 7002
    await say(bot, f"/admins add {second}", user_id=ADMIN_ID)
    await say(bot, "/lang uk", user_id=second, language_code="uk", username="olena", first_name="Olena")
    before = len(server.messages_to(ADMIN_ID)), len(server.messages_to(second))
    server.my_chat_member(CHANNEL, new_status="administrator", chat_type="channel", title=TITLE)
    mine = await _admin_question(bot, before[0])
    await server.wait_for_async(lambda: len(server.messages_to(second)) > before[1], what="the second question")
    theirs = server.messages_to(second)[-1]
    assert "додав бота" in theirs["plain_text"]

    await press(bot, second, second, theirs["message_id"], _buttons(theirs)["⛔ Відхилити й вийти"])
    await server.wait_for_async(lambda: _edits_of(bot, ADMIN_ID, mine["message_id"]), what="my copy updated")
    shown = _edits_of(bot, ADMIN_ID, mine["message_id"])[-1]
    assert shown["plain_text"] == f"⛔ {TITLE}: rejected by Olena (@olena). The bot left the channel."
    assert not shown.get("reply_markup")  # no live buttons left
    assert "відхилено" in _edits_of(bot, second, theirs["message_id"])[-1]["plain_text"]
    # my stale copy pressed anyway: told it is decided, nothing changes
    answer = await press(bot, ADMIN_ID, ADMIN_ID, mine["message_id"], _buttons(mine)["✅ Approve"])
    assert "already approved or rejected" in (answer.get("text") or "")
    assert not _is_source(bot)


@pytest.mark.asyncio
async def test_a_rejected_channel_that_comes_back_is_left_silently_until_allowed_again(bot: Bot) -> None:
    server = bot.server
    before = len(server.messages_to(ADMIN_ID))
    server.my_chat_member(CHANNEL, new_status="administrator", chat_type="channel", title=TITLE)
    question = await _admin_question(bot, before)
    await press(bot, ADMIN_ID, ADMIN_ID, question["message_id"], _buttons(question)["⛔ Reject and leave"])
    await server.wait_for_async(lambda: len(server.calls_to("leaveChat")) == 1, what="the bot leaves")

    asked = len(server.messages_to(ADMIN_ID))
    server.my_chat_member(CHANNEL, new_status="administrator", old_status="left", chat_type="channel", title=TITLE)
    await server.wait_for_async(lambda: len(server.calls_to("leaveChat")) == 2, what="the bot leaves again")
    await _channel_post(bot, FAKE_POST)
    await server.wait_for_async(lambda: len(server.calls_to("leaveChat")) == 3, what="left at its post too")
    assert len(server.messages_to(ADMIN_ID)) == asked  # nobody asked again
    assert not _is_source(bot) and TITLE not in await _digest_text(bot, 98)

    listing = (await say(bot, "/sources", user_id=ADMIN_ID))[0]
    assert "Rejected channels (1)" in listing["plain_text"] and TITLE in listing["plain_text"]
    allow = _buttons(listing)
    assert list(allow) == [f"↩️ Allow again: {TITLE}"]
    stranger = (await say(bot, "/sources", user_id=4243))[0]
    assert "Rejected" not in stranger["plain_text"] and not stranger.get("reply_markup")

    await press(bot, ADMIN_ID, ADMIN_ID, listing["message_id"], allow[f"↩️ Allow again: {TITLE}"])
    await server.wait_for_async(lambda: _edits_of(bot, ADMIN_ID, listing["message_id"]), what="allowed")
    assert "no longer rejected" in _edits_of(bot, ADMIN_ID, listing["message_id"])[-1]["plain_text"]
    twice = await press(bot, ADMIN_ID, ADMIN_ID, listing["message_id"], allow[f"↩️ Allow again: {TITLE}"])
    assert twice.get("text") == "This channel is not rejected any more."
    server.my_chat_member(CHANNEL, new_status="administrator", old_status="left", chat_type="channel", title=TITLE)
    again = await _admin_question(bot, asked + 1)  # after /sources: asked once more
    assert TITLE in again["plain_text"] and set(_buttons(again)) == {"✅ Approve", "⛔ Reject and leave"}


@pytest.mark.asyncio
async def test_an_unknown_or_stale_button_gets_a_short_reply_in_the_readers_language(bot: Bot) -> None:
    await say(bot, "/lang uk", user_id=120, language_code="en")
    answer = await press(bot, 120, 120, 999, "poll:vote:3")  # a button no version of the bot sent
    assert answer.get("text") == "Ця кнопка більше не працює. Надішліть /settings, щоб отримати нове меню."
    stale = await press(bot, 120, 120, 998, "settings:menu:time")  # a settings menu after /unsubscribe
    assert stale.get("text") == "Ви не підписані. Спершу надішліть /subscribe."
    expired = await press(bot, ADMIN_ID, ADMIN_ID, 997, "fwd:yes:-100123_5")  # a forgotten forward
    assert expired.get("text") == "This request has expired: forward the post again."


@pytest.mark.asyncio
async def test_following_a_pending_channel_through_a_forward_approves_it_everywhere(bot: Bot) -> None:
    server = bot.server
    before = len(server.messages_to(ADMIN_ID))
    await _channel_post(bot, FAKE_POST)  # pending, its post held
    question = await _admin_question(bot, before)
    server.forwarded_message("У Харкові внаслідок удару загинули 2 людини.", user_id=ADMIN_ID,
                             from_chat_id=CHANNEL, from_chat_title=TITLE, from_message_id=900)
    await server.wait_for_async(lambda: len(server.messages_to(ADMIN_ID)) > before + 1, what="the forward's question")
    ask = server.messages_to(ADMIN_ID)[-1]
    assert "not a source yet" in ask["plain_text"]
    await press(bot, ADMIN_ID, ADMIN_ID, ask["message_id"], _buttons(ask)["✅ Add source and ingest"])
    await server.wait_for_async(lambda: _edits_of(bot, ADMIN_ID, question["message_id"]), what="the question answered")
    assert _edits_of(bot, ADMIN_ID, question["message_id"])[-1]["plain_text"].startswith(f"✅ {TITLE}: approved by")
    assert _is_source(bot)
    digest = await _digest_text(bot, 99)
    assert "7 killed" in digest  # the post held while it was pending reached the digest
