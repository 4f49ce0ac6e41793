"""Leases: at most one process acts in a role (the bot) per database, with a heartbeat.

A lease is one ``instance_leases`` row per role naming its owner (host, pid, a random tag), when
it was taken and its last heartbeat. It is held while the heartbeat is younger than the time to
live; a process that stops beating (killed, frozen, cut off) loses it after that long, and another
may take it over. Taking and taking over are compare-and-set updates, so two processes never both
win. Times are the hosts' clocks (UTC): hosts sharing a database should keep them in sync (NTP);
a skew shorter than the time to live does no harm.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.models import InstanceLease

BOT_ROLE = "bot"
LEASE_TTL = timedelta(seconds=30)
HEARTBEAT_INTERVAL = 10.0  # seconds between two heartbeats: three may be missed before the lease lapses


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds (or last held) a role's lease."""

    owner: str
    host: str
    pid: int
    since: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        """``host web-1, pid 4242, since 2026-12-02 01:40 UTC``."""
        return f"host {self.host}, pid {self.pid}, since {self.since:%Y-%m-%d %H:%M:%S} UTC"


class LeaseHeld(Exception):
    """The role's lease is held by another live process."""

    def __init__(self, holder: LeaseHolder) -> None:
        super().__init__(f"another claimwatch instance ({holder.describe()}) is running on this database")
        self.holder = holder


class _LostRace(Exception):
    pass


def new_owner() -> str:
    """An owner tag unique to this process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder(row: InstanceLease) -> LeaseHolder:
    return LeaseHolder(row.owner, row.host, row.pid, row.since, row.heartbeat_at)


def acquire_lease(session_factory: sessionmaker[Session], owner: str, role: str = BOT_ROLE, *,
                  ttl: timedelta = LEASE_TTL, now: datetime | None = None) -> LeaseHolder:
    """Take the role's lease for ``owner``: when free, lapsed (no heartbeat for ``ttl``) or ours.

    Returns:
        The lease as now held by ``owner``.

    Raises:
        LeaseHeld: another process holds it and its heartbeat is fresh.
    """
    now = now or datetime.now(UTC)
    host, pid = owner.split(":")[0], os.getpid()
    try:
        with session_factory.begin() as session:
            row = session.get(InstanceLease, role, with_for_update=True)
            if row is None:
                session.add(InstanceLease(role=role, owner=owner, host=host, pid=pid, since=now, heartbeat_at=now))
                session.flush()
                return LeaseHolder(owner, host, pid, now, now)
            if row.owner != owner and row.heartbeat_at > now - ttl:
                raise LeaseHeld(_holder(row))
            since = row.since if row.owner == owner else now
            taken = session.execute(
                update(InstanceLease)
                .where(InstanceLease.role == role, InstanceLease.owner == row.owner,
                       InstanceLease.heartbeat_at == row.heartbeat_at)
                .values(owner=owner, host=host, pid=pid, since=since, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # another process took it over a moment ago
                raise _LostRace
            return LeaseHolder(owner, host, pid, since, now)
    except (IntegrityError, _LostRace):  # another process inserted or took the row at the same moment
        current = get_lease(session_factory, role)
        if current is None or current.owner == owner:
            return acquire_lease(session_factory, owner, role, ttl=ttl)
        raise LeaseHeld(current) from None


def get_lease(session_factory: sessionmaker[Session], role: str = BOT_ROLE) -> LeaseHolder | None:
    """The role's lease row, lapsed or not (None when nobody took it or it was released)."""
    with session_factory() as session:
        row = session.get(InstanceLease, role)
        return _holder(row) if row is not None else None


def renew_lease(session_factory: sessionmaker[Session], owner: str, role: str = BOT_ROLE, *,
                now: datetime | None = None) -> bool:
    """The heartbeat: True while ``owner`` still holds the lease, False once another took it over."""
    with session_factory.begin() as session:
        done = session.execute(
            update(InstanceLease).where(InstanceLease.role == role, InstanceLease.owner == owner)
            .values(heartbeat_at=now or datetime.now(UTC)).execution_options(synchronize_session=False)
        )
        return bool(done.rowcount == 1)


def release_lease(session_factory: sessionmaker[Session], owner: str, role: str = BOT_ROLE) -> None:
    """Give the lease up at a clean stop, so a standby takes over at once."""
    with session_factory.begin() as session:
        session.execute(delete(InstanceLease).where(InstanceLease.role == role, InstanceLease.owner == owner))


def holds_lease(session: Session, owner: str, role: str = BOT_ROLE) -> bool:
    """Whether ``owner`` holds the role's lease now (inside the caller's transaction)."""
    return session.scalar(select(InstanceLease.owner).where(InstanceLease.role == role)) == owner
