"""Forwards waiting for an admin's confirmation, on SQLite and PostgreSQL: kept across processes,
taken once, forgotten when too old, and never more than ``MAX_PENDING`` of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.engine.types import PostIn
from bot.services import confirmations
from bot.services.confirmations import Forward, remember_forward, take_forward
from store.db import open_database

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _forward(message_id: int) -> Forward:
    post = PostIn(message_id=message_id, posted_at=START, text="У Харкові внаслідок удару загинули 2 людини.",
                  url=f"https://t.me/kharkiv_city/{message_id}", forwarded_from="Kharkiv City")
    return Forward(-1005550001, "Kharkiv City", "kharkiv_city", post)


def test_a_forward_waits_in_the_database_and_is_taken_once(db_url: str) -> None:
    engine, session_factory = open_database(db_url)
    token = remember_forward(session_factory, _forward(77), 7001, now=START)
    engine.dispose()
    _, reopened = open_database(db_url)  # another process: nothing lives in memory
    assert take_forward(reopened, token, now=START + timedelta(hours=1)) == _forward(77)
    assert take_forward(reopened, token, now=START + timedelta(hours=1)) is None  # a second press


def test_an_old_forward_expires(db_url: str) -> None:
    _, session_factory = open_database(db_url)
    token = remember_forward(session_factory, _forward(78), 7001, now=START)
    assert take_forward(session_factory, token, now=START + confirmations.PENDING_TTL + timedelta(minutes=1)) is None


def test_only_the_newest_forwards_are_kept(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confirmations, "MAX_PENDING", 3)
    _, session_factory = open_database(db_url)
    tokens = [remember_forward(session_factory, _forward(100 + i), 7001, now=START + timedelta(seconds=i))
              for i in range(5)]
    later = START + timedelta(minutes=1)
    assert [take_forward(session_factory, token, now=later) is not None for token in tokens] == [
        False, False, True, True, True]
