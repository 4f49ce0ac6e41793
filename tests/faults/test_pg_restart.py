"""PostgreSQL restarted in the middle of ingestion: the posts in flight are stored once after it
is back, through the bot's channel posts and through ``claimwatch import``."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.services import ingest
from bot.engine.extract import Extractor
from config.settings import load_settings
from store.db import open_database
from tests.e2e.conftest import Bot
from tests.faults.test_kill9 import CLAIMWATCH, _big_exports, _totals
from tests.support.botapi import BotApiServer

pytestmark = pytest.mark.postgres

CHANNEL = -100555
PLACES = ["Харкова", "Херсона", "Миколаєва", "Запоріжжя", "Сум", "Чернігова", "Житомира", "Ізюма"]


def _pg_ctl(action: str) -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        pytest.skip("this test restarts the local PostgreSQL cluster with pg_ctlcluster")
    mode = ["-m", "fast"] if action in ("restart", "stop") else []
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action, *mode],
                   check=True, capture_output=True, timeout=60)


def _answers(url: str) -> bool:
    try:
        engine, _ = open_database(url, migrate=False)
    except Exception:
        return False
    engine.dispose()
    return True


@pytest.fixture
def restartable_postgres(pg_schema_url: str) -> Iterator[str]:
    """The schema URL; whatever happens, PostgreSQL is up again after the test."""
    _pg_ctl("status")  # skips where the cluster cannot be controlled from here
    try:
        yield pg_schema_url
    finally:
        if not _answers(pg_schema_url):
            _pg_ctl("start")


def _restart_in_background() -> threading.Thread:
    thread = threading.Thread(target=_pg_ctl, args=("restart",), daemon=True)
    thread.start()
    return thread


def _post_text(n: int) -> str:
    return f"Внаслідок обстрілу {PLACES[n % len(PLACES)]} загинули {n % 5 + 1} людини, ще {n % 7 + 2} поранено."


@pytest.mark.asyncio
async def test_channel_posts_during_a_postgres_restart_are_stored_once(restartable_postgres: str,
                                                                       extractor: Extractor) -> None:
    url = restartable_postgres
    posts = [_post_text(n) for n in range(30)]
    with BotApiServer() as server:
        settings = load_settings(TELEGRAM_BOT_TOKEN=server.token, CLAIMWATCH_TELEGRAM_API_URL=server.url,
                                 CLAIMWATCH_DATABASE_URL=url)
        engine, session_factory = open_database(url)
        bot = Bot(server, settings, session_factory, extractor)
        await bot.start()
        try:
            with session_factory.begin() as session:  # the channel is a known source
                ingest.queries.upsert_source(session, str(CHANNEL), "Regional administration",
                                               transport="telegram")
            restart: threading.Thread | None = None
            for n, body in enumerate(posts):
                server.channel_post(CHANNEL, body, title="Regional administration")
                if n == 10:
                    restart = _restart_in_background()
                await asyncio.sleep(0.1)
            assert restart is not None
            await asyncio.to_thread(restart.join, 60)

            def stored() -> int:
                try:
                    with session_factory() as session:
                        return int(session.execute(text("SELECT count(*) FROM posts")).scalar_one())
                except Exception:
                    return -1

            await server.wait_for_async(lambda: stored() == len(posts), timeout=90,
                                        what="every post stored after the restart", interval=0.5)
        finally:
            await bot.stop()
        with session_factory() as session:
            rows = session.execute(text("SELECT message_id, count(*) FROM posts GROUP BY message_id")).all()
            claims = session.execute(text("SELECT count(*) FROM claims")).scalar_one()
        engine.dispose()
    assert len(rows) == len(posts) and all(count == 1 for _, count in rows)
    expected = sum(len(extractor.extract_claims(body, posted_at=datetime.now(UTC))) for body in posts)
    assert claims == expected
    assert server.server_errors == []


def test_import_during_a_postgres_restart_completes_once(restartable_postgres: str, tmp_path: Path,
                                                         dev_corpus: Path) -> None:
    url = restartable_postgres
    paths = _big_exports(dev_corpus, tmp_path)
    open_database(url)[0].dispose()
    importing = subprocess.Popen([CLAIMWATCH, "--db", url, "import", *map(str, paths)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _totals(url)["posts"] == 0 and time.monotonic() < deadline:  # some files are in
        time.sleep(0.2)
    _pg_ctl("restart")
    out, err = importing.communicate(timeout=300)
    assert importing.returncode == 0, err.decode(errors="replace")[-2000:]

    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    clean = subprocess.run([CLAIMWATCH, "--db", reference, "import", *map(str, paths)], capture_output=True,
                           timeout=300)
    assert clean.returncode == 0
    assert _totals(url) == _totals(reference)
