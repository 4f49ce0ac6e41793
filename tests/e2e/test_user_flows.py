"""Everyone's commands end to end: welcome in three languages, deep links, subscriptions,
the settings keyboard, bad input, groups, and the error handler."""

from __future__ import annotations

import asyncio

import pytest

from bot.services import subscriptions
from tests.e2e.conftest import ADMIN_ID, Bot, press, say


@pytest.mark.asyncio
@pytest.mark.parametrize(("code", "needle"), [("uk", "стежить"), ("en", "follows"), ("ru", "следит"),
                                              ("de", "follows")])
async def test_start_speaks_the_users_language(bot: Bot, code: str, needle: str) -> None:
    replies = await say(bot, "/start", user_id=42, language_code=code)
    assert needle in replies[0]["plain_text"]


@pytest.mark.asyncio
async def test_command_menus_per_language_and_for_admins(bot: Bot) -> None:
    for lang in ("", "uk", "en", "ru"):
        menu = bot.server.commands("default", lang)
        assert menu is not None and "subscribe" in [c["command"] for c in menu]
        assert "addsource" not in [c["command"] for c in menu]
    admin_menu = bot.server.commands({"type": "chat", "chat_id": ADMIN_ID}, "uk")
    assert admin_menu is not None and "addsource" in [c["command"] for c in admin_menu]
    assert any(c["description"] == "Додати джерело" for c in admin_menu)


@pytest.mark.asyncio
async def test_help_shows_admin_commands_only_to_admins(bot: Bot) -> None:
    user = await say(bot, "/help", user_id=42)
    admin = await say(bot, "/help", user_id=ADMIN_ID)
    assert "/addsource" not in user[0]["plain_text"]
    assert "/addsource" in admin[0]["plain_text"]


@pytest.mark.asyncio
async def test_deep_link_subscribes_with_the_oblast(bot: Bot) -> None:
    replies = await say(bot, "/start sub_kharkiv", user_id=43, language_code="en")
    assert "Kharkiv Oblast" in replies[0]["plain_text"]
    sub = subscriptions.get_subscriber(bot.session_factory, 43)
    assert sub is not None and sub.oblasts == ("Kharkiv Oblast",) and sub.active
    assert bot.app.job_queue is not None and bot.app.job_queue.get_jobs_by_name("digest:43")
    bad = await say(bot, "/start sub_atlantis", user_id=44)
    assert "atlantis" in bad[0]["plain_text"]
    assert subscriptions.get_subscriber(bot.session_factory, 44) is None


@pytest.mark.asyncio
async def test_subscribe_settings_keyboard_and_unsubscribe(bot: Bot) -> None:
    server = bot.server
    first = await say(bot, "/subscribe", user_id=50)
    assert "08:00" in first[0]["plain_text"]
    again = await say(bot, "/subscribe", user_id=50)
    assert "already" in again[0]["plain_text"]
    menu = (await say(bot, "/settings", user_id=50))[0]
    assert menu["reply_markup"]["inline_keyboard"]
    mid = menu["message_id"]
    await press(bot, 50, 50, mid, "settings:menu:time")
    answer = await press(bot, 50, 50, mid, "settings:time:07:00")
    assert answer.get("text") == "Saved."
    job = bot.app.job_queue.get_jobs_by_name("digest:50")[0]  # type: ignore[union-attr]
    assert str(job.trigger.fields[5]) == "7" and str(job.trigger.fields[6]) == "0"
    await press(bot, 50, 50, mid, "settings:tz:Europe/Warsaw")
    assert str(bot.app.job_queue.get_jobs_by_name("digest:50")[0].trigger.timezone) == "Europe/Warsaw"  # type: ignore[union-attr]
    await press(bot, 50, 50, mid, "settings:obl:kharkiv")
    await press(bot, 50, 50, mid, "settings:alerts:on")
    await press(bot, 50, 50, mid, "settings:lang:uk")

    def menu_text() -> str:  # the edit follows the button's answer, paced by the rate limiter
        edits = [r for r in server.sent if r["method"] == "editMessageText" and r["chat_id"] == 50]
        return edits[-1]["plain_text"] if edits else ""

    await server.wait_for_async(lambda: "Налаштування" in menu_text(), what="the menu in Ukrainian")
    sub = subscriptions.get_subscriber(bot.session_factory, 50)
    assert sub is not None
    assert (sub.digest_time, sub.timezone, sub.oblasts, sub.instant_alerts, sub.language) == (
        "07:00", "Europe/Warsaw", ("Kharkiv Oblast",), True, "uk")
    done = await say(bot, "/unsubscribe", user_id=50)
    assert "скасовано" in done[0]["plain_text"]
    assert not bot.app.job_queue.get_jobs_by_name("digest:50")  # type: ignore[union-attr]


@pytest.mark.asyncio
@pytest.mark.parametrize(("text", "expected"), [
    ("/settings time 25:99", "“25:99” is not a time"),
    ("/settings tz Mars/Olympus", "“Mars/Olympus” is not a time zone"),
    ("/settings lang xx", "“xx” is not a language"),
    ("/settings colour blue", "Use /settings"),
    ("/frobnicate", "I don't know that command"),
])
async def test_bad_input_gets_one_clear_line(bot: Bot, text: str, expected: str) -> None:
    await say(bot, "/subscribe", user_id=51)
    replies = await say(bot, text, user_id=51)
    assert expected in replies[0]["plain_text"]
    assert "Traceback" not in replies[0]["plain_text"]


@pytest.mark.asyncio
async def test_text_settings_reschedule_the_digest(bot: Bot) -> None:
    await say(bot, "/subscribe", user_id=52)
    replies = await say(bot, "/settings time 6:45", user_id=52)
    assert "06:45" in replies[0]["plain_text"]
    job = bot.app.job_queue.get_jobs_by_name("digest:52")[0]  # type: ignore[union-attr]
    assert str(job.trigger.fields[5]) == "6" and str(job.trigger.fields[6]) == "45"


@pytest.mark.asyncio
async def test_only_group_admins_change_a_group_subscription(bot: Bot) -> None:
    group = -5001
    bot.server.set_chat(group, chat_type="group", title="Readers")
    bot.server.set_chat_admins(group, [61], owner_id=60)
    refused = await say(bot, "/subscribe", user_id=62, chat_id=group, chat_type="group")
    assert "Only administrators" in refused[0]["plain_text"]
    assert subscriptions.get_subscriber(bot.session_factory, group) is None
    ok = await say(bot, "/subscribe", user_id=61, chat_id=group, chat_type="group")
    assert "Subscribed" in ok[0]["plain_text"]
    sub = subscriptions.get_subscriber(bot.session_factory, group)
    assert sub is not None and sub.chat_type == "group"
    refused = await say(bot, "/unsubscribe", user_id=62, chat_id=group, chat_type="group")
    assert "Only administrators" in refused[0]["plain_text"]


@pytest.mark.asyncio
async def test_a_channel_admin_subscribes_the_channel_from_a_private_chat(bot: Bot) -> None:
    channel = -1009000
    bot.server.set_chat(channel, chat_type="channel", title="Digest channel", username="digestchan")
    bot.server.set_chat_admins(channel, [70, bot.server.bot_id])
    refused = await say(bot, "/subscribe @digestchan", user_id=71)
    assert "Only administrators" in refused[0]["plain_text"]
    await say(bot, "/subscribe @digestchan", user_id=70)
    sub = subscriptions.get_subscriber(bot.session_factory, channel)
    assert sub is not None and sub.chat_type == "channel"


@pytest.mark.asyncio
async def test_an_error_reaches_the_user_as_one_polite_line(bot: Bot) -> None:
    bot.server.fail_next("sendMessage", 400, "Bad Request: something odd", chat_id=53)
    bot.server.user_message("/help", user_id=53)
    await bot.server.wait_for_sent_async(chat_id=53)
    await asyncio.sleep(0.1)
    replies = bot.server.messages_to(53)
    assert len(replies) == 1
    assert replies[0]["plain_text"] == "Sorry, something went wrong on my side. Please try again later."


@pytest.mark.asyncio
async def test_a_group_that_removed_the_bot_gets_its_digest_back_when_the_bot_is_re_added(bot: Bot) -> None:
    group = -5002
    jobs = bot.app.job_queue
    assert jobs is not None
    bot.server.set_chat(group, chat_type="group", title="Readers")
    bot.server.set_chat_admins(group, [63], owner_id=63)
    await say(bot, "/subscribe", user_id=63, chat_id=group, chat_type="group")
    assert jobs.get_jobs_by_name(f"digest:{group}")
    bot.server.my_chat_member(group, new_status="left", old_status="member", user_id=63)
    await bot.server.wait_for_async(lambda: not subscriptions.get_subscriber(bot.session_factory, group).active,  # type: ignore[union-attr]
                                    what="the group deactivated")
    await bot.server.wait_for_async(lambda: not jobs.get_jobs_by_name(f"digest:{group}"), what="its job dropped")
    bot.server.my_chat_member(group, new_status="member", old_status="left", user_id=63)
    await bot.server.wait_for_async(lambda: subscriptions.get_subscriber(bot.session_factory, group).active,  # type: ignore[union-attr]
                                    what="the group active again")
    await bot.server.wait_for_async(lambda: bool(jobs.get_jobs_by_name(f"digest:{group}")), what="its job back")

    # a chat that unsubscribed itself stays unsubscribed when the bot is re-added
    await say(bot, "/unsubscribe", user_id=63, chat_id=group, chat_type="group")
    bot.server.my_chat_member(group, new_status="left", old_status="member", user_id=63)
    bot.server.my_chat_member(group, new_status="member", old_status="left", user_id=63)
    await say(bot, "/help", user_id=63, chat_id=group, chat_type="group")  # the updates before it were handled
    assert not subscriptions.get_subscriber(bot.session_factory, group).active  # type: ignore[union-attr]
    assert not jobs.get_jobs_by_name(f"digest:{group}")
