"""The toll an alert told, on SQLite and PostgreSQL: a rise gets one update, numbered, at most one
an hour, with what was told before it; a disputed figure is no rise; the record outlives the process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.delivery import told_before, toll_update_due
from bot.services.keys import AlertKey, AlertUpdateKey
from store.db import open_database

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ALERT = AlertKey("-1001234", 42)


def test_a_rising_toll_is_told_once_an_hour(db_url: str) -> None:
    _, session_factory = open_database(db_url)
    assert toll_update_due(session_factory, ALERT, (2, None), now=START) is None  # the alert itself
    assert toll_update_due(session_factory, ALERT, (2, None), now=START) is None  # nothing new
    first = toll_update_due(session_factory, ALERT, (5, 1), now=START + timedelta(minutes=5))
    assert first is not None and first.key == AlertUpdateKey("-1001234", 42, 1) and first.previous == (2, None)
    assert told_before(session_factory, first.key) == (2, None)
    assert toll_update_due(session_factory, ALERT, (7, 1), now=START + timedelta(minutes=50)) is None
    assert toll_update_due(session_factory, ALERT, (None, 1), now=START + timedelta(hours=3)) is None  # disputed
    second = toll_update_due(session_factory, ALERT, (9, None), now=START + timedelta(minutes=66))
    assert second is not None and second.key.number == 2 and second.previous == (5, 1)
    assert told_before(session_factory, first.key) is None  # superseded: not resumed
    # a new process on the same database knows what was told, and when
    _, again = open_database(db_url)
    assert toll_update_due(again, ALERT, (12, 1), now=START + timedelta(minutes=90)) is None
    third = toll_update_due(again, ALERT, (12, 1), now=START + timedelta(minutes=127))
    assert third is not None and third.previous == (9, 1)
