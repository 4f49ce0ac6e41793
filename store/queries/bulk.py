"""Bulk statements of the batched ingest path: posts and claims stored many rows per statement
(SQLAlchemy's insertmanyvalues, with RETURNING ids in the rows' order on SQLite and PostgreSQL),
the links and incidents written once per chunk, and the block ranges linking reads, many per
round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    bindparam,
    column,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from bot.engine.types import ClaimRecord
from store.models import Claim, Conflict, Incident, Post, Source
from store.queries.claims import _link_columns, link_record

# statements per round trip: SQLite allows 500 terms in one compound SELECT
RANGES_PER_STATEMENT = 200
IDS_PER_STATEMENT = 500


@dataclass(frozen=True, slots=True)
class StoredPost:
    """What the ingest path needs of a post already stored: its id and the fields an edit changes."""

    id: int
    text: str
    posted_at: datetime
    edited_at: datetime | None
    url: str | None


@dataclass(frozen=True, slots=True)
class BlockRange:
    """Claims of one kind group at one place key dated in [lo, hi] (``lo`` excluded when not
    ``descending``), the latest first when ``descending``, else the earliest first."""

    kind_group: str
    place_key: str
    lo: date
    hi: date
    descending: bool


def stored_posts(session: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StoredPost]:
    """The stored posts among (source id, message id) keys, by key (one query per source and 500
    keys: ``source_id = ? AND message_id IN (...)`` walks the unique index on both databases, where
    SQLite scans the table for a list of pairs)."""
    by_source: dict[int, list[int]] = {}
    for source_id, message_id in sorted(set(keys)):
        by_source.setdefault(source_id, []).append(message_id)
    found: dict[tuple[int, int], StoredPost] = {}
    for source_id, ids in by_source.items():
        for start in range(0, len(ids), IDS_PER_STATEMENT):
            rows = session.execute(
                select(Post.id, Post.source_id, Post.message_id, Post.text, Post.posted_at, Post.edited_at, Post.url)
                .where(Post.source_id == source_id, Post.message_id.in_(ids[start:start + IDS_PER_STATEMENT])))
            found.update(((r.source_id, r.message_id), StoredPost(r.id, r.text, r.posted_at, r.edited_at, r.url))
                         for r in rows)
    return found


def claims_of_posts(session: Session, post_ids: Sequence[int]) -> list[tuple[int, ClaimRecord, int | None]]:
    """The claims of some posts as linking reads them: (post id, record, incident id), in id order."""
    out: list[tuple[int, ClaimRecord, int | None]] = []
    for start in range(0, len(post_ids), IDS_PER_STATEMENT):
        stmt = (_link_columns(Claim.incident_id, Claim.post_id)
                .where(Claim.post_id.in_(list(post_ids[start:start + IDS_PER_STATEMENT]))).order_by(Claim.id))
        out.extend((row.post_id, link_record(row), row.incident_id) for row in session.execute(stmt))
    return out


def insert_returning_ids(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows of ``model`` in few statements; their new ids, in the rows' order."""
    if not rows:
        return []
    table = model.__table__  # Core: the ORM's bulk insert costs several times more per row
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, list(rows)))


def update_by_id(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Update rows of ``model`` by primary key (each dict has ``id``), executemany."""
    if rows:
        session.execute(update(model), list(rows))


def delete_claims(session: Session, claim_ids: Sequence[int]) -> None:
    for start in range(0, len(claim_ids), IDS_PER_STATEMENT):
        session.execute(delete(Claim).where(Claim.id.in_(list(claim_ids[start:start + IDS_PER_STATEMENT]))),
                        execution_options={"synchronize_session": False})


def set_claim_links(session: Session, links: Mapping[int, tuple[int | None, int | None]]) -> None:
    """Claim id -> (incident id, copy_of), executemany by primary key."""
    update_by_id(session, Claim, [{"id": i, "incident_id": inc, "copy_of": copy} for i, (inc, copy) in
                                  sorted(links.items())])


def read_block_ranges(session: Session, ranges: Sequence[BlockRange],
                      limits: Sequence[int]) -> list[list[tuple[ClaimRecord, int | None]]]:
    """Up to ``limits[i]`` claims of ``ranges[i]``, as (record, incident id) in the range's order; many
    ranges per round trip, each keeping its own order and limit inside a UNION ALL."""
    out: list[list[tuple[ClaimRecord, int | None]]] = [[] for _ in ranges]
    seen: dict[int, ClaimRecord] = {}  # a claim several ranges hold is built once
    for start in range(0, len(ranges), RANGES_PER_STATEMENT):
        part = list(ranges[start:start + RANGES_PER_STATEMENT])
        params: dict[str, object] = {}
        size = 1 << (len(part) - 1).bit_length()  # a few statement shapes, each written once
        padded = part + [BlockRange("", "", date.min, date.min, True)] * (size - len(part))
        for n, r in enumerate(padded):
            params.update({f"g{n}": r.kind_group, f"k{n}": r.place_key, f"lo{n}": r.lo, f"hi{n}": r.hi,
                           f"n{n}": limits[start + n] if n < len(part) else 0})
        for row in session.execute(_ranges_statement(tuple(r.descending for r in padded)), params):
            record = seen.get(row.id)
            if record is None:
                record = seen[row.id] = link_record(row)
            out[start + row.part].append((record, row.incident_id))
    return out


_RANGE_COLUMNS = ("claims.id, claims.kind, claims.place_key, claims.place, claims.oblast, claims.country, "
                  "claims.place_level, claims.date, claims.evidence, claims.killed, claims.injured, claims.controller, "
                  "claims.targets, claims.copy_of, claims.qualifier, claims.injured_qualifier, claims.perpetrator, "
                  "claims.claimant, claims.claimant_side, posts.message_id, posts.posted_at, posts.url, sources.ref, "
                  "sources.name, claims.incident_id")


@lru_cache(maxsize=256)
def _ranges_statement(shape: tuple[bool, ...]) -> Any:
    """The ranges as one UNION ALL, written out: composing it as a SQLAlchemy select costs some
    15 ms per range to compile, more than running it."""
    parts = []
    for n, descending in enumerate(shape):
        dates = (f"claims.date >= :lo{n} AND claims.date <= :hi{n} ORDER BY claims.date DESC, claims.id DESC"
                 if descending else f"claims.date > :lo{n} AND claims.date <= :hi{n} ORDER BY claims.date, claims.id")
        parts.append(f"SELECT * FROM (SELECT {_RANGE_COLUMNS}, {n} AS part FROM claims "
                     "JOIN posts ON posts.id = claims.post_id JOIN sources ON sources.id = posts.source_id "
                     f"WHERE claims.kind_group = :g{n} AND claims.place_key = :k{n} AND {dates} LIMIT :n{n}) AS r{n}")
    claim, post, source = Claim.__table__.c, Post.__table__.c, Source.__table__.c
    return (text(" UNION ALL ".join(parts))
            .bindparams(*(bindparam(f"{name}{n}", type_=Date()) for n in range(len(shape)) for name in ("lo", "hi")))
            .columns(claim.id, claim.kind, claim.place_key, claim.place, claim.oblast, claim.country,
                     claim.place_level, claim.date, claim.evidence, claim.killed, claim.injured, claim.controller,
                     claim.targets, claim.copy_of, claim.qualifier, claim.injured_qualifier, claim.perpetrator,
                     claim.claimant, claim.claimant_side, post.message_id, post.posted_at, post.url, source.ref,
                     source.name, claim.incident_id, column("part", Integer())))


# ---------------------------------------------------------------- incident refresh


def incident_claim_rows(session: Session, incident_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Every claim of the incidents with its post and source fields (rows for ``claims.to_record``),
    by incident, in claim id order; one query per 500 incidents."""
    out: dict[int, list[Any]] = {}
    for start in range(0, len(incident_ids), IDS_PER_STATEMENT):
        stmt = (select(*Claim.__table__.c, Post.message_id, Post.posted_at, Post.url,
                       Source.ref.label("source_ref"), Source.name.label("source_name"))
                .join(Post, Post.id == Claim.post_id).join(Source, Source.id == Post.source_id)
                .where(Claim.incident_id.in_(list(incident_ids[start:start + IDS_PER_STATEMENT])))
                .order_by(Claim.id))
        for row in session.execute(stmt):
            out.setdefault(row.incident_id, []).append(row)
    return out


def replace_conflicts_of(session: Session, incident_ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete the conflicts of the incidents and insert ``rows`` (dicts with incident_id) in one statement."""
    for start in range(0, len(incident_ids), IDS_PER_STATEMENT):
        session.execute(delete(Conflict).where(Conflict.incident_id.in_(list(incident_ids[start:start + IDS_PER_STATEMENT]))),
                        execution_options={"synchronize_session": False})
    if rows:
        session.execute(insert(Conflict), list(rows))


def update_incidents(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    update_by_id(session, Incident, rows)
