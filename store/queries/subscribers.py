"""Queries on digest subscribers and on the admins added with /admins."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Admin, Subscriber


def get_subscriber(session: Session, chat_id: int) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.chat_id == chat_id))


def list_subscribers(session: Session, *, active_only: bool = True) -> Sequence[Subscriber]:
    stmt = select(Subscriber).order_by(Subscriber.id)
    if active_only:
        stmt = stmt.where(Subscriber.active.is_(True))
    return session.scalars(stmt).all()


def count_subscribers(session: Session, *, instant_alerts: bool = False) -> int:
    """Active subscribers (only those with instant alerts on, when asked)."""
    stmt = select(func.count()).select_from(Subscriber).where(Subscriber.active.is_(True))
    if instant_alerts:
        stmt = stmt.where(Subscriber.instant_alerts.is_(True))
    return session.scalar(stmt) or 0


def get_admin(session: Session, user_id: int) -> Admin | None:
    return session.get(Admin, user_id)


def add_admin(session: Session, user_id: int, added_by: int | None) -> Admin:
    admin = Admin(user_id=user_id, added_by=added_by)
    session.add(admin)
    return admin


def delete_admin(session: Session, admin: Admin) -> None:
    session.delete(admin)


def list_admin_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Admin.user_id)).all())
