"""Channels are vetted before they are sources: a channel that makes the bot its administrator
(or posts to it) while it is not a source waits for an admin's Approve or Reject.

Meanwhile its posts are kept aside (``held_posts``, at most ``MAX_HELD`` per channel) and reach
no digest and no alert; on approval the channel becomes a source and the held posts are ingested
as if they had just arrived, so an admin who approves a channel in the evening still sees that
morning's posts in the digest. On rejection the held posts are dropped (the handler then makes
the bot leave the channel) and the rejection is remembered: a rejected channel that adds the bot
again, or posts, is left again without asking anyone, until an admin allows it again. Both the
pending channel and its posts live in the database, so a restart between the question and the
answer loses nothing; so do the admins' copies of the question, which the handler edits to show
the decision once one admin has answered. Each function owns one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.extract import Extractor
from bot.engine.types import PostIn
from bot.services.ingest import ingest_and_refresh
from store import queries
from store.locks import ingest_lock
from store.models import (
    AdminQuestion,
    HeldPost,
    PendingChannel,
    RejectedChannel,
    Transport,
)
from store.queries import pending as pending_queries

MAX_HELD = 200  # posts kept per pending channel; a chatty channel keeps its newest


@dataclass(frozen=True, slots=True)
class Channel:
    """A Telegram channel as an update names it."""

    chat_id: int
    title: str
    username: str | None = None


class Vetting(StrEnum):
    """Where a channel stands when the bot hears from it."""

    FOLLOWED = "followed"  # already a source: ingest its post as usual
    IGNORED = "ignored"  # a digest subscriber, not a source
    NEW = "new"  # pending from now on: ask the admins
    PENDING = "pending"  # was pending already (its post, if any, is held)
    REJECTED = "rejected"  # an admin rejected it: leave it again, ask nobody


@dataclass(frozen=True, slots=True)
class Question:
    """One admin's copy of the question about a channel: where it is and in which language."""

    chat_id: int
    message_id: int
    lang: str


def _topic(chat_id: int) -> str:
    return f"chan:{chat_id}"


def _take_questions(session: Session, chat_id: int) -> tuple[Question, ...]:
    return tuple(Question(q.chat_id, q.message_id, q.lang)
                 for q in pending_queries.take_admin_questions(session, _topic(chat_id)))


@dataclass(frozen=True, slots=True)
class Decided:
    """A pending channel that is no longer pending: its title and every admin's copy of the question."""

    title: str
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True, slots=True)
class Approved:
    """A channel approved as a source: its name, the held posts ingested, the claims read and the
    incidents they were linked into (for alerts)."""

    name: str
    posts: int
    claims: int
    incident_ids: tuple[int, ...]
    questions: tuple[Question, ...] = ()


def _standing(session: Session, channel: Channel, now: datetime) -> Vetting:
    if queries.get_subscriber(session, channel.chat_id) is not None:
        return Vetting.IGNORED
    if queries.get_source_by_ref(session, str(channel.chat_id)) is not None:
        return Vetting.FOLLOWED
    if pending_queries.get_rejected_channel(session, channel.chat_id) is not None:
        return Vetting.REJECTED
    added = queries.add_pending_channel(session, PendingChannel(
        chat_id=channel.chat_id, title=channel.title, username=channel.username, created_at=now))
    return Vetting.NEW if added else Vetting.PENDING


def channel_joined(session_factory: sessionmaker[Session], channel: Channel, *,
                   now: datetime | None = None) -> Vetting:
    """The bot became a member or administrator of ``channel``: a channel that is neither a source
    nor a subscriber becomes pending. Under the ingest lock, as every channel post is: two updates
    of one channel at once make it pending once."""
    with ingest_lock(), session_factory.begin() as session:
        return _standing(session, channel, now or datetime.now(UTC))


def hold_post(session_factory: sessionmaker[Session], channel: Channel, post: PostIn, *,
              now: datetime | None = None) -> Vetting:
    """A post of ``channel``: kept aside when the channel is (or now becomes) pending; a source's
    post is left to the caller to ingest (``FOLLOWED``)."""
    moment = now or datetime.now(UTC)
    with ingest_lock(), session_factory.begin() as session:
        standing = _standing(session, channel, moment)
        if standing in (Vetting.NEW, Vetting.PENDING):
            queries.hold_post(session, HeldPost(
                chat_id=channel.chat_id, message_id=post.message_id, posted_at=post.posted_at,
                edited_at=post.edited_at, text=post.text, url=post.url, created_at=moment), keep=MAX_HELD)
        return standing


def is_pending(session_factory: sessionmaker[Session], chat_id: int) -> bool:
    with session_factory() as session:
        return queries.get_pending_channel(session, chat_id) is not None


def approve(session_factory: sessionmaker[Session], extractor: Extractor, chat_id: int, *,
            added_by: int | None) -> Approved | None:
    """Make a pending channel a source and ingest its held posts, in one transaction; None when it
    is not pending (already approved or rejected). Runs extraction: call it off the event loop."""
    ref = str(chat_id)
    with ingest_lock(), session_factory.begin() as session:
        taken = queries.take_pending_channel(session, chat_id)
        if taken is None:
            return None
        channel, held = taken
        username = channel.username
        source = queries.upsert_source(session, ref, channel.title or ref, handle=username,
                                       transport=Transport.TELEGRAM,
                                       url=f"https://t.me/{username}" if username else None, added_by=added_by)
        posts = [PostIn(message_id=p.message_id, posted_at=p.posted_at, text=p.text, url=p.url,
                        edited_at=p.edited_at) for p in held]
        stats = ingest_and_refresh(session, source, posts, extractor) if posts else None
        incident_ids: set[int] = set()
        for post in posts:
            incident_ids.update(queries.list_post_incident_ids(session, ref, post.message_id))
        return Approved(source.name, len(posts), stats.claims if stats else 0, tuple(sorted(incident_ids)),
                        _take_questions(session, chat_id))


def reject(session_factory: sessionmaker[Session], chat_id: int, *, by: int | None,
           now: datetime | None = None) -> Decided | None:
    """Reject a pending channel: drop its held posts and remember the rejection (the bot leaves it
    again whenever it comes back); None when it was not pending."""
    with ingest_lock(), session_factory.begin() as session:
        taken = queries.take_pending_channel(session, chat_id)
        if taken is None:
            return None
        channel = taken[0]
        pending_queries.put_rejected_channel(session, RejectedChannel(
            chat_id=chat_id, title=channel.title, username=channel.username, rejected_by=by,
            rejected_at=now or datetime.now(UTC)))
        return Decided(channel.title, _take_questions(session, chat_id))


def withdraw(session_factory: sessionmaker[Session], chat_id: int) -> Decided | None:
    """The channel removed the bot before anyone decided: forget it (not a rejection) and drop its
    held posts; None when it was not pending."""
    with ingest_lock(), session_factory.begin() as session:
        taken = queries.take_pending_channel(session, chat_id)
        return Decided(taken[0].title, _take_questions(session, chat_id)) if taken else None


def remember_questions(session_factory: sessionmaker[Session], chat_id: int, questions: list[Question], *,
                       now: datetime | None = None) -> None:
    """Keep the admins' copies of the question about ``chat_id`` until one of them answers."""
    moment = now or datetime.now(UTC)
    with session_factory.begin() as session:
        pending_queries.add_admin_questions(session, [
            AdminQuestion(topic=_topic(chat_id), chat_id=q.chat_id, message_id=q.message_id, lang=q.lang,
                          created_at=moment) for q in questions])


def take_questions(session_factory: sessionmaker[Session], chat_id: int) -> tuple[Question, ...]:
    """The admins' copies of the question about ``chat_id``, forgotten here (it was answered)."""
    with session_factory.begin() as session:
        return _take_questions(session, chat_id)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected channel as /sources shows it to admins."""

    chat_id: int
    title: str
    username: str | None
    rejected_at: datetime


def list_rejected(session_factory: sessionmaker[Session]) -> list[Rejected]:
    with session_factory() as session:
        return [Rejected(r.chat_id, r.title, r.username, r.rejected_at)
                for r in pending_queries.list_rejected_channels(session)]


def allow_again(session_factory: sessionmaker[Session], chat_id: int) -> str | None:
    """Forget a rejection: the next time the channel adds the bot, the admins are asked again.
    Returns its title, None when it was not rejected."""
    with session_factory.begin() as session:
        row = pending_queries.delete_rejected_channel(session, chat_id)
        return row.title if row is not None else None
