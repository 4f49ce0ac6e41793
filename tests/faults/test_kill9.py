"""``kill -9`` of the real ``claimwatch`` processes, then a restart.

- The bot, killed during a digest fan-out at the worst moment (Telegram has taken a message
  and the answer never comes back), restarted: every subscriber holds exactly one digest.
- ``claimwatch import``, killed after some files are in: the re-run completes with nothing
  doubled, and the store equals a clean import of the same files.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


from bot.services import ingest, reports, subscriptions
from bot.services.delivery import count_deliveries
from bot.engine.types import PostIn
from store import queries
from store.db import open_database
from store.models import Subscriber
from tests.support.botapi import BotApiServer

CLAIMWATCH = str(Path(sys.executable).with_name("claimwatch"))
SUBSCRIBERS = list(range(50_001, 50_061))
KILL_AFTER = 50  # digest messages the server takes before the bot dies
POST = ("Внаслідок обстрілу Харкова сьогодні загинули 3 людини, ще 5 поранено. "
        "Ворог знову бив по житлових кварталах.")


class KillingServer(BotApiServer):
    """Kills the bot while answering its ``KILL_AFTER``-th digest message: the message is stored
    (Telegram has it) and the bot never hears back.

    The bot is frozen with SIGSTOP at that instant and killed with SIGKILL three seconds later.
    For the bot this is a kill at that instant (it runs no further instruction); the three seconds
    let this server read the requests the bot had already written, as Telegram's servers would
    have, even on a loaded machine where this server reads slowly. (Killed at once on loopback,
    the kernel answers those unread requests with a reset and drops them, which a server across
    a real network would have read long before.)
    """

    victim: subprocess.Popen[bytes] | None = None
    digest_messages = 0

    def _record(self, method: str, message: dict[str, Any], params: dict[str, Any], **details: Any) -> None:
        super()._record(method, message, params, **details)
        if message["chat"]["id"] in SUBSCRIBERS:
            self.digest_messages += 1
            if self.digest_messages == KILL_AFTER and self.victim is not None:
                os.kill(self.victim.pid, signal.SIGSTOP)
                threading.Timer(3.0, os.kill, (self.victim.pid, signal.SIGKILL)).start()


def _afternoon_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where it is now between 13:00 and 22:59, so the digest due a few
    minutes ago reports the local day itself."""
    for offset in range(-12, 15):
        zone = ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT")
        if 13 <= now.astimezone(zone).hour <= 22:
            return zone
    raise AssertionError("no afternoon zone")


def digest_due_store(session_factory: Any, extractor: Any, subscribers: list[int]) -> date:
    """A store with today's Kharkiv strike and ``subscribers`` (since yesterday) whose digest fell
    due five minutes ago, in a zone where it is afternoon; returns that local day."""
    now = datetime.now(UTC)
    zone = _afternoon_zone(now)
    local = now.astimezone(zone)
    day = local.date()
    with session_factory.begin() as session:
        queries.upsert_source(session, "-100777", "Kharkiv RMA", transport="telegram")
    ingest.ingest_for_source(session_factory, "-100777", [
        PostIn(message_id=1, text=POST, posted_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC)),
    ], extractor)
    for chat_id in subscribers:
        subscriptions.subscribe(session_factory, chat_id, chat_type="private", language="en", timezone=zone.key)
    with session_factory.begin() as session:
        for row in session.query(Subscriber):
            row.digest_time = (local - timedelta(minutes=5)).strftime("%H:%M")
            row.created_at = now - timedelta(days=1)
    return day


def _bot_env(server: BotApiServer, db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TELEGRAM_BOT_TOKEN=server.token, CLAIMWATCH_TELEGRAM_API_URL=server.url,
               CLAIMWATCH_DATABASE_URL=db_url, CLAIMWATCH_LOG_LEVEL="INFO")
    return env


def _start_bot(server: BotApiServer, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([CLAIMWATCH, "run"], env=_bot_env(server, db_url), stdout=out,
                                stderr=subprocess.STDOUT)


def _wait(predicate: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def test_kill_9_during_fanout_then_restart_gives_each_subscriber_one_digest(tmp_path: Path, extractor: Any) -> None:
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    _, session_factory = open_database(db_url)
    # a day with an incident, so each digest is two messages: the text and the chart
    day = digest_due_store(session_factory, extractor, SUBSCRIBERS)
    key = f"digest:{day.isoformat()}"
    log = tmp_path / "bot.log"

    with KillingServer() as server:
        # no flood limits here: a 429 answer the killed bot never read would leave a refused
        # message marked as sent (the 429 storms have tests of their own)
        for chat_id in SUBSCRIBERS:
            server.set_chat(chat_id, chat_type="private")
        server.victim = first = _start_bot(server, db_url, log)
        try:
            assert first.wait(timeout=90) == -signal.SIGKILL, log.read_text(errors="replace")[-3000:]
        finally:
            if first.poll() is None:
                first.kill()
        interrupted = count_deliveries(session_factory, key)
        assert interrupted.get("sent", 0) < len(SUBSCRIBERS)  # killed mid-way indeed

        second = _start_bot(server, db_url, log)
        try:
            _wait(lambda: count_deliveries(session_factory, key) == {"sent": len(SUBSCRIBERS)}, 90,
                  "every digest delivered after the restart", log)
            time.sleep(1.5)  # anything sent twice would arrive now
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)

        for chat_id in SUBSCRIBERS:
            kinds = Counter(r["method"] for r in server.messages_to(chat_id))
            assert kinds == {"sendMessage": 1, "sendPhoto": 2}, (chat_id, kinds)  # text, chart, map
        assert server.server_errors == []
    con = sqlite3.connect(tmp_path / "bot.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT count(*) FROM deliveries WHERE status != 'sent'").fetchone() == (0,)
    finally:
        con.close()


# ---------------------------------------------------------------- import


def _big_exports(dev_corpus: Path, folder: Path, copies: int = 40) -> list[Path]:
    """The dev exports, each repeated ``copies`` times under new message ids and days, read in
    place from ../shared and written to ``folder`` (not to the repository)."""
    paths = []
    for source in sorted(dev_corpus.glob("*.json")):
        if source.name in {"gold.json", "conflicts.json"}:
            continue
        export = json.loads(source.read_text(encoding="utf-8"))
        messages = []
        for copy_no in range(copies):
            for message in export["messages"]:
                clone = copy.deepcopy(message)
                clone["id"] = copy_no * 10_000 + message["id"]
                shifted = datetime.fromisoformat(message["date"]) + timedelta(days=3 * copy_no)
                clone["date"] = shifted.isoformat()
                clone["date_unixtime"] = str(int(shifted.replace(tzinfo=UTC).timestamp()))
                messages.append(clone)
        export["messages"] = messages
        path = folder / source.name
        path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def _import(db_url: str, paths: list[Path]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([CLAIMWATCH, "--db", db_url, "import", *map(str, paths)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _totals(db_url: str) -> dict[str, int]:
    engine, session_factory = open_database(db_url)
    try:
        return reports.store_totals(session_factory)
    finally:
        engine.dispose()


def test_kill_9_during_import_then_rerun_doubles_nothing(tmp_path: Path, db_url: str, dev_corpus: Path) -> None:
    paths = _big_exports(dev_corpus, tmp_path)
    open_database(db_url)[0].dispose()  # schema first, so the test can watch rows arrive
    victim = _import(db_url, paths)
    try:
        _wait(lambda: _totals(db_url)["posts"] > 0, 120, "the first file committed")
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.wait(timeout=30)
    partial = _totals(db_url)

    rerun = _import(db_url, paths)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode(errors="replace")

    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    clean = _import(reference_url, paths)
    clean.communicate(timeout=300)
    assert clean.returncode == 0
    expected = _totals(reference_url)
    assert partial["posts"] < expected["posts"]  # the kill did interrupt the import
    assert _totals(db_url) == expected
