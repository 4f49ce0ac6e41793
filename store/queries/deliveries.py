"""Queries on the delivery log that makes each digest and alert reach a subscriber exactly once, and
on the tolls that alerts (and their updates) told subscribers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store.models import AlertToll, Delivery, DeliveryStatus, Subscriber


def get_delivery(session: Session, subscriber_id: int, key: str) -> Delivery | None:
    return session.scalar(select(Delivery).where(Delivery.subscriber_id == subscriber_id, Delivery.key == key))


def add_delivery(session: Session, subscriber_id: int, key: str, now: datetime) -> Delivery:
    """A new row in ``sending`` (flushed, so a second one with the same key fails here)."""
    row = Delivery(subscriber_id=subscriber_id, key=key, status=DeliveryStatus.SENDING, attempts=0,
                   message_ids=[], created_at=now)
    session.add(row)
    session.flush()
    return row


def claim_delivery(session: Session, row: Delivery, now: datetime, **values: Any) -> bool:
    """Compare-and-set: take ``row`` over as ``sending`` only if nobody changed its status or
    claim time since it was read; ``values`` are written with it. False when another won."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == row.id, Delivery.status == row.status, Delivery.created_at == row.created_at)
        .values(status=DeliveryStatus.SENDING, created_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def list_deliveries_by_status(session: Session, status: DeliveryStatus, *, created_before: datetime | None = None,
                              active_only: bool = False) -> list[tuple[Delivery, int]]:
    """Deliveries in ``status`` with their subscriber's chat id (claimed before ``created_before``,
    of active subscribers only, when asked)."""
    stmt = (select(Delivery, Subscriber.chat_id).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.status == status))
    if created_before is not None:
        stmt = stmt.where(Delivery.created_at <= created_before)
    if active_only:
        stmt = stmt.where(Subscriber.active.is_(True))
    return [(delivery, chat_id) for delivery, chat_id in session.execute(stmt).all()]


def existing_keys(session: Session, keys: Iterable[str]) -> set[tuple[int, str]]:
    """(subscriber id, key) of the deliveries that exist for any of ``keys``."""
    wanted = set(keys)
    if not wanted:
        return set()
    rows = session.execute(select(Delivery.subscriber_id, Delivery.key).where(Delivery.key.in_(wanted)))
    return {(subscriber_id, key) for subscriber_id, key in rows}


def count_by_status(session: Session, key: str | None = None) -> dict[str, int]:
    """Deliveries (of one key, or all) by status."""
    stmt = select(Delivery.status, func.count()).group_by(Delivery.status)
    if key is not None:
        stmt = stmt.where(Delivery.key == key)
    return {status: int(n) for status, n in session.execute(stmt).all()}


def get_alert_toll(session: Session, key: str) -> AlertToll | None:
    return session.get(AlertToll, key)


def add_alert_toll(session: Session, key: str, killed: int | None, injured: int | None) -> bool:
    """Remember the toll an incident's alert told; False when it was known already."""
    if session.get(AlertToll, key) is not None:
        return False
    session.add(AlertToll(key=key, killed=killed, injured=injured, updates=0, updated_at=None))
    session.flush()
    return True


def claim_alert_update(session: Session, row: AlertToll, *, killed: int | None, injured: int | None,
                       now: datetime) -> int | None:
    """Compare-and-set: record that update number ``row.updates + 1`` tells this toll, only if no
    other process recorded one since ``row`` was read; returns the update's number, or None."""
    done = session.execute(
        update(AlertToll).where(AlertToll.key == row.key, AlertToll.updates == row.updates)
        .values(killed=killed, injured=injured, previous_killed=row.killed, previous_injured=row.injured,
                updates=row.updates + 1, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    return row.updates + 1 if done == 1 else None
