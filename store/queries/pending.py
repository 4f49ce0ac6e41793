"""Queries on forwarded posts waiting for an admin to confirm following their channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from store.models import PendingForward


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
