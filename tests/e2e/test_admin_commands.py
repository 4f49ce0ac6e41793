"""What an admin meets managing sources and admins: /removesource asks first, /addsource of a
followed source says so, a bad side word is refused, failures read without the fetcher's
internals, /sourceinfo speaks the admin's time zone, and /admins changes that admin's menu."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import notify_paused
from bot.engine.extract import Extractor
from bot.services.polling import PollResult
from config.settings import load_settings
from store import queries
from store.db import open_database
from tests.e2e.conftest import ADMIN_ID, Bot, press, say
from tests.pollers.pollers_helpers import LocalServer, Reply
from tests.support.botapi import BotApiServer
from tests.support.channels import follow_channel

CHANNEL = -1002223330001
STRANGER = 5501


@pytest.fixture
def tme() -> Iterator[LocalServer]:
    """t.me's public web preview, served on 127.0.0.1."""
    local = LocalServer()
    local.start()
    yield local
    local.stop()


@pytest_asyncio.fixture
async def tme_bot(server: BotApiServer, tme: LocalServer, tmp_path: Path, extractor: Extractor) -> AsyncIterator[Bot]:
    """The bot reading t.me from ``tme``, in the default time zone Europe/Kyiv."""
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=server.token, CLAIMWATCH_TELEGRAM_API_URL=server.url,
        CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", CLAIMWATCH_ADMIN_IDS=str(ADMIN_ID),
        CLAIMWATCH_TME_URL=tme.url(""), CLAIMWATCH_ALLOW_PRIVATE_URLS=True, CLAIMWATCH_TIMEZONE="Europe/Kyiv",
    )
    _, session_factory = open_database(settings.database_url)
    running = Bot(server, settings, session_factory, extractor)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        assert server.server_errors == []


def _closed_channel(tme: LocalServer, name: str) -> None:
    """A channel without a public preview: t.me sends /s/<name> away to the contact page."""
    tme.route(f"/s/{name}", Reply(302, headers={"Location": f"/{name}"}))
    tme.route(f"/{name}", Reply(200, b"<html><title>Telegram: Contact</title></html>"))


def _open_channel(tme: LocalServer, name: str, title: str) -> None:
    """A channel whose preview has a title and no posts yet."""
    page = f'<html><div class="tgme_channel_info_header_title"><span>{title}</span></div></html>'
    tme.route(f"/s/{name}", Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"}))


def _source(bot: Bot, key: str) -> Any:
    with bot.session_factory() as session:
        source = queries.get_source(session, key)
        if source is not None:
            session.expunge(source)
        return source


def _set_added_at(bot: Bot, key: str, when: datetime) -> None:
    with bot.session_factory.begin() as session:
        source = queries.get_source(session, key)
        assert source is not None
        source.created_at = when


async def _followed_with_posts(bot: Bot, count: int) -> None:
    follow_channel(bot.session_factory, CHANNEL, "Kharkiv Mayor", "kharkiv_mayor")
    for n in range(count):
        bot.server.channel_post(CHANNEL, f"У Харкові внаслідок удару загинули {n + 2} людини.",
                                title="Kharkiv Mayor", username="kharkiv_mayor")
    await bot.server.wait_for_async(lambda: _posts(bot) == count, what=f"{count} posts stored")


def _posts(bot: Bot) -> int | None:
    with bot.session_factory() as session:
        source = queries.get_source_by_ref(session, str(CHANNEL))
        return None if source is None else queries.count_posts(session, source.id)


async def _edited_to(bot: Bot, message_id: int, words: str) -> dict[str, Any]:
    await bot.server.wait_for_async(lambda: any(r["method"] == "editMessageText" and r.get("message_id") == message_id
                                                and words in (r["plain_text"] or "") for r in bot.server.sent),
                                    what=f"the question edited to {words!r}")
    return [r for r in bot.server.sent if r["method"] == "editMessageText" and r.get("message_id") == message_id][-1]


@pytest.mark.asyncio
async def test_removesource_asks_first_and_only_an_admin_press_removes(bot: Bot) -> None:
    await _followed_with_posts(bot, 2)
    asked = (await say(bot, "/removesource @kharkiv_mayor", user_id=ADMIN_ID))[0]
    assert asked["plain_text"] == ("Remove the source Kharkiv Mayor (@kharkiv_mayor)? Its 2 stored posts "
                                   "and the claims read from them will be deleted.")
    remove, keep = asked["reply_markup"]["inline_keyboard"][0]
    assert (remove["text"], keep["text"]) == ("🗑 Remove", "Keep")
    assert _posts(bot) == 2  # asking removed nothing

    refused = await press(bot, STRANGER, ADMIN_ID, asked["message_id"], remove["callback_data"])
    assert "for claimwatch admins only" in refused["text"] and refused.get("show_alert")
    assert _posts(bot) == 2

    await press(bot, ADMIN_ID, ADMIN_ID, asked["message_id"], keep["callback_data"])
    await _edited_to(bot, asked["message_id"], "nothing was removed")
    assert _posts(bot) == 2

    again = (await say(bot, "/removesource @kharkiv_mayor", user_id=ADMIN_ID))[0]
    remove_data = again["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await press(bot, ADMIN_ID, ADMIN_ID, again["message_id"], remove_data)
    done = await _edited_to(bot, again["message_id"], "Source removed")
    assert done["plain_text"] == "🗑 Source removed: @kharkiv_mayor."
    assert _posts(bot) is None
    late = await press(bot, ADMIN_ID, ADMIN_ID, again["message_id"], remove_data)
    assert late["text"] == "This source was removed already."
    for forged in ("rmsrc:yes:" + "9" * 40, "rmsrc:yes:x", "rmsrc:yes:"):
        odd = await press(bot, ADMIN_ID, ADMIN_ID, again["message_id"], forged)
        assert odd["text"] == "This button no longer works. Send /settings for a new menu."


@pytest.mark.asyncio
async def test_removesource_question_in_the_admins_language(bot: Bot) -> None:
    await _followed_with_posts(bot, 1)
    asked = (await say(bot, "/removesource @kharkiv_mayor", user_id=ADMIN_ID, language_code="uk"))[0]
    assert "Видалити джерело Kharkiv Mayor (@kharkiv_mayor)? Буде видалено 1 збережений допис" in asked["plain_text"]
    assert [b["text"] for b in asked["reply_markup"]["inline_keyboard"][0]] == ["🗑 Видалити", "Залишити"]


@pytest.mark.asyncio
async def test_a_channel_without_preview_is_explained_without_the_fetchers_url(tme_bot: Bot, tme: LocalServer) -> None:
    _closed_channel(tme, "closed_channel")
    english = (await say(tme_bot, "/addsource @closed_channel", user_id=ADMIN_ID))[0]["plain_text"]
    assert english == ("@closed_channel has no public web preview, so I cannot read it from t.me. "
                       "Add the bot to the channel as an administrator instead.")
    ukrainian = (await say(tme_bot, "/addsource @closed_channel", user_id=ADMIN_ID, language_code="uk"))[0]
    assert ukrainian["plain_text"].startswith("Канал @closed_channel не має публічного вебперегляду")
    for text in (english, ukrainian["plain_text"]):
        assert "127.0.0.1" not in text and "http" not in text
    assert _source(tme_bot, "closed_channel") is None


@pytest.mark.asyncio
async def test_a_failing_site_is_named_by_its_error_not_by_the_fetch(tme_bot: Bot, tme: LocalServer) -> None:
    tme.route("/s/broken_channel", Reply(500, b"oops"))
    text = (await say(tme_bot, "/addsource @broken_channel", user_id=ADMIN_ID, language_code="ru"))[0]["plain_text"]
    assert text == ("Источник @broken_channel не загрузился: сайт ответил ошибкой 500. "
                    "Проверьте адрес или попробуйте позже.")


@pytest.mark.asyncio
async def test_addsource_with_role_and_side_then_again_says_already_followed(tme_bot: Bot, tme: LocalServer) -> None:
    _open_channel(tme, "kherson_ova", "Kherson Region")
    added = (await say(tme_bot, "/addsource @kherson_ova Kherson regional administration Ukraine",
                       user_id=ADMIN_ID))[0]
    assert added["plain_text"] == "✅ Source added: @kherson_ova (Kherson Region)."
    source = _source(tme_bot, "kherson_ova")
    assert (source.role, source.side) == ("Kherson regional administration", "ukraine")
    _set_added_at(tme_bot, "kherson_ova", datetime(2026, 3, 1, 22, 30, tzinfo=UTC))
    fetched = len(tme.requests_to("/s/kherson_ova"))

    again = (await say(tme_bot, "/addsource @kherson_ova Someone else media", user_id=ADMIN_ID))[0]
    assert again["plain_text"] == ("Kherson Region (@kherson_ova) is already followed since "
                                   "2026-03-02 00:30 Europe/Kyiv. Nothing was changed.")
    assert len(tme.requests_to("/s/kherson_ova")) == fetched  # not fetched again
    source = _source(tme_bot, "kherson_ova")
    assert (source.role, source.side) == ("Kherson regional administration", "ukraine")

    await say(tme_bot, "/pausesource @kherson_ova", user_id=ADMIN_ID)
    paused = (await say(tme_bot, "/addsource t.me/kherson_ova", user_id=ADMIN_ID, language_code="uk"))[0]
    assert paused["plain_text"] == ("Kherson Region (@kherson_ova) вже відстежується з 2026-03-02 00:30 Europe/Kyiv, "
                                    "але призупинене: /resumesource @kherson_ova відновить опитування.")


@pytest.mark.asyncio
async def test_a_bad_side_word_is_refused_not_read_as_the_role(tme_bot: Bot, tme: LocalServer) -> None:
    _open_channel(tme, "new_channel", "New")
    guessed = (await say(tme_bot, "/addsource @new_channel Kharkiv mayor ukrainian", user_id=ADMIN_ID))[0]
    assert guessed["plain_text"] == ("“ukrainian” is not a side; did you mean ukraine? "
                                     "The side is one of: ukraine, russia, international, media.")
    unknown = (await say(tme_bot, "/addsource @new_channel Mayor side=blue", user_id=ADMIN_ID, language_code="ru"))[0]
    assert unknown["plain_text"] == ("«side=blue» — не сторона. Сторона — одно из: "
                                     "ukraine, russia, international, media.")
    assert _source(tme_bot, "new_channel") is None
    assert tme.requests_to("/s/new_channel") == []  # refused before anything was fetched
    bad = (await say(tme_bot, "/addsource not-a-target!!", user_id=ADMIN_ID))[0]
    assert bad["plain_text"] == "“not-a-target!!” is neither a public channel (@name or t.me/name) nor a feed URL."


@pytest.mark.asyncio
async def test_sourceinfo_shows_role_side_and_times_in_the_admins_zone(tme_bot: Bot, tme: LocalServer) -> None:
    _open_channel(tme, "kherson_ova", "Kherson Region")
    await say(tme_bot, "/addsource @kherson_ova Kherson regional administration ukraine", user_id=ADMIN_ID)
    _set_added_at(tme_bot, "kherson_ova", datetime(2026, 3, 1, 22, 30, tzinfo=UTC))
    with tme_bot.session_factory.begin() as session:
        source = queries.get_source(session, "kherson_ova")
        source.next_poll_at = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        source.failures = 2
        source.last_error = "@kherson_ova has no public web preview (t.me sent http://127.0.0.1:1/kherson_ova)"

    kyiv = (await say(tme_bot, "/sourceinfo @kherson_ova", user_id=ADMIN_ID))[0]["plain_text"]
    assert kyiv.splitlines() == [
        "Kherson Region", "Ref: @kherson_ova", "Role: Kherson regional administration", "Side: Ukraine",
        "Transport: t.me web preview", "State: active", "Followed since: 2026-03-02 00:30 Europe/Kyiv",
        "Last post seen: never", "Errors: 2 failed polls in a row (details in the bot's log)",
        "Next poll: 2026-03-02 08:00 Europe/Kyiv"]

    await say(tme_bot, "/subscribe", user_id=ADMIN_ID)
    await say(tme_bot, "/settings tz America/New_York", user_id=ADMIN_ID)
    await say(tme_bot, "/settings lang uk", user_id=ADMIN_ID)
    new_york = (await say(tme_bot, "/sourceinfo @kherson_ova", user_id=ADMIN_ID))[0]["plain_text"]
    assert "Відстежується з: 2026-03-01 17:30 America/New_York" in new_york
    assert "Наступне опитування: 2026-03-02 01:00 America/New_York" in new_york
    assert "Сторона: Україна" in new_york
    assert "127.0.0.1" not in new_york


def _menu(bot: Bot, user_id: int, lang: str = "") -> list[str] | None:
    menu = bot.server.commands({"type": "chat", "chat_id": user_id}, lang)
    return None if menu is None else [c["command"] for c in menu]


@pytest.mark.asyncio
async def test_admins_add_and_remove_change_that_admins_menu_at_once(bot: Bot) -> None:
    newcomer = 5602
    assert _menu(bot, newcomer) is None  # the default menu applies: no admin commands
    await say(bot, f"/admins add {newcomer}", user_id=ADMIN_ID)
    for lang in ("", "en", "uk", "ru"):
        menu = _menu(bot, newcomer, lang)
        assert menu is not None and {"addsource", "removesource", "admins", "stats"} <= set(menu), lang
    ukrainian = bot.server.commands({"type": "chat", "chat_id": newcomer}, "uk")
    assert ukrainian is not None and any(c["command"] == "addsource" and c["description"] != "Add a source"
                                         for c in ukrainian)
    await say(bot, f"/admins remove {newcomer}", user_id=ADMIN_ID)
    for lang in ("", "en", "uk", "ru"):
        menu = _menu(bot, newcomer, lang)
        assert menu is not None and "start" in menu and not {"addsource", "admins", "stats"} & set(menu), lang
    # a configured admin cannot be removed here, and keeps the admin menu
    await say(bot, f"/admins remove {ADMIN_ID}", user_id=ADMIN_ID)
    assert "addsource" in (_menu(bot, ADMIN_ID, "en") or [])


@pytest.mark.asyncio
async def test_a_source_paused_by_failing_polls_is_told_to_each_admin_in_their_language(bot: Bot) -> None:
    await say(bot, "/subscribe", user_id=ADMIN_ID)
    await say(bot, "/settings lang uk", user_id=ADMIN_ID)
    await say(bot, "/admins add 5603", user_id=ADMIN_ID)
    before = {chat: len(bot.server.messages_to(chat)) for chat in (ADMIN_ID, 5603)}
    failed = PollResult("kherson_ova", 0, 0, paused=True, label="@kherson_ova", failures=3,
                        error="@kherson_ova has no public web preview (t.me sent http://127.0.0.1:38147/kherson_ova)")
    await notify_paused(bot.app, failed)
    await bot.server.wait_for_async(lambda: all(len(bot.server.messages_to(chat)) > before[chat] for chat in before),
                                    what="both admins told")
    [ukrainian] = [m["plain_text"] for m in bot.server.messages_to(ADMIN_ID)[before[ADMIN_ID]:]]
    [english] = [m["plain_text"] for m in bot.server.messages_to(5603)[before[5603]:]]
    assert ukrainian == ("⏸ Джерело @kherson_ova призупинено після 3 невдалих опитувань поспіль (подробиці — в журналі "
                         "бота). Коли проблему усунуто, /resumesource @kherson_ova відновить опитування.")
    assert english == ("⏸ @kherson_ova was paused after 3 failed polls in a row (details in the bot's log). "
                       "Once the problem is fixed, /resumesource @kherson_ova polls it again.")


@pytest.mark.asyncio
async def test_the_answer_to_a_removal_button_speaks_the_language_the_admin_chose(bot: Bot) -> None:
    await _followed_with_posts(bot, 1)
    await say(bot, "/subscribe", user_id=ADMIN_ID, language_code="en")
    await say(bot, "/settings lang ru", user_id=ADMIN_ID, language_code="en")
    asked = (await say(bot, "/removesource @kharkiv_mayor", user_id=ADMIN_ID, language_code="en"))[0]
    assert asked["plain_text"].startswith("Удалить источник Kharkiv Mayor (@kharkiv_mayor)? "
                                          "Будет удалён 1 сохранённый пост")
    keep = asked["reply_markup"]["inline_keyboard"][0][1]
    assert keep["text"] == "Оставить"
    await press(bot, ADMIN_ID, ADMIN_ID, asked["message_id"], keep["callback_data"])
    kept = await _edited_to(bot, asked["message_id"], "Оставлено")
    assert kept["plain_text"] == "Оставлено: ничего не удалено."
    assert _posts(bot) == 1
