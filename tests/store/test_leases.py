"""The bot lease on SQLite and PostgreSQL: one holder, taken over only after it lapses, and
interrupted deliveries released only by the holder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import subscriptions
from bot.delivery import begin_delivery, release_interrupted
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
