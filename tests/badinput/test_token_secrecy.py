"""The bot token never shows: not in DEBUG logs (httpx and httpcore included, tracebacks too)
while the Bot API fails, times out or is unreachable, not when Telegram rejects the token, and not
in what ``claimwatch run`` writes to its terminal."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.error import InvalidToken, NetworkError

from config.settings import LOG_FORMAT, TokenFilter
from tests.badinput.harness import SECRET, TOKEN, ThreadedBot
from tests.support.botapi import BotApiServer

REPO = Path(__file__).resolve().parents[2]
CLAIMWATCH = [sys.executable, "-m", "bot.cli"]  # this checkout's code, whatever the venv installed
WRONG_TOKEN = "7012345678:AAFq1Zr8Yp0Wx-Vv7Uu6Tt_Ss5Rr4Qq3Pp2"
WRONG_SECRET = WRONG_TOKEN.partition(":")[2]


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged, formatted as ``configure_logging`` formats it, through its token filter;
    httpx and httpcore at DEBUG too (``configure_logging`` quiets them, a deployer may not)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(TokenFilter())
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore", "telegram")}
    root.addHandler(handler)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_the_filter_masks_urls_messages_and_tracebacks(debug_log: io.StringIO) -> None:
    logger = logging.getLogger("claimwatch.test")
    logger.info("HTTP Request: POST http://127.0.0.1:1/bot%s/getMe", TOKEN)
    try:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken:
        logger.exception("start-up failed")
    output = debug_log.getvalue()
    assert "InvalidToken" in output and "<token>" in output
    assert SECRET not in output


def test_debug_logs_of_a_failing_bot_api_never_show_the_token(fresh_bot: ThreadedBot, debug_log: io.StringIO) -> None:
    server = fresh_bot.server
    fresh_bot.still_answers()
    server.fail_next("sendMessage", 500, chat_id=4601)  # the error handler logs a traceback
    server.user_message("/help", user_id=4601)
    server.wait_for(lambda: server.messages_to(4601), 20, what="the polite error line")
    server.fail_next("getUpdates", 502)
    fresh_bot.still_answers()
    fresh_bot.still_answers()
    output = debug_log.getvalue()
    assert "error while handling update" in output and "Bad Gateway" in output
    assert "HTTP Request: POST" in output  # httpx did log every call, URL and all
    assert SECRET not in output


def test_a_rejected_token_and_an_unreachable_server_never_show_the_token(fresh_server: BotApiServer,
                                                                          debug_log: io.StringIO) -> None:
    import asyncio

    from telegram import Bot

    async def try_both() -> None:
        with pytest.raises(InvalidToken) as rejected:
            await Bot(WRONG_TOKEN, base_url=fresh_server.base_url).initialize()
        logging.getLogger("claimwatch.test").error("start-up failed", exc_info=rejected.value)
        with pytest.raises(NetworkError) as unreachable:
            await Bot(TOKEN, base_url="http://127.0.0.1:9/bot").initialize()
        logging.getLogger("claimwatch.test").error("start-up failed", exc_info=unreachable.value)
        assert SECRET not in str(unreachable.value)

    asyncio.run(try_both())
    output = debug_log.getvalue()
    assert "InvalidToken" in output and "NetworkError" in output
    assert WRONG_SECRET not in output and SECRET not in output


def run_bot_process(server: BotApiServer, tmp_path: Path, token: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "TELEGRAM_"))}
    env.update(TELEGRAM_BOT_TOKEN=token, CLAIMWATCH_TELEGRAM_API_URL=server.url, CLAIMWATCH_LOG_LEVEL="DEBUG",
               CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", CLAIMWATCH_ADMIN_IDS="7001")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.Popen([*CLAIMWATCH, "run"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def test_claimwatch_run_at_debug_never_shows_the_token(fresh_server: BotApiServer, tmp_path: Path) -> None:
    server = fresh_server
    process = run_bot_process(server, tmp_path, TOKEN)
    try:
        server.wait_for(lambda: server.calls_to("getUpdates") or process.poll() is not None, 60,
                        what="claimwatch run to poll")
        assert process.poll() is None, finish(process)
        server.user_message("/start", user_id=4701)
        server.wait_for(lambda: server.messages_to(4701), 20, what="the welcome")
        server.fail_next("sendMessage", 500, chat_id=4702)
        server.user_message("/help", user_id=4702)
        server.wait_for(lambda: server.messages_to(4702), 20, what="the polite error line")
        server.fail_next("getUpdates", 502)  # the poll after the one now waiting fails
        server.user_message("/help", user_id=4703)
        server.wait_for(lambda: server.messages_to(4703), 20, what="an answer before the failure")
        server.user_message("/help", user_id=4704)
        server.wait_for(lambda: server.messages_to(4704), 20, what="an answer after the failure")
    finally:
        output = finish(process)
    assert " DEBUG " in output and "error while handling update" in output and "Bad Gateway" in output, output[-3000:]
    assert SECRET not in output


@pytest.fixture(scope="module")
def rejected_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """``claimwatch run`` with a token Telegram rejects (401), refused by the start-up getMe
    (``bot.app.probe_bot_api``). Returns the exit status and everything printed."""
    with BotApiServer(token=TOKEN) as server:
        process = run_bot_process(server, tmp_path_factory.mktemp("rejected"), WRONG_TOKEN)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    return process.returncode, output


def test_claimwatch_run_with_a_rejected_token_logs_no_token(rejected_run: tuple[int, str]) -> None:
    _, output = rejected_run
    assert "Traceback" not in output, output[-3000:]  # refused at the start-up getMe, before PTB runs
    assert WRONG_SECRET not in output


def test_claimwatch_run_with_a_rejected_token_prints_one_line_without_it(rejected_run: tuple[int, str]) -> None:
    status, output = rejected_run
    assert status == 1
    last = output.strip().splitlines()[-1]
    assert WRONG_SECRET not in output, last
    assert last.startswith("claimwatch:") and "TELEGRAM_BOT_TOKEN" in last, last
