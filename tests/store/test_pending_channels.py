"""Channels waiting for an admin's approval, on SQLite and PostgreSQL: their posts are kept aside
(an edit replaces its post, at most ``MAX_HELD`` per channel, the newest kept) and reach no
digest; rejecting drops them and is remembered (until allowed again), approving ingests them once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.engine.types import PostIn
from bot.services import reports, vetting
from bot.services.vetting import Channel, Vetting
from store.db import open_database

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CHANNEL = Channel(-1009990002, "Totally Official News", "totally_official")


def _post(message_id: int, killed: int = 2) -> PostIn:
    return PostIn(message_id=message_id, posted_at=START + timedelta(minutes=message_id),
                  text=f"У Харкові внаслідок удару загинули {killed} людини.")


def test_posts_wait_until_rejected(db_url: str) -> None:
    _, session_factory = open_database(db_url)
    assert vetting.hold_post(session_factory, CHANNEL, _post(1), now=START) is Vetting.NEW
    assert vetting.hold_post(session_factory, CHANNEL, _post(2), now=START) is Vetting.PENDING
    assert vetting.channel_joined(session_factory, CHANNEL, now=START) is Vetting.PENDING  # asked once
    assert reports.list_incident_views(session_factory) == []
    vetting.remember_questions(session_factory, CHANNEL.chat_id, [vetting.Question(7001, 10, "en"),
                                                                   vetting.Question(7002, 11, "uk")])
    rejected = vetting.reject(session_factory, CHANNEL.chat_id, by=7001, now=START)
    assert rejected is not None and rejected.title == "Totally Official News"
    assert [(q.chat_id, q.lang) for q in rejected.questions] == [(7001, "en"), (7002, "uk")]
    assert vetting.reject(session_factory, CHANNEL.chat_id, by=7002) is None  # decided already
    assert not vetting.is_pending(session_factory, CHANNEL.chat_id)
    # it comes back: rejected, nobody is asked, its posts are not kept
    assert vetting.channel_joined(session_factory, CHANNEL, now=START) is Vetting.REJECTED
    assert vetting.hold_post(session_factory, CHANNEL, _post(3), now=START) is Vetting.REJECTED
    assert not vetting.is_pending(session_factory, CHANNEL.chat_id)
    assert [r.title for r in vetting.list_rejected(session_factory)] == ["Totally Official News"]
    assert vetting.allow_again(session_factory, CHANNEL.chat_id) == "Totally Official News"
    assert vetting.allow_again(session_factory, CHANNEL.chat_id) is None
    assert vetting.channel_joined(session_factory, CHANNEL, now=START) is Vetting.NEW  # asked again


def test_a_channel_that_leaves_before_anyone_decides_is_not_rejected(db_url: str) -> None:
    _, session_factory = open_database(db_url)
    assert vetting.channel_joined(session_factory, CHANNEL, now=START) is Vetting.NEW
    vetting.remember_questions(session_factory, CHANNEL.chat_id, [vetting.Question(7001, 10, "en")])
    withdrawn = vetting.withdraw(session_factory, CHANNEL.chat_id)
    assert withdrawn is not None and [q.message_id for q in withdrawn.questions] == [10]
    assert vetting.list_rejected(session_factory) == []
    assert vetting.channel_joined(session_factory, CHANNEL, now=START) is Vetting.NEW


def test_approval_ingests_the_newest_held_posts_once(db_url: str, extractor,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vetting, "MAX_HELD", 2)
    _, session_factory = open_database(db_url)
    for message_id in (1, 2, 3):
        vetting.hold_post(session_factory, CHANNEL, _post(message_id), now=START)
    vetting.hold_post(session_factory, CHANNEL, _post(3, killed=4), now=START)  # an edit of post 3
    vetting.remember_questions(session_factory, CHANNEL.chat_id, [vetting.Question(7001, 10, "en")])
    approved = vetting.approve(session_factory, extractor, CHANNEL.chat_id, added_by=7001)
    assert approved is not None and approved.name == "Totally Official News" and approved.posts == 2
    assert [q.message_id for q in approved.questions] == [10]
    assert vetting.approve(session_factory, extractor, CHANNEL.chat_id, added_by=7001) is None
    assert vetting.hold_post(session_factory, CHANNEL, _post(5), now=START) is Vetting.FOLLOWED
    views = reports.list_incident_views(session_factory)
    assert views and max(v.summary.killed.best or 0 for v in views) == 4


def test_a_channel_heard_from_twice_at_once_is_asked_about_once(db_url: str) -> None:
    """The bot handles updates concurrently: a channel's join and its first posts arriving together
    make it pending once (one NEW, the others PENDING), with every post kept."""
    from concurrent.futures import ThreadPoolExecutor

    _, session_factory = open_database(db_url)
    with ThreadPoolExecutor(max_workers=6) as pool:
        standings = list(pool.map(lambda n: vetting.hold_post(session_factory, CHANNEL, _post(n), now=START),
                                  range(1, 13)))
    assert sorted(standings).count(Vetting.NEW) == 1 and standings.count(Vetting.PENDING) == 11
    assert vetting.is_pending(session_factory, CHANNEL.chat_id)
