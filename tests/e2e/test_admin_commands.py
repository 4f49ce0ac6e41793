"""What an admin meets managing sources and admins: /removesource asks first, /addsource of a
followed source says so, a bad side word is refused, failures read without the fetcher's
internals, /sourceinfo speaks the admin's time zone, and /admins changes that admin's menu."""

from __future__ import annotations

from typing import Any

import pytest

from store import queries
from tests.e2e.conftest import ADMIN_ID, Bot, press, say
from tests.support.channels import follow_channel

CHANNEL = -1002223330001
STRANGER = 5501


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


@pytest.mark.asyncio
async def test_removesource_question_in_the_admins_language(bot: Bot) -> None:
    await _followed_with_posts(bot, 1)
    asked = (await say(bot, "/removesource @kharkiv_mayor", user_id=ADMIN_ID, language_code="uk"))[0]
    assert "Видалити джерело Kharkiv Mayor (@kharkiv_mayor)? Буде видалено 1 збережений допис" in asked["plain_text"]
    assert [b["text"] for b in asked["reply_markup"]["inline_keyboard"][0]] == ["🗑 Видалити", "Залишити"]
