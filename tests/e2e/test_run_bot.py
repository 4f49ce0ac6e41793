"""``claimwatch run`` refuses to start without what it needs, with one line on stderr: no token, a\nwebhook without its secret, a Bot API it cannot reach, a URL that is no Bot API, a refused token."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.app import run_bot
from config.settings import load_settings
from tests.support.botapi import BotApiServer


def test_missing_token_is_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(TELEGRAM_BOT_TOKEN="", CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert run_bot(settings) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["claimwatch: TELEGRAM_BOT_TOKEN is not set (get a token from @BotFather)"]


def test_webhook_without_secret_is_refused(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN", CLAIMWATCH_WEBHOOK_SECRET="",
                             CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert run_bot(settings, webhook_url="https://example.org/hook") == 1
    assert "CLAIMWATCH_WEBHOOK_SECRET" in capsys.readouterr().err


# ---------------------------------------------------------------- the Bot API at start-up

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def _run(api_url: str, tmp_path: Path, token: str = TOKEN) -> tuple[int, list[str], str]:
    """``claimwatch run`` of this checkout in a child process; its status, stderr lines and stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "TELEGRAM_"))}
    env.update(TELEGRAM_BOT_TOKEN=token, CLAIMWATCH_TELEGRAM_API_URL=api_url,
               CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    return done.returncode, done.stderr.strip().splitlines(), done.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    status, err, out = _run(url, tmp_path)
    assert status == 1
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("claimwatch: cannot reach the Telegram Bot API at "
                           f"CLAIMWATCH_TELEGRAM_API_URL={url}"), line
    assert "Connection refused" in line and f"{url}/bot<TELEGRAM_BOT_TOKEN>/getMe" in line
    assert TOKEN.split(":")[1] not in line + out


class _WebSite(http.server.BaseHTTPRequestHandler):
    """An ordinary web server: an HTML 'Not Found' page for everything."""

    def _page(self) -> None:
        body = b"<html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def test_a_url_that_is_not_a_bot_api_is_one_line(tmp_path: Path) -> None:
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebSite)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{site.server_address[1]}/some/page"
        status, err, _ = _run(url, tmp_path)
    finally:
        site.shutdown()
        site.server_close()
    assert status == 1
    assert err == [(f"claimwatch: CLAIMWATCH_TELEGRAM_API_URL={url} is not a Telegram Bot API: "
                    f"POST {url}/bot<TELEGRAM_BOT_TOKEN>/getMe answered HTTP 404 (text/html), not a Bot API reply")]
    assert "token" not in err[0].lower().replace("<telegram_bot_token>", "")  # the token is not blamed


def test_a_token_the_bot_api_refuses_is_one_line(tmp_path: Path) -> None:
    with BotApiServer(token=TOKEN) as server:
        status, err, _ = _run(server.url, tmp_path, token="654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDxyz")
    assert status == 1
    assert len(err) == 1 and err[0].startswith("claimwatch: Telegram rejected TELEGRAM_BOT_TOKEN"), err
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDxyz" not in err[0]
