"""The bot lease on SQLite and PostgreSQL: one holder, taken over only after it lapses, and
interrupted deliveries released only by the holder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import subscriptions
from bot.services.delivery import begin_delivery, release_interrupted
from store.db import open_database
from store.leases import LEASE_TTL, LeaseHeld, acquire_lease, get_lease, release_lease, renew_lease


def test_one_holder_until_its_lease_lapses(db_url: str) -> None:
    engine, session_factory = open_database(db_url)
    start = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    acquire_lease(session_factory, "web-1:100:aaaa", now=start)
    with pytest.raises(LeaseHeld) as held:
        acquire_lease(session_factory, "web-2:200:bbbb", now=start + LEASE_TTL - timedelta(seconds=1))
    assert str(held.value) == ("another claimwatch instance (host web-1, pid "
                               f"{held.value.holder.pid}, since 2026-12-02 01:00:00 UTC) is running on this database")
    assert renew_lease(session_factory, "web-1:100:aaaa", now=start + timedelta(seconds=20))
    with pytest.raises(LeaseHeld):  # the heartbeat kept it
        acquire_lease(session_factory, "web-2:200:bbbb", now=start + timedelta(seconds=45))

    taken = acquire_lease(session_factory, "web-2:200:bbbb", now=start + timedelta(seconds=51))  # lapsed
    assert taken.owner == "web-2:200:bbbb"
    assert not renew_lease(session_factory, "web-1:100:aaaa")  # the stalled holder learns it lost
    release_lease(session_factory, "web-1:100:aaaa")  # not its lease any more: nothing happens
    assert get_lease(session_factory).owner == "web-2:200:bbbb"  # type: ignore[union-attr]
    release_lease(session_factory, "web-2:200:bbbb")
    assert get_lease(session_factory) is None
    engine.dispose()


def test_interrupted_deliveries_are_released_only_by_the_lease_holder(db_url: str) -> None:
    engine, session_factory = open_database(db_url)
    subscriber, _ = subscriptions.subscribe(session_factory, 42, chat_type="private", language="en",
                                            timezone="Europe/Kyiv")
    assert not isinstance(begin_delivery(session_factory, subscriber.id, "digest:2026-12-01"), str)
    acquire_lease(session_factory, "web-1:100:aaaa")

    assert release_interrupted(session_factory, "web-2:200:bbbb") == []  # another bot may be sending it
    assert release_interrupted(session_factory, "web-1:100:aaaa") == [(42, "digest:2026-12-01")]
    engine.dispose()


def test_a_dead_holder_on_this_host_gives_the_lease_up_at_once(db_url: str) -> None:
    """A restart right after ``kill -9``: the killed bot's heartbeat is fresh, but it is gone."""
    import os
    import socket
    import subprocess
    import sys

    engine, session_factory = open_database(db_url)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()[:60]
    from store.models import InstanceLease

    now = datetime.now(UTC)
    with session_factory.begin() as session:
        session.add(InstanceLease(role="bot", owner=f"{host}:{child.pid}:dead", host=host, pid=child.pid,
                                  since=now, heartbeat_at=now))
    assert acquire_lease(session_factory, f"{host}:{os.getpid()}:live").pid == os.getpid()

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with session_factory.begin() as session:
            row = session.get(InstanceLease, "bot")
            row.owner, row.pid = f"{host}:{alive.pid}:alive", alive.pid
        with pytest.raises(LeaseHeld):  # a live holder on this host keeps it
            acquire_lease(session_factory, f"{host}:{os.getpid()}:again")
    finally:
        alive.kill()
        alive.wait()
    engine.dispose()


def test_the_keeper_beats_and_hears_of_a_takeover(db_url: str) -> None:
    import threading

    from store.leases import LeaseKeeper

    engine, session_factory = open_database(db_url)
    start = datetime.now(UTC)
    acquire_lease(session_factory, "web-1:100:aaaa", now=start - timedelta(seconds=25))
    lost = threading.Event()
    keeper = LeaseKeeper(session_factory, "web-1:100:aaaa", interval=0.1, on_lost=lost.set)
    keeper.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while get_lease(session_factory).heartbeat_at < start and datetime.now(UTC) < deadline:  # type: ignore[union-attr]
            threading.Event().wait(0.05)
        with pytest.raises(LeaseHeld):  # kept fresh by the heartbeat, though taken 25 s ago
            acquire_lease(session_factory, "web-2:200:bbbb", now=start + timedelta(seconds=10))
        acquire_lease(session_factory, "web-2:200:bbbb", now=datetime.now(UTC) + LEASE_TTL * 2)  # lapsed
        assert lost.wait(10) and keeper.lost
    finally:
        keeper.stop()
    engine.dispose()
