"""Two ``claimwatch run`` processes on one PostgreSQL database: one bot, never two.

The first bot is delivering a digest to every subscriber and Telegram holds its first message
back with a 429 ``retry_after``; a second ``claimwatch run`` started then exits with one line
naming the running instance, before it says anything to Telegram: no getUpdates call is answered
409 and no subscriber gets a digest twice. A third started with ``--standby`` waits, and takes
over when the first stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.services.delivery import count_deliveries
from store.db import open_database
from store.leases import get_lease
from tests.faults.test_kill9 import digest_due_store
from tests.support.botapi import ApiError, BotApiServer

REPO = Path(__file__).resolve().parents[2]
SUBSCRIBERS = list(range(60_001, 60_006))

class ConflictCountingServer(BotApiServer):
    """Counts getUpdates calls answered 409 Conflict (two bots polling one token)."""

    conflicts = 0

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return await super()._get_updates(params)
        except ApiError as exc:
            if exc.error_code == 409:
                self.conflicts += 1
            raise


def _start(server: BotApiServer, db_url: str, log: Path, *extra: str, capture: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": server.token,
           "CLAIMWATCH_TELEGRAM_API_URL": server.url, "CLAIMWATCH_DATABASE_URL": db_url,
           "CLAIMWATCH_LOG_LEVEL": "INFO"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "run", *extra], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.PIPE if capture else subprocess.STDOUT, text=True)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_second_run_exits_with_one_line_and_no_digest_is_sent_twice(
    tmp_path: Path, pg_schema_url: str, extractor: Any
) -> None:
    db_url = pg_schema_url
    engine, session_factory = open_database(db_url)
    day = digest_due_store(session_factory, extractor, SUBSCRIBERS)
    key = f"digest:{day.isoformat()}"

    with ConflictCountingServer() as server:
        for chat_id in SUBSCRIBERS:
            server.set_chat(chat_id, chat_type="private")
        server.fail_next("sendMessage", 429, retry_after=10)  # the first bot's first digest waits
        first = _start(server, db_url, tmp_path / "first.log")
        try:
            _wait(lambda: server.too_many_requests >= 1, 90, "the first bot's digest to meet a 429")
            assert count_deliveries(session_factory, key).get("sending")  # a delivery is on its way

            second = _start(server, db_url, tmp_path / "second.log", capture=True)
            try:
                _, err = second.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                second.kill()
                _, err = second.communicate()
                raise AssertionError(f"the second bot did not exit: {err[-3000:]}") from None
            assert second.returncode == 1
            lines = err.strip().splitlines()
            assert len(lines) == 1, err
            assert lines[0].startswith("claimwatch: another claimwatch instance (host ")
            assert f"pid {first.pid}, since " in lines[0] and "--standby" in lines[0]

            standby = _start(server, db_url, tmp_path / "standby.log", "--standby")
            _wait(lambda: count_deliveries(session_factory, key) == {"sent": len(SUBSCRIBERS)}, 90,
                  "every digest delivered")
            assert standby.poll() is None  # still standing by
            polls_before = len(server.calls_to("getUpdates"))
            conflicts_while_both_ran = server.conflicts
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=60) == 0
            _wait(lambda: (lease := get_lease(session_factory)) is not None and lease.pid == standby.pid, 60,
                  "the standby to take the lease over")
            _wait(lambda: len(server.calls_to("getUpdates")) > polls_before + 1, 60, "the standby to poll")
            time.sleep(1.5)  # anything sent twice would arrive now
        finally:
            for process in (first, locals().get("standby")):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=60)

        # a stopping bot ends its own abandoned long poll, which the server counts; while two
        # processes ran, and in what any bot heard, there was no 409
        assert conflicts_while_both_ran == 0
        for log in ("first.log", "second.log", "standby.log"):
            text = (tmp_path / log).read_text(errors="replace") if (tmp_path / log).exists() else ""
            assert "Conflict" not in text and "terminated by other getUpdates" not in text, text[-2000:]
        for chat_id in SUBSCRIBERS:
            kinds = Counter(r["method"] for r in server.messages_to(chat_id))
            assert kinds == {"sendMessage": 1, "sendPhoto": 2}, (chat_id, kinds)  # text, chart, map
    assert get_lease(session_factory) is None  # released at the clean stop
    engine.dispose()
