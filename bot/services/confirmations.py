"""Forwarded posts waiting for an admin's yes or no: an admin forwards a post from a channel that
is not a source yet, the bot asks whether to follow it, and the answer may come after a restart.

The posts wait in the database (``pending_forwards``), at most ``MAX_PENDING`` of them and for at
most ``PENDING_TTL``; an older or unknown button press is answered as expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.types import PostIn
from store import queries
from store.models import PendingForward

PENDING_TTL = timedelta(days=2)
MAX_PENDING = 500


@dataclass(frozen=True, slots=True)
class Forward:
    """A forwarded post and the channel it came from."""

    chat_id: int
    title: str
    username: str | None
    post: PostIn


def forward_token(chat_id: int, message_id: int) -> str:
    """The token a confirmation button carries (``fwd:yes:<token>``)."""
    return f"{chat_id}_{message_id}"


def remember_forward(session_factory: sessionmaker[Session], forward: Forward, requested_by: int | None, *,
                     now: datetime | None = None) -> str:
    """Keep a forward until an admin answers; returns its token. The oldest are dropped beyond
    ``MAX_PENDING``, and any older than ``PENDING_TTL``."""
    moment = now or datetime.now(UTC)
    post = forward.post
    token = forward_token(forward.chat_id, post.message_id)
    with session_factory.begin() as session:
        queries.put_pending_forward(session, PendingForward(
            token=token, chat_id=forward.chat_id, title=forward.title, username=forward.username,
            message_id=post.message_id, posted_at=post.posted_at, text=post.text, url=post.url,
            forwarded_from=post.forwarded_from, requested_by=requested_by, created_at=moment))
        session.flush()
        queries.prune_pending_forwards(session, created_before=moment - PENDING_TTL, keep=MAX_PENDING)
    return token


def take_forward(session_factory: sessionmaker[Session], token: str, *, now: datetime | None = None) -> Forward | None:
    """The forward of ``token``, removed from the waiting ones; None when unknown or expired."""
    moment = now or datetime.now(UTC)
    with session_factory.begin() as session:
        row = queries.take_pending_forward(session, token, created_after=moment - PENDING_TTL)
        if row is None:
            return None
        post = PostIn(message_id=row.message_id, posted_at=row.posted_at, text=row.text, url=row.url,
                      forwarded_from=row.forwarded_from)
        return Forward(row.chat_id, row.title, row.username, post)
