"""``claimwatch worker`` processes sharing one PostgreSQL database, polling channels served by a
loopback t.me (tests/support/tme.py) whose posts are the real dev-corpus messages.

Two workers and forty channels: every post is stored once, every channel is asked once per due
time (counted by the server), both workers do part of the work, and SIGTERM stops each with one
line. The bot started with ``--no-poll`` leaves a due channel to the worker. A worker killed mid-poll leaves its channel due again once its lease runs out. SQLite is
refused in one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from store.db import open_database
from store.models import Source
from tests.support.tme import ChannelPost, TmeServer, corpus_texts
from tests.support.workers import (
    REPO,
    WorkerProcess,
    count_posts,
    follow_channels,
    make_due,
    polled_since,
    post_keys,
)

CHANNELS = [f"oda_channel_{n:02d}" for n in range(40)]
FIRST, SECOND = 5, 2  # posts per channel before the first due time, and new ones before the second
START = datetime(2022, 3, 1, 6, 0, tzinfo=UTC)


def _posts(texts: list[str], channel_index: int, ids: range) -> list[ChannelPost]:
    return [ChannelPost(i, START + timedelta(hours=channel_index, minutes=i),
                        texts[(channel_index * 3 + i) % len(texts)]) for i in ids]


def _wait(condition, timeout: float, what: str, workers: list[WorkerProcess]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s; worker logs:\n" + "\n---\n".join(w.log for w in workers))
        time.sleep(0.2)


def test_two_workers_share_forty_channels_and_poll_each_once_per_due_time(
        pg_schema_url: str, dev_corpus: Path) -> None:
    texts = corpus_texts(dev_corpus)
    engine, session_factory = open_database(pg_schema_url)
    with TmeServer() as tme:
        for n, channel in enumerate(CHANNELS):
            tme.add_posts(channel, _posts(texts, n, range(1, FIRST + 1)), title=f"Oblast administration {n}")
        follow_channels(session_factory, CHANNELS)  # not due yet
        workers = [WorkerProcess(pg_schema_url, tme.url, args=["--idle", "0.2"]) for _ in range(2)]
        try:
            for worker in workers:
                worker.wait_for("worker started", timeout=240)
            assert tme.request_counts() == {}  # nothing was due

            first = make_due(session_factory)
            _wait(lambda: polled_since(session_factory, first) == len(CHANNELS), 240, "every channel polled", workers)
            assert count_posts(session_factory) == len(CHANNELS) * FIRST
            assert tme.request_counts() == {channel: 1 for channel in CHANNELS}

            for n, channel in enumerate(CHANNELS):
                tme.add_posts(channel, _posts(texts, n, range(FIRST + 1, FIRST + SECOND + 1)))
            second = make_due(session_factory)
            _wait(lambda: polled_since(session_factory, second) == len(CHANNELS), 240, "every channel polled again",
                  workers)
            time.sleep(2.0)  # ten idle looks each: nothing more is due, so nothing more is asked
            assert tme.request_counts() == {channel: 2 for channel in CHANNELS}

            statuses = [worker.stop(signal.SIGTERM) for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
    keys = post_keys(session_factory)
    engine.dispose()
    expected = {(channel, i) for channel in CHANNELS for i in range(1, FIRST + SECOND + 1)}
    assert len(keys) == len(expected) and set(keys) == expected  # every post, each once

    assert statuses == [0, 0]
    summaries = [worker.summary() for worker in workers]
    assert sum(s.polls for s in summaries) == 2 * len(CHANNELS)
    assert sum(s.new for s in summaries) == len(expected)
    assert all(s.polls > 0 and s.new > 0 for s in summaries), summaries  # both did part of the work
    for worker in workers:
        assert "Traceback" not in worker.log
        # the two stored into the same towns' blocks at the same time: they queued, no transaction was
        # aborted to break a deadlock (and stored again, extraction included)
        assert "DeadlockDetected" not in worker.log
        assert sum("worker stopping on SIGTERM" in line for line in worker.lines) == 1


def test_a_worker_killed_mid_poll_leaves_the_channel_due_after_its_lease(
        pg_schema_url: str, dev_corpus: Path) -> None:
    texts = corpus_texts(dev_corpus)
    engine, session_factory = open_database(pg_schema_url)
    channel = "stalled_channel"
    lease = 4.0
    with TmeServer() as tme:
        tme.add_posts(channel, _posts(texts, 0, range(1, 4)), title="Stalled")
        follow_channels(session_factory, [channel])
        tme.stall_next(channel, 30)  # the first poll hangs on its page
        doomed = WorkerProcess(pg_schema_url, tme.url, args=["--idle", "0.2", "--lease", str(lease)])
        survivor = None
        try:
            doomed.wait_for("worker started", timeout=240)
            due = make_due(session_factory)
            _wait(lambda: tme.requests_for(channel) == 1, 60, "the first poll asked", [doomed])
            doomed.kill()  # SIGKILL mid-poll: its claim stays, and nobody may poll the channel until it lapses
            with session_factory() as session:
                claimed_until = session.scalar(select(Source.next_poll_at).where(Source.ref == channel))
            assert claimed_until is not None and due < claimed_until <= datetime.now(UTC) + timedelta(seconds=lease)
            survivor = WorkerProcess(pg_schema_url, tme.url, args=["--idle", "0.2"])
            survivor.wait_for("worker started", timeout=240)
            _wait(lambda: polled_since(session_factory, due) == 1, 60, "the channel polled after the lease",
                  [doomed, survivor])
            assert tme.requests_for(channel) == 2
            assert survivor.stop() == 0
        finally:
            doomed.kill()
            if survivor is not None:
                survivor.kill()
    assert sorted(post_keys(session_factory)) == [(channel, 1), (channel, 2), (channel, 3)]
    assert survivor.summary().polls == 1
    engine.dispose()


def test_a_worker_on_sqlite_refuses_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "bot.cli", "--db", f"sqlite:///{tmp_path / 'one.db'}", "worker"],
                         check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.startswith("claimwatch: workers need PostgreSQL") and run.stderr.count("\n") == 1, run.stderr
    assert not (tmp_path / "one.db").exists()  # refused before anything was created


def test_the_bot_run_with_no_poll_leaves_a_due_channel_to_the_worker(
        pg_schema_url: str, dev_corpus: Path, tmp_path: Path) -> None:
    from tests.support.botapi import BotApiServer

    texts = corpus_texts(dev_corpus)
    engine, session_factory = open_database(pg_schema_url)
    channel = "left_to_workers"
    with TmeServer() as tme, BotApiServer() as api:
        tme.add_posts(channel, _posts(texts, 1, range(1, 4)), title="Left to workers")
        follow_channels(session_factory, [channel], due=datetime.now(UTC))  # due at once
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "TELEGRAM_"))}
        env.update(PYTHONPATH=str(REPO), TELEGRAM_BOT_TOKEN=api.token, CLAIMWATCH_TELEGRAM_API_URL=api.url,
                   CLAIMWATCH_DATABASE_URL=pg_schema_url, CLAIMWATCH_TME_URL=tme.url,
                   CLAIMWATCH_ALLOW_PRIVATE_URLS="true")
        log = tmp_path / "bot.log"
        with log.open("w") as err:
            bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--no-poll"], cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL, stderr=err)
        worker = None
        try:
            api.wait_for(lambda: any(name == "getUpdates" for name, _ in api.calls), timeout=240,
                         what="the bot polling Telegram")
            time.sleep(8)  # past the moment the bot's own poll job would have run first (5 s)
            assert tme.requests_for(channel) == 0  # the bot did not poll the due channel
            assert "source polling is off in the bot" in log.read_text()

            worker = WorkerProcess(pg_schema_url, tme.url, args=["--idle", "0.2"])
            _wait(lambda: count_posts(session_factory) == 3, 240, "the worker stored the channel", [worker])
            assert tme.requests_for(channel) == 1
            assert worker.stop() == 0
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=60) == 0
        finally:
            if worker is not None:
                worker.kill()
            if bot.poll() is None:
                bot.kill()
                bot.wait(timeout=30)
    engine.dispose()
    assert "Traceback" not in log.read_text()
