"""Tests of the project's Telegram Bot API test server, through python-telegram-bot itself.

Everything goes over real HTTP on 127.0.0.1: PTB's ``Bot``/``Application`` with
``base_url`` pointed at ``BotApiServer``, so the server is checked against the client that
the bot's own tests will use.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import socket
import struct
import threading
import zlib
from collections.abc import Iterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommandScopeChatAdministrators,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import CallbackContext, CommandHandler
from telegram.request import HTTPXRequest

from tests.support import botapi
from tests.support.botapi import BotApiServer, parse_html

USER_ID = 4242


@pytest.fixture
def server() -> Iterator[BotApiServer]:
    with BotApiServer() as running:
        yield running


def _bot(server: BotApiServer, *, read_timeout: float = 5.0) -> Bot:
    return Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout),
    )


def _png(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        botapi.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _seconds(retry_after: int | dtm.timedelta) -> float:
    return (
        retry_after.total_seconds()
        if isinstance(retry_after, dtm.timedelta)
        else float(retry_after)
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the HTML parser, on tdlib's own cases -------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("&#57311;", "Text contains invalid Unicode characters"),
    ],
)
def test_parse_html_refuses_what_telegram_refuses(html: str, error: str) -> None:
    with pytest.raises(botapi.HtmlParseError) as caught:
        parse_html(html)
    assert str(caught.value).startswith(error)


def test_parse_html_gives_text_and_utf16_entities() -> None:
    text, entities = parse_html(
        '🏟 <b>bold</b> <a href="https://t.me/x?a=1&amp;b=2">link</a> &lt;3 '
        '<pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>q</blockquote>"
    )
    assert text == "🏟 bold link <3 x = 1 q"
    assert entities == [
        {"offset": 3, "length": 4, "type": "bold"},
        {"offset": 8, "length": 4, "type": "text_link", "url": "https://t.me/x?a=1&b=2"},
        {"offset": 16, "length": 5, "type": "pre", "language": "python"},
        {"offset": 22, "length": 1, "type": "expandable_blockquote"},
    ]


def test_bare_ampersand_is_only_refused_in_strict_mode() -> None:
    with pytest.raises(botapi.HtmlParseError, match="Unescaped"):
        parse_html("a & b")
    assert parse_html("a & b &laquo;", strict_ampersand=False) == ("a & b &laquo;", [])


# -- PTB's Bot against the server ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me_returns_the_bot(server: BotApiServer) -> None:
    async with _bot(server) as bot:
        me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "claimwatch_test_bot", True)


@pytest.mark.asyncio
async def test_valid_html_message_is_recorded(server: BotApiServer) -> None:
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Kyiv", callback_data="settings:tz:Europe/Kyiv")]]
    )
    async with _bot(server) as bot:
        message = await bot.send_message(
            USER_ID,
            "<b>2 killed</b> in Kharkiv &amp; region",
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
    assert message.text == "2 killed in Kharkiv & region"
    assert message.entities[0].type == "bold"
    assert message.reply_markup == markup
    (record,) = server.messages_to(USER_ID)
    assert record["method"] == "sendMessage"
    assert record["text"] == "<b>2 killed</b> in Kharkiv &amp; region"
    assert record["plain_text"] == "2 killed in Kharkiv & region"
    assert record["parse_mode"] == "HTML"
    assert (
        record["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        == "settings:tz:Europe/Kyiv"
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("text", ["<b>unclosed", "a & b", "x <y> z"])
async def test_invalid_html_is_a_bad_request(server: BotApiServer, text: str) -> None:
    async with _bot(server) as bot:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER_ID, text, parse_mode=ParseMode.HTML)
    assert server.sent == []


@pytest.mark.asyncio
async def test_text_limits_are_telegrams(server: BotApiServer) -> None:
    async with _bot(server) as bot:
        await bot.send_message(USER_ID, "<b>" + "я" * 4096 + "</b>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER_ID, "🏟" * 2049)  # 4098 UTF-16 code units
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(USER_ID, "<b> </b>", parse_mode=ParseMode.HTML)
    assert len(server.sent) == 1


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
async def test_scripted_429_raises_retry_after(server: BotApiServer) -> None:
    server.fail_next("sendMessage", 429, retry_after=7)
    async with _bot(server) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER_ID, "first")
        await bot.send_message(USER_ID, "second")
    assert _seconds(caught.value.retry_after) == 7
    assert [r["plain_text"] for r in server.sent] == ["second"]
    assert [p["text"] for p in server.calls_to("sendMessage")] == ["first", "second"]


@pytest.mark.asyncio
async def test_blocked_chat_is_forbidden(server: BotApiServer) -> None:
    server.block_chat(USER_ID)
    async with _bot(server) as bot:
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(USER_ID, "hello")
        await bot.send_message(USER_ID + 1, "someone else")
    assert [r["chat_id"] for r in server.sent] == [USER_ID + 1]


@pytest.mark.asyncio
async def test_wrong_token_is_unauthorized(server: BotApiServer) -> None:
    bot = Bot("123456:WRONG", base_url=server.base_url)
    with pytest.raises(InvalidToken):
        await bot.get_me()


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
async def test_flood_control_answers_429(server: BotApiServer) -> None:
    server.rate_limit(per_second_global=30, per_chat_per_second=1)
    async with _bot(server) as bot:
        await bot.send_message(USER_ID, "one")
        with pytest.raises(RetryAfter):
            await bot.send_message(USER_ID, "two")
        await bot.send_message(USER_ID + 1, "other chat")
    assert server.too_many_requests == 1
    server.reset_records()
    assert server.too_many_requests == 0


@pytest.mark.asyncio
async def test_outages_fail_every_method_until_cleared(server: BotApiServer) -> None:
    async with _bot(server, read_timeout=0.3) as bot:
        server.set_outage("500")
        with pytest.raises(NetworkError, match=r"(?i)internal server error"):
            await bot.send_message(USER_ID, "x")
        server.set_outage("timeout")
        with pytest.raises(TimedOut):
            await bot.send_message(USER_ID, "y")
        server.set_outage(None)
        await bot.send_message(USER_ID, "z")
    assert [r["plain_text"] for r in server.sent] == ["z"]


@pytest.mark.asyncio
async def test_commands_are_kept_per_scope_and_language(server: BotApiServer) -> None:
    async with _bot(server) as bot:
        await bot.set_my_commands([("start", "Start"), ("digest", "Today's digest")])
        await bot.set_my_commands([("start", "Почати")], language_code="uk")
        await bot.set_my_commands(
            [("sources", "Manage sources")],
            scope=BotCommandScopeChatAdministrators(-100123),
        )
        uk = await bot.get_my_commands(language_code="uk")
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([("Start", "upper case is refused")])
    assert [c.command for c in uk] == ["start"]
    assert server.commands() == [
        {"command": "start", "description": "Start"},
        {"command": "digest", "description": "Today's digest"},
    ]
    assert server.commands(language_code="uk") == [{"command": "start", "description": "Почати"}]
    assert server.commands({"type": "chat_administrators", "chat_id": -100123}) == [
        {"command": "sources", "description": "Manage sources"}
    ]
    assert server.commands("all_private_chats") is None


@pytest.mark.asyncio
async def test_multipart_photo_upload_is_recorded(server: BotApiServer) -> None:
    png = _png(width=3, height=2)
    async with _bot(server) as bot:
        message = await bot.send_photo(
            USER_ID, png, caption="<i>chart</i>", parse_mode=ParseMode.HTML, filename="chart.png"
        )
        downloaded = await (await bot.get_file(message.photo[-1].file_id)).download_as_bytearray()
    assert message.caption == "chart"
    (record,) = server.messages_to(USER_ID)
    assert record["method"] == "sendPhoto"
    assert record["photo_size"] == len(png)
    assert record["photo_is_png"] is True
    assert (record["photo_width"], record["photo_height"]) == (3, 2)
    assert bytes(downloaded) == png


@pytest.mark.asyncio
async def test_edits_and_callback_answers(server: BotApiServer) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="claim:1")]])
    async with _bot(server) as bot:
        sent = await bot.send_message(USER_ID, "claim", reply_markup=markup)
        server.callback_query(USER_ID, USER_ID, sent.message_id, "claim:1")
        (update,) = await bot.get_updates(timeout=0)
        query = update.callback_query
        assert query is not None and query.data == "claim:1"
        assert query.message is not None and query.message.message_id == sent.message_id
        await bot.answer_callback_query(query.id, text="Loading")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query.id)
        await bot.edit_message_text("claim, expanded", chat_id=USER_ID, message_id=sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text(
                "claim, expanded", chat_id=USER_ID, message_id=sent.message_id
            )
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=USER_ID, message_id=999)
    assert [r["method"] for r in server.sent] == ["sendMessage", "editMessageText"]
    assert server.callback_answers[0]["text"] == "Loading"


@pytest.mark.asyncio
async def test_chat_members_and_admins_are_configurable(server: BotApiServer) -> None:
    channel = -1001234567890
    server.channel_post(channel, "first post", title="Kharkiv news", username="kharkiv_news")
    server.set_chat_admins(channel, [server.bot_id, 77], owner_id=5)
    async with _bot(server) as bot:
        chat = await bot.get_chat("@kharkiv_news")
        me = await bot.get_chat_member(channel, server.bot_id)
        admins = await bot.get_chat_administrators(channel)
        other = await bot.get_chat_member(channel, 99)
    assert (chat.id, chat.type, chat.title) == (channel, "channel", "Kharkiv news")
    assert me.status == "administrator"
    assert sorted(a.user.id for a in admins) == sorted([5, server.bot_id, 77])
    assert other.status == "member"


@pytest.mark.asyncio
async def test_built_updates_parse_as_ptb_objects(server: BotApiServer) -> None:
    channel = -1001000000001
    server.user_message(
        "/start@claimwatch_test_bot now", user_id=USER_ID, username="olena", language_code="uk"
    )
    server.channel_post(channel, "2 killed in Kharkiv")
    server.channel_post(channel, "3 killed in Kharkiv", edited=True)
    server.forwarded_message("look", user_id=USER_ID, from_chat_id=channel, from_message_id=1)
    server.my_chat_member(channel, new_status="administrator", chat_type="channel")
    async with _bot(server) as bot:
        updates = await bot.get_updates(timeout=0)
    command, post, edit, forward, membership = updates
    assert command.message is not None and command.message.text == "/start@claimwatch_test_bot now"
    assert command.message.entities[0].type == "bot_command"
    assert command.message.from_user is not None and command.message.from_user.language_code == "uk"
    assert post.channel_post is not None and post.channel_post.chat.type == "channel"
    assert edit.edited_channel_post is not None
    assert edit.edited_channel_post.message_id == post.channel_post.message_id
    assert forward.message is not None and forward.message.forward_origin is not None
    assert forward.message.forward_origin.type == "channel"
    assert membership.my_chat_member is not None
    assert membership.my_chat_member.new_chat_member.status == "administrator"


@pytest.mark.asyncio
async def test_long_poll_offset_and_timeout_semantics(server: BotApiServer) -> None:
    async with _bot(server) as bot:
        assert await bot.get_updates(timeout=0) == ()
        polling = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        pushed = server.user_message("hi", user_id=USER_ID)
        (first,) = await asyncio.wait_for(polling, 2)  # the waiting poll returns at once
        assert first.update_id == pushed["update_id"]
        assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet: delivered again
        assert await bot.get_updates(offset=first.update_id + 1, timeout=0) == ()
    assert server.pending_updates == []


@pytest.mark.asyncio
async def test_application_long_polling_answers_a_command(server: BotApiServer) -> None:
    async def cmd_start(update: Update, context: CallbackContext) -> None:  # type: ignore[type-arg]
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "Welcome to <b>claimwatch</b>", parse_mode=ParseMode.HTML
        )

    app = server.application_builder().build()
    app.add_handler(CommandHandler("start", cmd_start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            server.user_message("/start", user_id=USER_ID)
            (reply,) = await server.wait_for_sent_async(chat_id=USER_ID, timeout=5)
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply["plain_text"] == "Welcome to claimwatch"
    assert reply["parse_mode"] == "HTML"
    assert server.pending_updates == []


@pytest.mark.asyncio
async def test_application_webhook_mode(server: BotApiServer) -> None:
    async def cmd_start(update: Update, context: CallbackContext) -> None:  # type: ignore[type-arg]
        assert update.effective_message is not None
        await update.effective_message.reply_text("hi")

    port = _free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    app = server.application_builder().build()
    app.add_handler(CommandHandler("start", cmd_start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="hook", webhook_url=hook, secret_token="s3cret"
        )
        try:
            assert server.webhook == {"url": hook, "secret_token": "s3cret"}
            with pytest.raises(Conflict, match=r"(?i)webhook is active"):
                await app.bot.get_updates()
            server.user_message("/start", user_id=USER_ID)  # delivered by the server itself
            await server.wait_for_sent_async(chat_id=USER_ID, timeout=5)
            update = server.user_message("/start", user_id=USER_ID + 1, push=False)
            assert await server.post_webhook_async(hook, update, secret_token="wrong") == 403
            assert await server.post_webhook_async(hook, update, secret_token="s3cret") == 200
            await server.wait_for_sent_async(chat_id=USER_ID + 1, timeout=5)
        finally:
            await app.updater.stop()
            await app.stop()


# -- raw wire format, sync ---------------------------------------------------------------------


def test_json_form_and_error_bodies_follow_the_wire_format(server: BotApiServer) -> None:
    base = f"{server.base_url}{server.token}"
    with httpx.Client() as client:
        by_json = client.post(
            f"{base}/sendMessage", json={"chat_id": USER_ID, "text": "json"}
        ).json()
        by_form = client.post(
            f"{base}/sendmessage", data={"chat_id": str(USER_ID), "text": "form"}
        ).json()
        unknown = client.post(f"{base}/sendTelepathy", json={})
        bad_token = client.get(f"{server.base_url}1:nope/getMe")
    assert by_json["ok"] is True and by_json["result"]["message_id"] == 1
    assert by_form["result"]["message_id"] == 2
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert (bad_token.status_code, bad_token.json()["description"]) == (401, "Unauthorized")
    server.fail_next("getMe", 429, retry_after=3)
    body = httpx.get(f"{base}/getMe").json()
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


def test_sync_wait_for_explains_a_timeout(server: BotApiServer) -> None:
    with pytest.raises(AssertionError, match=r"1 send/edit record\(s\) to chat 5"):
        server.wait_for_sent(chat_id=5, timeout=0.05)


@pytest.mark.asyncio
async def test_blocking_helpers_refuse_to_freeze_an_event_loop(server: BotApiServer) -> None:
    with pytest.raises(RuntimeError, match="wait_for_async"):
        server.wait_for(lambda: True)
    await server.wait_for_async(lambda: True)


def test_the_token_never_reaches_a_log_line(
    server: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = f"{server.base_url}{server.token}"
    with httpx.Client() as client:
        client.post(f"{base}/getMe")
        client.post(
            f"{base}/sendMessage",
            data={"chat_id": "1", "text": "<b>"},
            params={"parse_mode": "HTML"},
        )
        client.post(f"{base}/nope")
        client.put(f"{base}/getMe")
    server_records = [
        r for r in caplog.records if r.name.startswith(("tornado", botapi.logger.name))
    ]
    assert server_records  # the server does log requests...
    secret = server.token.split(":", 1)[1]
    assert not [r for r in server_records if secret in r.getMessage()]  # ...never with the token


def test_stop_releases_long_polls_threads_and_port() -> None:
    server = BotApiServer()
    server.start()
    port = server.port
    result: list[object] = []

    def long_poll() -> None:
        response = httpx.post(
            f"{server.base_url}{server.token}/getUpdates", json={"timeout": 30}, timeout=10
        )
        result.append(response.json())

    poller = threading.Thread(target=long_poll)
    poller.start()
    server.wait_for(lambda: server.calls_to("getUpdates"), timeout=2)
    server.stop()
    poller.join(timeout=5)
    assert not poller.is_alive()
    assert result == [{"ok": True, "result": []}]
    assert not [t for t in threading.enumerate() if t.name == "botapi-server"]
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
