"""The bot in the reader's language, end to end: names and plurals in digests and /incidents,
regions typed and shown in Ukrainian or Russian, questions in plain text, /lang for anyone, and
the bot's description per language."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot.services import subscriptions
from tests.e2e.conftest import Bot, press, say
from tests.e2e.test_ingestion_and_admin import KHARKIV_POST, _post


@pytest.mark.asyncio
async def test_a_ukrainian_reader_gets_ukrainian_names_and_plurals_in_the_digest(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    uk = (await say(bot, "/digest", user_id=90, language_code="uk", count=2))[0]["plain_text"]
    assert "Харківська область" in uk and "Харків —" in uk
    assert "1 інцидент ·" in uk and "3 загиблих" in uk and "5 поранених" in uk and "1 джерело" in uk
    assert "Kharkiv" not in uk and "Oblast" not in uk
    assert not uk.splitlines()[0].rstrip().endswith("·")
    ru = (await say(bot, "/digest", user_id=91, language_code="ru", count=2))[0]["plain_text"]
    assert "Харьковская область" in ru and "Харьков —" in ru and "1 инцидент ·" in ru
    en = (await say(bot, "/digest", user_id=92, language_code="en", count=2))[0]["plain_text"]
    assert "Kharkiv Oblast" in en and "1 incident ·" in en and "1 source" in en
    assert "1 incidents" not in en and "1 sources" not in en


@pytest.mark.asyncio
async def test_incidents_have_a_title_a_date_range_and_dated_lines(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    text = (await say(bot, "/incidents Харкові", user_id=93, language_code="uk"))[0]["plain_text"]
    lines = text.replace("\u202f", " ").splitlines()
    assert lines[0] == "Останні інциденти: Харків"
    assert lines[1].endswith(" р.") and any(ch.isdigit() for ch in lines[1])  # the days they cover
    incident = next(line for line in lines if line.startswith("• "))
    assert " · Харків — обстріл" in incident and incident[2].isdigit()  # "• 2 грудня · Харків — …"
    anywhere = (await say(bot, "/incidents", user_id=94, language_code="en"))[0]["plain_text"]
    assert anywhere.splitlines()[0] == "Latest incidents" and "Kharkiv —" in anywhere
    none = (await say(bot, "/incidents Ізюм", user_id=93, language_code="uk"))[0]["plain_text"]
    assert none == "Інцидентів не знайдено (місце: Ізюм)."


@pytest.mark.asyncio
async def test_a_question_in_plain_text_gets_the_matching_incidents_or_a_pointer_to_help(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    answer = (await say(bot, "Що сьогодні сталося в Харкові?", user_id=95, language_code="uk"))[0]["plain_text"]
    assert answer.startswith("Останні інциденти: Харків") and "3 загиблих" in answer
    russian = (await say(bot, "Что вчера было в Харькове?", user_id=96, language_code="ru"))[0]["plain_text"]
    assert "Харьков" in russian and "нет" in russian  # nothing yesterday, said so
    other = (await say(bot, "What happened in Odesa?", user_id=97))[0]["plain_text"]
    assert "Odesa" in other and "/incidents" in other
    hello = (await say(bot, "Привіт!", user_id=95, language_code="uk"))[0]["plain_text"]
    assert "/help" in hello and "Харкові" in hello


@pytest.mark.asyncio
async def test_a_non_subscriber_chooses_the_bots_language(bot: Bot) -> None:
    saved = (await say(bot, "/lang ru", user_id=98, language_code="en"))[0]["plain_text"]
    assert saved.startswith("Язык: Русский")
    assert "Что я умею" in (await say(bot, "/help", user_id=98, language_code="en"))[0]["plain_text"]
    sub = subscriptions.get_subscriber(bot.session_factory, 98)
    assert sub is not None and not sub.active  # remembered, not subscribed
    menu = (await say(bot, "/lang", user_id=98, language_code="en"))[0]
    buttons = [b["callback_data"] for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["lang:uk", "lang:en", "lang:ru"]
    answer = await press(bot, 98, 98, menu["message_id"], "lang:uk")
    assert answer.get("text") == "Збережено."
    assert "Що я вмію" in (await say(bot, "/help", user_id=98, language_code="en"))[0]["plain_text"]
    bad = (await say(bot, "/lang de", user_id=98))[0]["plain_text"]
    assert "de" in bad and "uk" in bad
    subscribed = (await say(bot, "/subscribe", user_id=98, language_code="en"))[0]["plain_text"]
    assert "Підписку оформлено" in subscribed or "підписані" in subscribed.lower()


@pytest.mark.asyncio
async def test_regions_are_typed_and_shown_in_the_readers_language(bot: Bot) -> None:
    await say(bot, "/lang uk", user_id=99, language_code="uk")
    await say(bot, "/subscribe", user_id=99, language_code="uk")
    saved = (await say(bot, "/settings oblast Харківська", user_id=99, language_code="uk"))[0]["plain_text"]
    assert "Регіони: Харківська область" in saved
    await say(bot, "/settings oblast харьковская", user_id=99, language_code="uk")  # toggled off again
    sub = subscriptions.get_subscriber(bot.session_factory, 99)
    assert sub is not None and sub.oblasts == ()
    await say(bot, "/settings oblast kharkiv", user_id=99, language_code="uk")
    sub = subscriptions.get_subscriber(bot.session_factory, 99)
    assert sub is not None and sub.oblasts == ("Kharkiv Oblast",)
    menu = (await say(bot, "/settings", user_id=99, language_code="uk"))[0]
    await press(bot, 99, 99, menu["message_id"], "settings:menu:obl")
    await bot.server.wait_for_async(lambda: _last_edit(bot, 99) is not None, what="the regions page")
    keyboard = _last_edit(bot, 99)
    assert keyboard is not None
    labels = [b["text"].removeprefix("✓ ") for row in keyboard[:-2] for b in row]
    assert "✓ Харківська" in [b["text"] for row in keyboard for b in row]
    assert labels[0] == "Вінницька" and labels.index("Запорізька") < labels.index("Івано-Франківська")
    assert all("Oblast" not in label for label in labels)


def _last_edit(bot: Bot, chat_id: int) -> list[list[dict[str, str]]] | None:
    edits = [r for r in bot.server.sent if r["method"] == "editMessageText" and r["chat_id"] == chat_id
             and r.get("reply_markup")]
    return edits[-1]["reply_markup"]["inline_keyboard"] if edits else None


@pytest.mark.asyncio
async def test_the_bot_describes_itself_in_each_language_at_start_up(bot: Bot) -> None:
    descriptions = {c.get("language_code"): c["description"] for c in bot.server.calls_to("setMyDescription")}
    short = {c.get("language_code"): c["short_description"] for c in bot.server.calls_to("setMyShortDescription")}
    assert "стежить" in descriptions["uk"] and "следит" in descriptions["ru"] and "follows" in descriptions["en"]
    assert descriptions.get(None, descriptions.get("")) == descriptions["en"]
    assert all(0 < len(text) <= 512 for text in descriptions.values())
    assert all(0 < len(text) <= 120 for text in short.values()) and set(short) == set(descriptions)
    menu = bot.server.commands("default", "uk")
    assert menu is not None and {"command": "lang", "description": "Мова бота"} in menu


@pytest.mark.asyncio
async def test_digest_sends_its_chart_and_its_map_after_the_text(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    replies = await say(bot, "/digest", user_id=101, language_code="uk", count=3)
    assert replies[0]["method"] == "sendMessage" and "Харків —" in replies[0]["plain_text"]
    photos = [r for r in replies if r["method"] == "sendPhoto"]
    assert len(photos) == 2 and all(p["photo_is_png"] for p in photos)
    assert photos[0]["caption"].startswith("📊") and photos[1]["caption"].startswith("🗺 Мапа дня")


@pytest.mark.asyncio
async def test_the_scheduled_digest_carries_the_same_chart_and_map_as_the_command(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    await say(bot, "/subscribe", user_id=104, language_code="uk")
    subscriber = subscriptions.get_subscriber(bot.session_factory, 104)
    assert subscriber is not None
    before = len(bot.server.messages_to(104))
    day = datetime.now(subscriber.zone).date()
    await bot.delivery.send_digest(bot.app.bot, subscriber, day)  # what the daily job sends
    scheduled = bot.server.messages_to(104)[before:]
    assert [r["method"] for r in scheduled] == ["sendMessage", "sendPhoto", "sendPhoto"]
    assert "Харків —" in scheduled[0]["plain_text"]
    assert scheduled[1]["caption"].startswith("📊") and scheduled[2]["caption"].startswith("🗺 Мапа дня")
    command = await say(bot, "/digest", user_id=104, language_code="uk", count=3)
    assert [r.get("plain_text") or r.get("caption") for r in command] == \
        [r.get("plain_text") or r.get("caption") for r in scheduled]


@pytest.mark.asyncio
async def test_a_picture_that_cannot_be_sent_leaves_the_digest_delivered_and_says_only_that(bot: Bot) -> None:
    await _post(bot, KHARKIV_POST)
    bot.server.fail_next("sendPhoto", 400, "Bad Request: IMAGE_PROCESS_FAILED", chat_id=102)
    replies = await say(bot, "/digest", user_id=102, count=3)
    texts = [r.get("plain_text") or "" for r in replies]
    assert "Kharkiv Oblast" in texts[0]
    assert texts[1] == "The digest above is complete; its picture could not be sent this time."
    assert replies[2]["method"] == "sendPhoto" and replies[2]["caption"].startswith("🗺")
    await asyncio.sleep(0.3)
    assert not any("went wrong" in (r.get("plain_text") or "") for r in bot.server.messages_to(102))


@pytest.mark.asyncio
async def test_an_empty_day_says_so_once_without_pictures(bot: Bot) -> None:
    replies = await say(bot, "/digest", user_id=103)
    await asyncio.sleep(0.5)
    sent = bot.server.messages_to(103)
    assert len(sent) == 1 and sent[0]["method"] == "sendMessage"
    assert replies[0]["plain_text"].startswith("No incidents reported for ")
