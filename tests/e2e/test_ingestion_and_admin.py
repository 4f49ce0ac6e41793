"""Channel posts, forwards, /incidents, /digest escaping, instant alerts, and the admin commands."""

from __future__ import annotations

import asyncio

import pytest

from bot.services import reports, subscriptions
from store import queries
from tests.e2e.conftest import ADMIN_ID, Bot, press, say
from tests.support.channels import follow_channel

CHANNEL = -1001234567
KHARKIV_POST = "Внаслідок обстрілу Харкова сьогодні загинули 3 людини, ще 5 поранено. <b>Бережіть себе</b> & слідкуйте."


async def _post(bot: Bot, text: str, *, chat_id: int = CHANNEL, title: str = "Synehubov <b>&</b> Co",
                username: str | None = "synegubov_test", edited: bool = False) -> None:
    follow_channel(bot.session_factory, chat_id, title, username)  # an approved channel
    update = bot.server.channel_post(chat_id, text, title=title, username=username, edited=edited)
    message = update.get("channel_post") or update["edited_channel_post"]
    await bot.server.wait_for_async(lambda: not bot.server.pending_updates, what="update fetched")
    await bot.server.wait_for_async(lambda: _stored(bot, chat_id, message["message_id"], text), what="post stored")


def _stored(bot: Bot, chat_id: int, message_id: int, text: str) -> bool:
    with bot.session_factory() as session:
        source = queries.get_source_by_ref(session, str(chat_id))
        post = queries.get_post(session, source.id, message_id) if source else None
        return post is not None and post.text == text


@pytest.mark.asyncio
async def test_channel_post_with_markup_shows_escaped_in_the_digest(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    replies = await say(bot, "/digest", user_id=80, count=2)
    text = replies[0]
    assert text["parse_mode"] == "HTML"
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in text["text"]  # the channel title, escaped
    assert "Synehubov <b>&</b> Co" in text["plain_text"]
    assert "Kharkiv" in text["plain_text"]
    assert replies[1]["method"] == "sendPhoto" and replies[1]["photo_is_png"]
    assert bot.server.server_errors == []
    assert not [c for c in bot.server.calls if "parse entities" in str(c)]


@pytest.mark.asyncio
async def test_edited_channel_post_replaces_the_claim(bot: Bot) -> None:
    await _post(bot, "In Kharkiv 2 people were killed by shelling today.")
    await _post(bot, "In Kharkiv 4 people were killed by shelling today.", edited=True)
    views = reports.list_incident_views(bot.session_factory)
    assert [v.summary.killed.best for v in views] == [4]


@pytest.mark.asyncio
async def test_incidents_for_a_place_in_any_spelling(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    found = await say(bot, "/incidents Харків", user_id=81)
    assert "Kharkiv" in found[0]["plain_text"]
    none = await say(bot, "/incidents Atlantis", user_id=81)
    assert "No incidents found for Atlantis" in none[0]["plain_text"]


@pytest.mark.asyncio
async def test_admin_forward_from_a_new_channel_needs_confirmation(bot: Bot) -> None:
    server = bot.server
    before = len(server.messages_to(82))
    server.forwarded_message("У Харкові внаслідок удару загинули 2 людини.", user_id=82, from_chat_id=-1005550001,
                             from_chat_title="Other channel")
    await server.wait_for_async(lambda: len(server.messages_to(82)) > before)
    assert "Only admins" in server.messages_to(82)[-1]["plain_text"]

    server.forwarded_message("У Харкові внаслідок удару загинули 2 людини.", user_id=ADMIN_ID,
                             from_chat_id=-1005550001, from_chat_title="Kharkiv City", from_message_id=77)
    ask = (await server.wait_for_sent_async(chat_id=ADMIN_ID))[-1]
    assert "not a source yet" in ask["plain_text"]
    data = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await press(bot, ADMIN_ID, ADMIN_ID, ask["message_id"], data)
    await server.wait_for_async(lambda: any(r["method"] == "editMessageText" and "ingested" in (r["plain_text"] or "")
                                            for r in server.sent))
    with bot.session_factory() as session:
        source = queries.get_source_by_ref(session, "-1005550001")
        assert source is not None and source.name == "Kharkiv City"
        assert queries.get_post(session, source.id, 77) is not None
    # a second forward from the now known channel is ingested at once
    server.forwarded_message("У Харкові внаслідок удару загинули 3 людини.", user_id=ADMIN_ID,
                             from_chat_id=-1005550001, from_chat_title="Kharkiv City", from_message_id=78)
    await server.wait_for_async(lambda: "ingested" in server.messages_to(ADMIN_ID)[-1]["plain_text"])


@pytest.mark.asyncio
async def test_a_forward_is_confirmed_after_the_bot_restarted(bot: Bot) -> None:
    server = bot.server
    server.forwarded_message("У Харкові внаслідок удару загинули 4 людини.", user_id=ADMIN_ID,
                             from_chat_id=-1005550002, from_chat_title="Kharkiv Region", from_message_id=91)
    ask = (await server.wait_for_sent_async(chat_id=ADMIN_ID))[-1]
    assert "not a source yet" in ask["plain_text"]
    await bot.stop()
    await bot.start()  # a new Application on the same database: nothing of the question is in memory
    data = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await press(bot, ADMIN_ID, ADMIN_ID, ask["message_id"], data)
    await server.wait_for_async(lambda: any(r["method"] == "editMessageText" and "ingested" in (r["plain_text"] or "")
                                            for r in server.sent), what="the forward ingested after the restart")
    with bot.session_factory() as session:
        source = queries.get_source_by_ref(session, "-1005550002")
        assert source is not None and source.name == "Kharkiv Region"
        assert queries.get_post(session, source.id, 91) is not None
    answer = await press(bot, ADMIN_ID, ADMIN_ID, ask["message_id"], data)  # pressed again: already done
    assert "expired" in (answer.get("text") or "").lower()


@pytest.mark.asyncio
async def test_instant_alert_once_per_incident(bot: Bot) -> None:
    await say(bot, "/start sub_kharkiv", user_id=90)
    await say(bot, "/settings alerts on", user_id=90)
    await say(bot, "/subscribe", user_id=91)  # no alerts
    await say(bot, "/start sub_kyiv", user_id=92)
    await say(bot, "/settings alerts on", user_id=92)  # other oblast
    before = {c: len(bot.server.messages_to(c)) for c in (90, 91, 92)}
    await _post(bot, "In Kharkiv 3 people were killed by shelling today.")
    await bot.server.wait_for_async(lambda: len(bot.server.messages_to(90)) > before[90], what="alert")
    # another channel reports the same incident with a lower toll (linked into it, now a conflict): no second alert
    await _post(bot, "In Kharkiv 2 people were killed by shelling today.", chat_id=-1007770001, title="Mayor",
                username=None)
    await bot.delivery.wait_background()
    views = reports.list_incident_views(bot.session_factory)
    assert len(views) == 1 and views[0].conflicts
    await asyncio.sleep(0.2)
    alerts = bot.server.messages_to(90)[before[90]:]
    assert len(alerts) == 1 and alerts[0]["plain_text"].startswith("🚨 Kharkiv — shelling, 3 killed")
    assert len(bot.server.messages_to(91)) == before[91]
    assert len(bot.server.messages_to(92)) == before[92]


@pytest.mark.asyncio
async def test_editing_the_post_behind_an_alert_sends_no_second_alert(bot: Bot) -> None:
    await say(bot, "/start sub_kharkiv", user_id=95)
    await say(bot, "/settings alerts on", user_id=95)
    before = len(bot.server.messages_to(95))
    first = "In Kharkiv 2 people were killed by shelling today."
    follow_channel(bot.session_factory, CHANNEL, "Synehubov", "synegubov_test")
    update = bot.server.channel_post(CHANNEL, first, title="Synehubov", username="synegubov_test")
    message_id = update["channel_post"]["message_id"]
    await bot.server.wait_for_async(lambda: len(bot.server.messages_to(95)) > before, what="alert")
    old_ids = [v.id for v in reports.list_incident_views(bot.session_factory)]
    edited = "In Kharkiv 4 people were killed by shelling today."
    bot.server.channel_post(CHANNEL, edited, message_id=message_id, edited=True, title="Synehubov",
                            username="synegubov_test")
    await bot.server.wait_for_async(lambda: _stored(bot, CHANNEL, message_id, edited), what="edit stored")
    await bot.delivery.wait_background()
    await asyncio.sleep(0.3)
    views = reports.list_incident_views(bot.session_factory)
    assert [v.summary.killed.best for v in views] == [4]
    assert [v.id for v in views] != old_ids  # the edit re-created the incident...
    told = [m["plain_text"] for m in bot.server.messages_to(95)[before:]]
    assert len(told) == 2 and told[0].startswith("🚨 Kharkiv")  # ...and still one alert,
    assert told[1].startswith("🔺 Update: Kharkiv — shelling, 4 killed")  # then the rise as an update


@pytest.mark.asyncio
async def test_non_admin_addsource_is_refused_and_logged(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    for command in ("/addsource @somechannel", "/removesource x", "/stats", "/admins list"):
        replies = await say(bot, command, user_id=95)
        assert "for claimwatch admins only" in replies[0]["plain_text"]
    assert any("refused /addsource for user 95" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_admin_manages_sources_admins_and_sees_stats(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    listing = await say(bot, "/sources", user_id=96)
    assert "Synehubov <b>&</b> Co" in listing[0]["plain_text"]
    info = await say(bot, "/sourceinfo @synegubov_test", user_id=ADMIN_ID)
    assert "Telegram channel" in info[0]["plain_text"] and "active" in info[0]["plain_text"]
    paused = await say(bot, "/pausesource @synegubov_test", user_id=ADMIN_ID)
    assert "paused" in paused[0]["plain_text"]
    update = bot.server.channel_post(CHANNEL, "In Kharkiv 9 people were killed today.", title="Synehubov <b>&</b> Co")
    await bot.server.wait_for_async(lambda: not bot.server.pending_updates)
    await asyncio.sleep(0.2)
    assert not _stored(bot, CHANNEL, update["channel_post"]["message_id"], "In Kharkiv 9 people were killed today.")
    await say(bot, "/resumesource @synegubov_test", user_id=ADMIN_ID)
    unknown = await say(bot, "/sourceinfo @nope", user_id=ADMIN_ID)
    assert "I know no source" in unknown[0]["plain_text"]
    usage = await say(bot, "/addsource", user_id=ADMIN_ID)
    assert "Usage" in usage[0]["plain_text"]
    bad = await say(bot, "/addsource not-a-target!!", user_id=ADMIN_ID)
    assert "is neither a public channel" in bad[0]["plain_text"]
    added = await say(bot, "/admins add 97", user_id=ADMIN_ID)
    assert "97 is now an admin" in added[0]["plain_text"]
    stats = await say(bot, "/stats", user_id=97)
    assert "Sources: 1" in stats[0]["plain_text"]
    await say(bot, "/admins remove 97", user_id=ADMIN_ID)
    assert not subscriptions.is_admin(bot.session_factory, bot.settings, 97)
    asked = await say(bot, "/removesource @synegubov_test", user_id=ADMIN_ID)
    assert "Remove the source" in asked[0]["plain_text"]
    remove = asked[0]["reply_markup"]["inline_keyboard"][0][0]
    await press(bot, ADMIN_ID, ADMIN_ID, asked[0]["message_id"], remove["callback_data"])
    await bot.server.wait_for_async(lambda: any(r["method"] == "editMessageText"
                                                and "removed" in (r["plain_text"] or "") for r in bot.server.sent),
                                    what="the source removed")
    with bot.session_factory() as session:
        assert queries.get_source_by_ref(session, str(CHANNEL)) is None
