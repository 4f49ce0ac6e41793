"""Every admin command from someone who is not a claimwatch admin, in a private chat, in a group
(even from the group's owner) and posted in a channel: refused with one polite line where a
person wrote it, silence in the channel, and nothing changed in the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import ADMIN_COMMANDS
from store.models import Base
from tests.badinput.harness import ADMIN_ID, ThreadedBot
from tests.support.channels import follow_channel

CHANNEL_SOURCE = -1003000000001  # a channel the bot follows
STRANGER = 6601
REFUSAL = "Sorry, this command is for claimwatch admins only."

# What each command would change if it were obeyed.
ATTEMPTS = {
    "addsource": ["/addsource @some_new_channel Mayor ukraine", "/addsource https://example.org/feed.xml",
                  "/addsource", "/addsource <b>&amp;</b> \u202e"],
    "removesource": [f"/removesource {CHANNEL_SOURCE}", "/removesource @followed_chan", "/removesource"],
    "pausesource": [f"/pausesource {CHANNEL_SOURCE}", "/pausesource @followed_chan"],
    "resumesource": [f"/resumesource {CHANNEL_SOURCE}", "/resumesource x" * 200],
    "sourceinfo": [f"/sourceinfo {CHANNEL_SOURCE}", "/sourceinfo"],
    "admins": [f"/admins add {STRANGER}", "/admins remove 8801", "/admins list", "/admins", "/admins add -5"],
    "stats": ["/stats", "/stats now please"],
}


def test_every_admin_command_is_covered() -> None:
    assert set(ATTEMPTS) == set(ADMIN_COMMANDS)


def snapshot(bot: ThreadedBot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with bot.session_factory() as session:
        return {table.name: sorted(tuple(map(repr, row)) for row in session.execute(select(table)))
                for table in Base.metadata.sorted_tables}


@pytest.fixture(scope="module")
def world(module_bot: ThreadedBot) -> ThreadedBot:
    """A followed channel with a post, an admin added with /admins, a subscriber."""
    follow_channel(module_bot.session_factory, CHANNEL_SOURCE, "Followed", "followed_chan")
    module_bot.server.channel_post(CHANNEL_SOURCE, "Внаслідок обстрілу Харкова загинули 2 людини.",
                                  title="Followed", username="followed_chan")
    assert "8801" in module_bot.ask("/admins add 8801", user_id=ADMIN_ID)[0]["plain_text"]
    module_bot.ask("/subscribe", user_id=STRANGER)
    module_bot.settle()
    sources = module_bot.ask("/sources", user_id=STRANGER)[0]["plain_text"]
    assert "Followed" in sources
    return module_bot


ALL = [(name, text) for name, texts in ATTEMPTS.items() for text in texts]


@pytest.mark.parametrize(("command", "text"), ALL)
def test_refused_in_a_private_chat(world: ThreadedBot, command: str, text: str) -> None:
    before = snapshot(world)
    replies = world.ask(text, user_id=STRANGER)
    world.settle()
    assert [r["plain_text"] for r in replies] == [REFUSAL]
    assert snapshot(world) == before


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
def test_refused_in_a_group_even_to_its_owner(world: ThreadedBot, command: str) -> None:
    group = -100400000 - ADMIN_COMMANDS.index(command)  # one group per command: 20 messages a minute per group
    world.server.set_chat(group, chat_type="supergroup", title="Readers")
    world.server.set_chat_admins(group, [STRANGER], owner_id=STRANGER)
    for text in ATTEMPTS[command][:2]:
        before = snapshot(world)
        replies = world.ask(text, user_id=STRANGER, chat_id=group, chat_type="supergroup")
        world.settle()
        assert [r["plain_text"] for r in replies] == [REFUSAL]
        assert snapshot(world) == before
    me = world.server.bot_user["username"]
    addressed = ATTEMPTS[command][0].replace(f"/{command}", f"/{command}@{me}", 1)
    before = snapshot(world)
    assert [r["plain_text"] for r in world.ask(addressed, user_id=STRANGER, chat_id=group,
                                               chat_type="supergroup")] == [REFUSAL]
    world.settle()
    assert snapshot(world) == before


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
def test_ignored_when_posted_in_a_channel(world: ThreadedBot, command: str) -> None:
    """A channel post is news to ingest, never a command: nothing is sent to the channel, and
    nothing but the post itself reaches the database."""
    channel = -1003000000100 - ADMIN_COMMANDS.index(command)
    follow_channel(world.session_factory, channel, "Other channel")  # an approved source
    world.server.channel_post(channel, "warm-up post", title="Other channel")
    world.still_answers()
    world.settle()
    for text in ATTEMPTS[command]:
        before = snapshot(world)
        world.server.channel_post(channel, text, title="Other channel")
        world.still_answers()
        world.settle()
        after = snapshot(world)
        assert {k: v for k, v in after.items() if k not in ("posts", "sources")} == \
               {k: v for k, v in before.items() if k not in ("posts", "sources")}
        followed = [row for row in after["sources"] if repr(str(CHANNEL_SOURCE)) in row]
        assert followed == [row for row in before["sources"] if repr(str(CHANNEL_SOURCE)) in row]
        assert len(after["sources"]) == len(before["sources"])
    assert world.server.messages_to(channel) == []


def test_the_admin_still_can(world: ThreadedBot) -> None:
    """The refusals above refuse a person, not the command: the configured admin gets answers."""
    assert "Stats" in world.ask("/stats", user_id=ADMIN_ID)[0]["plain_text"]
    assert "8801" in world.ask("/admins list", user_id=ADMIN_ID)[0]["plain_text"]
