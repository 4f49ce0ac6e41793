"""Updates of every kind, malformed and unexpected ones included, pushed through the real bot
polling the project's Bot API server: nothing reaches the error handler, a person who is waiting
gets one clear line, and a valid command sent right after the garbage is still answered."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services import subscriptions
from bot.engine.extract import Extractor
from tests.badinput.harness import ADMIN_ID, LogRecorder, ThreadedBot, start_bot
from tests.badinput.update_kinds import (
    KINDS,
    NASTY,
    every_kind,
    garbage_args,
    message,
    mutated,
    nasty_text,
    private_chat,
    user,
    with_kind,
)
from tests.support.botapi import MAX_TEXT_UTF16, BotApiServer, utf16_len
from tests.support.channels import follow_channel

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def no_failures() -> Iterator[LogRecorder]:
    """Record logs; on exit, nothing may have reached the error handler or been logged as an error."""
    recorder = LogRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
    assert recorder.failures() == []


def one_line(reply: dict[str, object]) -> str:
    text = str(reply["plain_text"])
    assert "\n" not in text, f"expected one line, got {text!r}"
    return text


# -- every kind of update ----------------------------------------------------------------------


def test_every_kind_of_update_is_taken_quietly(module_bot: ThreadedBot) -> None:
    with no_failures():
        for kind, body in every_kind().items():
            module_bot.server.push_update(with_kind(kind, body))
        # An update of a kind newer than this PTB, riding along a known one, and a known one
        # carrying fields PTB has never heard of.
        module_bot.server.push_update(with_kind("message", message("/help", message_id=90, entities=[
            {"type": "bot_command", "offset": 0, "length": 5}])) | {
            "future_update_kind": {"id": 1, "payload": ["x"]}})
        module_bot.server.push_update(with_kind("message", message("hello") | {
            "future_field": {"nested": True}, "another": [1, 2, 3]}))
        module_bot.still_answers()
        module_bot.settle()
    # the /help above (from user 1001, private chat 1001) was answered too
    assert any("/subscribe" in m["plain_text"] for m in module_bot.server.messages_to(1001))


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_a_mutated_update_of_any_kind_loses_nothing(module_bot: ThreadedBot, kind: str, data: st.DataObject) -> None:
    """Fields dropped, values of the wrong type, unknown fields: the update after it is answered."""
    update = with_kind(kind, data.draw(mutated(every_kind()[kind]), label="body"))
    with no_failures():
        module_bot.server.push_update(update)
        module_bot.still_answers()
        module_bot.settle()


def test_an_undecodable_update_in_a_batch_loses_nothing_around_it(module_bot: ThreadedBot) -> None:
    """PTB cannot decode a message whose date is a string: the batch around it still goes through,
    and the drop is one WARNING line that does not show the user's text."""
    server = module_bot.server
    before, after, bad_user = module_bot.fresh_user(), module_bot.fresh_user(), module_bot.fresh_user()
    with no_failures() as log:
        server.user_message("/help", user_id=before)
        bad = copy.deepcopy(server.user_message("/help secret-words-of-a-user", user_id=bad_user, push=False))
        bad["message"]["date"] = "yesterday"
        server.push_update(bad)
        server.user_message("/help", user_id=after)
        server.wait_for(lambda: server.messages_to(before) and server.messages_to(after), 20,
                        what="answers to the commands around the bad update")
        module_bot.settle()
    assert server.messages_to(bad_user) == []
    dropped = [r.getMessage() for r in log.records if r.name == "bot.telegram.safe_updates"]
    assert len(dropped) == 1 and str(bad["update_id"]) in dropped[0]
    assert all("secret-words" not in r.getMessage() for r in log.records)
    # and a batch made of nothing but a bad update is confirmed, not fetched again and again
    lonely = copy.deepcopy(server.user_message("/help", user_id=bad_user, push=False))
    lonely["message"]["chat"] = "not a chat"
    server.push_update(lonely)
    module_bot.still_answers()
    module_bot.settle()
    assert server.pending_updates == []


def test_the_real_polling_loop_survives_an_undecodable_update(fresh_bot: ThreadedBot) -> None:
    """The bot exactly as bot/app.py builds it today. One poll whose options lack ``persistent_id``
    (Bot API 9.6, required by this PTB) makes every later getUpdates fail the same way: the bot
    never answers again."""
    server = fresh_bot.server
    body = every_kind()["poll"]
    for option in body["options"]:
        del option["persistent_id"]
    bad = server.push_update({"poll": body})
    server.user_message("/help", user_id=4242)
    polls_then = len(server.calls_to("getUpdates"))

    def answered_or_stuck() -> bool:
        stuck = (any(u["update_id"] == bad["update_id"] for u in server.pending_updates)
                 and len(server.calls_to("getUpdates")) > polls_then + 5)
        return bool(server.messages_to(4242)) or stuck

    try:
        server.wait_for(answered_or_stuck, 20, what="an answer, or the same batch fetched over and over")
    finally:
        fresh_bot.stop()  # a stuck loop logs without end: stop it before pytest reports
    assert server.messages_to(4242), "polling is stuck on an update it cannot decode"


# -- odd but well-formed messages ---------------------------------------------------------------


@FUZZ
@given(text=nasty_text, entity_offset=st.integers(-5, 10_000), entity_length=st.integers(-5, 10_000),
       kind=st.sampled_from(("message", "edited_message")))
def test_strange_texts_and_entities_out_of_range(module_bot: ThreadedBot, text: str, entity_offset: int,
                                                 entity_length: int, kind: str) -> None:
    body = message(text or "x", chat=private_chat(9101), sender=user(9101),
                   entities=[{"type": "bot_command", "offset": entity_offset, "length": entity_length},
                             {"type": "bold", "offset": 0, "length": 99_999}])
    with no_failures():
        module_bot.server.push_update(with_kind(kind, body))
        module_bot.still_answers()
        module_bot.settle()


COMMANDS = ("start", "help", "subscribe", "unsubscribe", "settings", "digest", "incidents", "sources",
            "frobnicate", "START", "start_sub", "a" * 32)


@FUZZ
@given(command=st.sampled_from(COMMANDS), args=garbage_args)
def test_a_command_with_garbage_arguments_gets_an_answer(module_bot: ThreadedBot, command: str,
                                                         args: str) -> None:
    """A person typed a command: whatever follows it, they get an answer, and nothing fails."""
    with no_failures():
        replies = module_bot.ask(f"/{command} {args}")
        module_bot.settle()
    assert all(utf16_len(r["plain_text"]) <= MAX_TEXT_UTF16 for r in replies)


SETTING_WORDS = ("time", "tz", "timezone", "lang", "language", "oblast", "region")


@FUZZ
@given(word=st.sampled_from(SETTING_WORDS), value=garbage_args)
def test_a_bad_setting_gets_one_line_and_changes_nothing(module_bot: ThreadedBot, word: str, value: str) -> None:
    person = module_bot.fresh_user()
    module_bot.ask("/subscribe", user_id=person)
    before = subscriptions.get_subscriber(module_bot.session_factory, person)
    shown = "§" + " ".join(value.split())  # "§" makes it invalid for every setting
    with no_failures():
        reply = module_bot.ask(f"/settings {word} {shown}", user_id=person)[0]
        module_bot.settle()
    text = one_line(reply)
    assert shown[:20] in text
    assert subscriptions.get_subscriber(module_bot.session_factory, person) == before


@pytest.mark.parametrize("text", [
    "/settings tz " + "Europe/" * 583,               # a name too long for the file system
    "/settings tz Europe",                           # a directory of the zone database
    "/settings tz Europe/__pycache__",
    "/settings time " + "<&>" * 1360,                # escaping makes it longer still
    "/incidents " + "Харків&<b>" * 408,
    "/start sub_" + "x" * 4085,
    "/settings lang " + "😀" * 2040,                 # astral: two UTF-16 units each
])
def test_the_longest_and_oddest_arguments_still_get_one_clear_line(module_bot: ThreadedBot, text: str) -> None:
    """Telegram lets a person send 4096 characters; the answer quoting them must still be sendable."""
    assert utf16_len(text) <= MAX_TEXT_UTF16
    person = module_bot.fresh_user()
    module_bot.ask("/subscribe", user_id=person)
    with no_failures():
        reply = module_bot.ask(text, user_id=person)[0]
        module_bot.settle()
    line = one_line(reply)
    assert "went wrong" not in line
    assert utf16_len(line) <= MAX_TEXT_UTF16


def test_commands_for_another_bot_are_left_alone(module_bot: ThreadedBot) -> None:
    server = module_bot.server
    group = -100777001
    me = server.bot_user["username"]
    with no_failures():
        for text in ("/start@otherbot", "/help@otherbot now", "/frobnicate", "/frobnicate@otherbot",
                     "/settings@otherbot tz Mars/Olympus"):
            server.user_message(text, user_id=9201, chat_id=group, chat_type="supergroup")
            server.user_message(text, user_id=9202)
        answered = module_bot.ask(f"/help@{me}", user_id=9201, chat_id=group, chat_type="supergroup")
        unknown = module_bot.ask(f"/frobnicate@{me}", user_id=9201, chat_id=group, chat_type="supergroup")
        module_bot.settle()
    assert "/subscribe" in answered[0]["plain_text"]
    assert "don't know that command" in one_line(unknown[0])
    assert len(server.messages_to(group)) == 2, [m["plain_text"] for m in server.messages_to(group)]
    # In a private chat a mistyped command still gets a pointer to /help, but a command for
    # another bot does not.
    assert [m["plain_text"] for m in server.messages_to(9202)] == ["I don't know that command. See /help."]


# -- buttons --------------------------------------------------------------------------------------


def _subscribed_menu(bot: ThreadedBot) -> tuple[int, int]:
    person = bot.fresh_user()
    bot.ask("/subscribe", user_id=person)
    menu = bot.ask("/settings", user_id=person)[0]
    return person, menu["message_id"]


@FUZZ
@given(what=st.sampled_from(("time", "tz", "lang", "obl", "menu", "alerts", "", "x" * 40)),
       value=st.text(max_size=50))
def test_settings_buttons_with_garbage_data_are_answered(module_bot: ThreadedBot, what: str, value: str) -> None:
    server = module_bot.server
    person, menu = _subscribed_menu(module_bot)
    answers = len(server.callback_answers)
    data = f"settings:{what}:{value}".encode()[:64].decode("utf-8", "ignore")
    with no_failures():
        server.callback_query(person, person, menu, data)
        server.wait_for(lambda: len(server.callback_answers) > answers, 20, what=f"an answer to {data!r}")
        module_bot.settle()
    answer = server.callback_answers[-1]
    assert "went wrong" not in str(answer.get("text"))


def test_stale_menus_and_late_presses_still_work(module_bot: ThreadedBot) -> None:
    server = module_bot.server
    person, menu = _subscribed_menu(module_bot)
    with no_failures():
        # A press on a menu message that is gone (Telegram sends it as inaccessible, date 0): the
        # change is made, the press answered, and the menu comes again as a new message.
        answers, messages = len(server.callback_answers), len(server.messages_to(person))
        server.callback_query(person, person, 999_999, "settings:alerts:on")
        server.wait_for(lambda: len(server.callback_answers) > answers
                        and len(server.messages_to(person)) > messages, 20, what="the answer and a new menu")
        # A press that reaches the bot too late to be answered (after a restart, say): the menu
        # still turns to the page asked for.
        late = copy.deepcopy(server.callback_query(person, person, menu, "settings:menu:time", push=False))
        late["callback_query"]["id"] = "expired-query"
        server.push_update(late)
        # Forward confirmations nobody asked for, from an admin and from someone else.
        server.callback_query(ADMIN_ID, ADMIN_ID, 1, "fwd:yes:-100123_5")
        server.callback_query(person, person, menu, "fwd:yes:" + "x" * 50)
        module_bot.still_answers()
        module_bot.settle()
    sub = subscriptions.get_subscriber(module_bot.session_factory, person)
    assert sub is not None and sub.instant_alerts, "the press on the gone menu was applied"
    assert "Settings" in server.messages_to(person)[-1]["plain_text"]
    edits = [r for r in server.sent if r["method"] == "editMessageText" and (r["chat_id"], r["message_id"]) == (person, menu)]
    assert edits and "07:00" in str(edits[-1]["reply_markup"]), "the late press turned the menu to the time page"


def test_a_button_the_bot_does_not_know_is_answered(module_bot: ThreadedBot) -> None:
    """An old keyboard, another version's button: the spinner on the person's button must stop."""
    server = module_bot.server
    person, menu = _subscribed_menu(module_bot)
    answers = len(server.callback_answers)
    with no_failures():
        server.callback_query(person, person, menu, "nothing:here")
        server.wait_for(lambda: len(server.callback_answers) > answers or module_bot.idle(), 20)
        module_bot.settle()
    assert len(server.callback_answers) > answers


# -- channels, forwards, membership --------------------------------------------------------------


@FUZZ
@given(text=st.one_of(nasty_text.filter(lambda s: s.strip()),
                      st.sampled_from(NASTY).map(lambda piece: (piece + " Харків ") * 3000)),
       title=nasty_text, edited=st.booleans())
def test_channel_posts_of_any_text_are_ingested_quietly(module_bot: ThreadedBot, text: str, title: str,
                                                        edited: bool) -> None:
    server = module_bot.server
    channel = -1009100000 - module_bot.fresh_user()
    follow_channel(module_bot.session_factory, channel, "t", "nasty_chan")  # an approved source
    with no_failures():
        server.channel_post(channel, text, title=title or "t", username="nasty_chan")
        if edited:
            server.channel_post(channel, text + " (upd)", title=title or "t", username="nasty_chan", edited=True)
        module_bot.still_answers()
        module_bot.settle()
    assert server.messages_to(channel) == []


def test_posts_forwarded_by_anyone_get_one_line(module_bot: ThreadedBot) -> None:
    server = module_bot.server
    with no_failures():
        for sender in (9301, ADMIN_ID):
            for origin in ({"from_user_id": 5}, {"hidden_sender_name": "‮Anon\u200d"},
                           {"from_chat_id": -1009988776655, "from_chat_title": "<b>&amp;", "from_message_id": 7}):
                before = len(server.messages_to(sender))
                server.forwarded_message("\x00‮" + "Харків " * 400, user_id=sender, **origin)  # type: ignore[arg-type]
                server.wait_for(lambda: len(server.messages_to(sender)) > before, 20)
        module_bot.settle()
    for sender in (9301, ADMIN_ID):
        for reply in server.messages_to(sender):
            assert "went wrong" not in one_line(reply)
    assert "not a source yet" in server.messages_to(ADMIN_ID)[-1]["plain_text"]


def test_membership_changes_of_any_chat_are_taken_quietly(module_bot: ThreadedBot) -> None:
    server = module_bot.server
    with no_failures():
        for chat, status in ((-100555, "kicked"), (-100556, "left"), (9401, "kicked"), (-100557, "member"),
                             (-100558, "administrator")):
            server.my_chat_member(chat, new_status=status)  # type: ignore[arg-type]
        module_bot.still_answers()
        module_bot.settle()


def test_posts_with_nul_and_control_characters_on_postgresql(fresh_server: BotApiServer, pg_schema_url: str,
                                                             extractor: Extractor) -> None:
    """PostgreSQL refuses NUL in text, SQLite does not: a channel post and its channel's title,
    and a forwarded post, carrying one are taken all the same."""
    running = start_bot(fresh_server, pg_schema_url, extractor)
    try:
        follow_channel(running.session_factory, -1009200001, "Nul channel", "nulchan")  # an approved source
        with no_failures():
            fresh_server.channel_post(-1009200001, "Внаслідок обстрілу Харкова\x00 загинули 2 людини\x01.",
                                      title="Nul\x00Channel", username="nulchan")
            running.still_answers()
            running.settle()
            before = len(fresh_server.messages_to(ADMIN_ID))
            fresh_server.forwarded_message("Київ\x00 вибух", user_id=ADMIN_ID, from_chat_id=-1009200002,
                                           from_chat_title="Fwd\x00", from_message_id=3)
            fresh_server.wait_for(lambda: len(fresh_server.messages_to(ADMIN_ID)) > before, 20)
            running.settle()
        assert "Fwd is not a source yet" in fresh_server.messages_to(ADMIN_ID)[-1]["plain_text"]
        assert "NulChannel" in running.ask("/sources")[0]["plain_text"]
        assert "Kharkiv" in running.ask("/incidents Kharkiv")[0]["plain_text"]
    finally:
        running.stop()
