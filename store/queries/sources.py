"""Queries on followed sources (channels, feeds, exports) and the newest post of each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from store.models import Post, Source


def get_source_by_ref(session: Session, ref: str) -> Source | None:
    return session.scalar(select(Source).where(Source.ref == ref))


def get_source(session: Session, key: str) -> Source | None:
    """A source by ref, handle (with or without @) or numeric id."""
    handle = key.removeprefix("@").lower()
    found = session.scalar(select(Source).where((Source.ref == key) | (func.lower(Source.handle) == handle)))
    if found is None and key.isdigit():
        found = session.get(Source, int(key))
    return found


def source_by_id(session: Session, source_id: int) -> Source | None:
    return session.get(Source, source_id)


def list_sources(session: Session, *, active_only: bool = False) -> Sequence[Source]:
    stmt = select(Source).order_by(Source.name)
    if active_only:
        stmt = stmt.where(Source.active.is_(True))
    return session.scalars(stmt).all()


def claim_due_sources(session: Session, transports: Collection[str], now: datetime, until: datetime,
                      limit: int | None = None) -> Sequence[Source]:
    """Claim the active sources of ``transports`` whose next poll is due at ``now`` (never polled
    counts as due), the longest waiting first: their ``next_poll_at`` becomes ``until``.

    The new ``next_poll_at`` is the claim itself: once committed, the source is not due for anyone
    else until ``until`` (the lease), and a claimant that dies before storing its poll leaves the
    source due again then. On PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``, so
    processes claiming at the same moment each get other sources and none waits for another. Each
    claim is also a compare-and-set (still due when written), which is what keeps two claimants
    apart on SQLite, whose driver reads outside the write transaction: a source another process
    claimed meanwhile is skipped. Returns the claimed sources as they are now.
    """
    due = or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now)
    stmt = (
        select(Source.id)
        .where(Source.active.is_(True), Source.transport.in_(list(transports)), due)
        .order_by(Source.next_poll_at.asc().nulls_first(), Source.id)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    claimed: list[int] = []
    for source_id in session.scalars(stmt).all():
        done = session.execute(
            update(Source).where(Source.id == source_id, Source.active.is_(True), due).values(next_poll_at=until)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            claimed.append(source_id)
    if not claimed:
        return []
    return session.scalars(
        select(Source).where(Source.id.in_(claimed)).order_by(Source.id).execution_options(populate_existing=True)
    ).all()


def release_claim(session: Session, ref: str, claim: datetime, due: datetime) -> bool:
    """Give back a claim that was not used (a poll cut short): the source is due at ``due``,
    unless its ``next_poll_at`` changed since the claim (True when released)."""
    done = session.execute(
        update(Source).where(Source.ref == ref, Source.next_poll_at == claim).values(next_poll_at=due)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)


def upsert_source(session: Session, ref: str, name: str, **fields: object) -> Source:
    """The source with ``ref``, created if new; given fields overwrite stored ones when not None."""
    source = get_source_by_ref(session, ref)
    if source is None:
        source = Source(ref=ref, name=name, **{k: v for k, v in fields.items() if v is not None})
        session.add(source)
        session.flush()
        return source
    if name and source.name != name:
        source.name = name
    for key, value in fields.items():
        if value is not None:
            setattr(source, key, value)
    return source


def delete_source(session: Session, source: Source) -> None:
    """Delete a source; its posts and claims go by ON DELETE CASCADE (they are not loaded first)."""
    session.expire(source, ["posts"])
    session.delete(source)
    session.flush()


def stored_texts(session: Session, source_id: int, message_ids: Sequence[int]) -> dict[int, str]:
    """The stored text of each of a source's posts among ``message_ids`` (one query per 500 ids)."""
    wanted = sorted(set(message_ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(Post.message_id, Post.text).where(
            Post.source_id == source_id, Post.message_id.in_(wanted[start:start + 500])))
        found.update({message_id: text for message_id, text in rows})
    return found


def count_posts(session: Session, source_id: int) -> int:
    """How many posts a source has stored."""
    return session.scalar(select(func.count()).select_from(Post).where(Post.source_id == source_id)) or 0


def newest_post_times(session: Session, source_ids: Sequence[int]) -> dict[int, datetime]:
    """The newest post's time of each source that has posts."""
    if not source_ids:
        return {}
    rows = session.execute(
        select(Post.source_id, func.max(Post.posted_at))
        .where(Post.source_id.in_(list(source_ids)))
        .group_by(Post.source_id)
    ).all()
    # func.max keeps the column's type, so the times come back aware (UTC) on every backend.
    return {source_id: when for source_id, when in rows if when is not None}


def latest_post_time(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Post.posted_at)))
