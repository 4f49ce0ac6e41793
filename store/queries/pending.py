"""Queries on what waits for an admin: forwarded posts of channels that are not sources yet,
channels that added the bot (with the posts they sent meanwhile) waiting to be approved, the
channels admins rejected, and each admin's copy of a question with buttons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from store.models import (
    AdminQuestion,
    HeldPost,
    PendingChannel,
    PendingForward,
    RejectedChannel,
)


def put_pending_forward(session: Session, row: PendingForward) -> None:
    """Store a pending forward, replacing one with the same token."""
    session.merge(row)


def take_pending_forward(session: Session, token: str, *, created_after: datetime) -> PendingForward | None:
    """Remove and return the pending forward of ``token`` if it was stored after ``created_after``."""
    row = session.get(PendingForward, token)
    if row is None:
        return None
    session.delete(row)
    return row if row.created_at > created_after else None


def prune_pending_forwards(session: Session, *, created_before: datetime, keep: int) -> int:
    """Drop pending forwards stored before ``created_before``, then all but the ``keep`` newest;
    returns how many were dropped."""
    dropped = session.execute(delete(PendingForward).where(PendingForward.created_at < created_before)).rowcount
    total = session.scalar(select(func.count()).select_from(PendingForward)) or 0
    if total > keep:
        oldest = select(PendingForward.token).order_by(PendingForward.created_at, PendingForward.token)
        tokens = list(session.scalars(oldest.limit(total - keep)))
        dropped += session.execute(delete(PendingForward).where(PendingForward.token.in_(tokens))).rowcount
    return int(dropped or 0)


def get_pending_channel(session: Session, chat_id: int) -> PendingChannel | None:
    return session.get(PendingChannel, chat_id)


def add_pending_channel(session: Session, row: PendingChannel) -> bool:
    """Store a pending channel; False (and only its title and username updated) when it was
    pending already."""
    known = session.get(PendingChannel, row.chat_id)
    if known is not None:
        known.title, known.username = row.title, row.username or known.username
        return False
    session.add(row)
    session.flush()
    return True


def hold_post(session: Session, row: HeldPost, *, keep: int) -> None:
    """Keep a post of a pending channel (an edit replaces the post), at most ``keep`` per channel:
    the oldest posts go first."""
    session.merge(row)
    session.flush()
    total = session.scalar(select(func.count()).select_from(HeldPost).where(HeldPost.chat_id == row.chat_id)) or 0
    if total > keep:
        oldest = (select(HeldPost.message_id).where(HeldPost.chat_id == row.chat_id)
                  .order_by(HeldPost.message_id).limit(total - keep))
        ids = list(session.scalars(oldest))
        session.execute(delete(HeldPost).where(HeldPost.chat_id == row.chat_id, HeldPost.message_id.in_(ids)))


def take_pending_channel(session: Session, chat_id: int) -> tuple[PendingChannel, list[HeldPost]] | None:
    """Remove and return a pending channel and its held posts (oldest first); None when it is not
    pending (never was, or already approved or rejected)."""
    row = session.get(PendingChannel, chat_id)
    if row is None:
        return None
    posts = list(session.scalars(select(HeldPost).where(HeldPost.chat_id == chat_id).order_by(HeldPost.message_id)))
    session.execute(delete(HeldPost).where(HeldPost.chat_id == chat_id))
    session.delete(row)
    session.flush()
    return row, posts


def get_rejected_channel(session: Session, chat_id: int) -> RejectedChannel | None:
    return session.get(RejectedChannel, chat_id)


def put_rejected_channel(session: Session, row: RejectedChannel) -> None:
    """Remember a rejected channel (a second rejection replaces the first)."""
    session.merge(row)


def list_rejected_channels(session: Session) -> list[RejectedChannel]:
    return list(session.scalars(select(RejectedChannel).order_by(RejectedChannel.rejected_at, RejectedChannel.chat_id)))


def forget_rejected_handle(session: Session, handle: str) -> int:
    """Forget the rejections of the channel with this @username (an admin follows it by name);
    returns how many there were."""
    rows = list(session.scalars(select(RejectedChannel).where(
        func.lower(RejectedChannel.username) == handle.lstrip("@").lower())))
    for row in rows:
        session.delete(row)
    return len(rows)


def delete_rejected_channel(session: Session, chat_id: int) -> RejectedChannel | None:
    """Forget a rejection; returns it, None when the channel was not rejected."""
    row = session.get(RejectedChannel, chat_id)
    if row is not None:
        session.delete(row)
        session.flush()
    return row


def add_admin_questions(session: Session, rows: list[AdminQuestion]) -> None:
    for row in rows:
        session.merge(row)


def take_admin_questions(session: Session, topic: str) -> list[AdminQuestion]:
    """Remove and return every copy of the question ``topic``."""
    rows = list(session.scalars(select(AdminQuestion).where(AdminQuestion.topic == topic)
                                .order_by(AdminQuestion.chat_id, AdminQuestion.message_id)))
    session.execute(delete(AdminQuestion).where(AdminQuestion.topic == topic))
    return rows
