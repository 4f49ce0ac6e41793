"""Queries on posts, claims, incidents and conflicts: storing claims, the blocks linking reads, reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, selectinload

from bot.engine.types import Claim as ClaimValue
from bot.engine.types import (
    ClaimRecord,
    IncidentCandidate,
    Kind,
    Lang,
    Place,
    Qualifier,
    Side,
)
from store.models import Claim, Conflict, Delivery, Incident, Post, Source, Subscriber

# ---------------------------------------------------------------- posts and claims


def get_post(session: Session, source_id: int, message_id: int) -> Post | None:
    return session.scalar(
        select(Post).where(Post.source_id == source_id, Post.message_id == message_id)
        .options(selectinload(Post.claims))
    )


def get_posts(session: Session, source_id: int, message_ids: Iterable[int]) -> dict[int, Post]:
    """The stored posts of a source among ``message_ids``, by message id (one query per 500 ids)."""
    wanted = sorted(set(message_ids))
    found: dict[int, Post] = {}
    for start in range(0, len(wanted), 500):
        rows = session.scalars(
            select(Post).where(Post.source_id == source_id, Post.message_id.in_(wanted[start:start + 500]))
            .options(selectinload(Post.claims)))
        found.update((post.message_id, post) for post in rows)
    return found


def add_claims(session: Session, post: Post, claims: Iterable[ClaimValue]) -> list[Claim]:
    rows = [claim_row(post, i, c) for i, c in enumerate(claims)]
    session.add_all(rows)
    session.flush()
    return rows


def claim_row(post: Post, ordinal: int, c: ClaimValue) -> Claim:
    return Claim(**claim_columns(post.id, ordinal, c))


def claim_columns(post_id: int, ordinal: int, c: ClaimValue) -> dict[str, Any]:
    """The stored columns of an extracted claim (ids aside), as ``insert`` takes them."""
    return {
        "post_id": post_id, "ordinal": ordinal, "kind": c.kind.value, "kind_group": c.kind.group.value,
        "place_key": c.place.key, "place": c.place.name, "oblast": c.place.oblast, "country": c.place.country,
        "lat": c.place.lat, "lon": c.place.lon, "place_level": c.place.level, "date": c.date,
        "killed": c.killed, "injured": c.injured, "children_killed": c.children_killed,
        "qualifier": c.qualifier.value if c.qualifier else None,
        "injured_qualifier": c.injured_qualifier.value if c.injured_qualifier else None,
        "controller": c.controller.value if c.controller else None,
        "perpetrator": c.perpetrator.value if c.perpetrator else None,
        "claimant": c.claimant[:300] if c.claimant else None,
        "claimant_side": c.claimant_side.value if c.claimant_side else None,
        "targets": list(c.targets), "weapons": list(c.weapons), "evidence": c.evidence,
        "lang": c.lang.value if c.lang else None,
    }


def to_record(row: Claim) -> ClaimRecord:
    """A stored claim as the engine's value (post and source must be loaded)."""
    post = row.post
    return ClaimRecord(id=row.id, claim=claim_value(row), source_ref=post.source.ref, source_name=post.source.name,
                       message_id=post.message_id, posted_at=post.posted_at, url=post.url, copy_of=row.copy_of)


def flat_record(row: Any) -> ClaimRecord:
    """``to_record`` of a row that carries the claim's columns beside its post's (message_id,
    posted_at, url) and source's (source_ref, source_name)."""
    return ClaimRecord(id=row.id, claim=claim_value(row), source_ref=row.source_ref, source_name=row.source_name,
                       message_id=row.message_id, posted_at=row.posted_at, url=row.url, copy_of=row.copy_of)


def claim_value(row: Any) -> ClaimValue:
    """The engine's claim of a stored claim's columns."""
    place = Place(name=row.place, oblast=row.oblast, country=row.country, lat=row.lat, lon=row.lon,
                  level=row.place_level, code=row.place_key)
    return ClaimValue(
        kind=Kind(row.kind), place=place, date=row.date, evidence=row.evidence,
        killed=row.killed, injured=row.injured, children_killed=row.children_killed,
        qualifier=Qualifier(row.qualifier) if row.qualifier else None,
        injured_qualifier=Qualifier(row.injured_qualifier) if row.injured_qualifier else None,
        controller=Side(row.controller) if row.controller else None,
        perpetrator=Side(row.perpetrator) if row.perpetrator else None,
        claimant=row.claimant, claimant_side=Side(row.claimant_side) if row.claimant_side else None,
        targets=tuple(row.targets or ()), weapons=tuple(row.weapons or ()),
        lang=Lang(row.lang) if row.lang else None,
    )


def _link_columns(*extra: Any) -> Select[*tuple[Any, ...]]:
    """The columns linking and copy detection read, from claims joined to their posts and sources."""
    return (
        select(Claim.id, Claim.kind, Claim.place_key, Claim.place, Claim.oblast, Claim.country, Claim.place_level,
               Claim.date,
               Claim.evidence, Claim.killed, Claim.injured, Claim.controller, Claim.targets, Claim.copy_of,
               Claim.qualifier, Claim.injured_qualifier, Claim.perpetrator, Claim.claimant, Claim.claimant_side,
               Post.message_id, Post.posted_at, Post.url, Source.ref, Source.name, *extra)
        .join(Post, Post.id == Claim.post_id)
        .join(Source, Source.id == Post.source_id)
    )


def link_record(row: Any) -> ClaimRecord:
    """A row of ``_link_columns`` as a record; claim fields linking does not read keep their defaults."""
    place = Place(name=row.place, oblast=row.oblast, country=row.country, level=row.place_level, code=row.place_key)
    claim = ClaimValue(
        kind=Kind(row.kind), place=place, date=row.date, evidence=row.evidence, killed=row.killed,
        injured=row.injured, controller=Side(row.controller) if row.controller else None,
        targets=tuple(row.targets or ()),
        qualifier=Qualifier(row.qualifier) if row.qualifier else None,
        injured_qualifier=Qualifier(row.injured_qualifier) if row.injured_qualifier else None,
        perpetrator=Side(row.perpetrator) if row.perpetrator else None,
        claimant=row.claimant, claimant_side=Side(row.claimant_side) if row.claimant_side else None,
    )
    return ClaimRecord(id=row.id, claim=claim, source_ref=row.ref, source_name=row.name,
                       message_id=row.message_id, posted_at=row.posted_at, url=row.url, copy_of=row.copy_of)


def _link_candidates_statement() -> Select[*tuple[Any, ...]]:
    """The candidates query of ``list_link_candidates``, built once: building it costs more than running it."""
    day, first, last = bindparam("day", type_=Date()), bindparam("first", type_=Date()), bindparam("last", type_=Date())
    near = func.min(case((Claim.date == day, 0), else_=1))
    held = func.count()
    block = (
        select(Claim.incident_id.label("incident_id"), near.label("near"), held.label("held"))
        .where(Claim.kind_group == bindparam("kind_group"), Claim.place_key == bindparam("place_key"),
               Claim.date >= first, Claim.date <= last, Claim.incident_id.is_not(None))
        .group_by(Claim.incident_id)
        .order_by(near, held.desc(), Claim.incident_id)
        .limit(bindparam("incidents", type_=Integer()))
        .cte("block")
    )
    nearness = case((Claim.date == day, 0), (Claim.date.between(first, last), 1), else_=2)
    ranked = (
        select(Claim.id.label("id"),
               func.row_number().over(partition_by=Claim.incident_id, order_by=(nearness, Claim.id)).label("rn"),
               func.count().over(partition_by=Claim.incident_id).label("total"),
               block.c.near, block.c.held)
        .join(block, Claim.incident_id == block.c.incident_id)
        .cte("ranked")
    )
    return (
        _link_columns(Claim.incident_id, ranked.c.total)
        .join(ranked, ranked.c.id == Claim.id)
        .where(ranked.c.rn <= bindparam("per_incident", type_=Integer()))
        .order_by(ranked.c.near, ranked.c.held.desc(), Claim.incident_id, Claim.id)
    )


_LINK_CANDIDATES = _link_candidates_statement()


def list_link_candidates(session: Session, kind_group: str, place_key: str, day: date, first: date, last: date,
                         *, incidents: int, per_incident: int) -> list[tuple[IncidentCandidate, int]]:
    """The incidents of one block with their claims most relevant to a claim of ``day``, in one query.

    The block is the claims of ``kind_group`` at ``place_key`` dated in [first, last]. Its
    incidents rank by nearness (one with a claim dated ``day`` first), then by how many of their
    claims the block holds, then by id; the first ``incidents`` are kept. Each keeps its
    ``per_incident`` claims nearest to ``day`` (dated ``day``, then elsewhere in the block, then
    the rest; the oldest first within each), so the work stays bounded however dense the block or
    large the incident.

    Args:
        session: the open session (pending changes are flushed first, as with any query).
        kind_group, place_key, day, first, last: the block and the day it is centred on.
        incidents: how many candidate incidents to keep at most.
        per_incident: how many claims to load per incident at most.

    Returns:
        (candidate, claims the incident holds in all) in rank order; the candidate's records are
        in id order and carry what linking and copy detection read (kind, place, date, evidence,
        targets, killed, injured, controller, copy_of, post and source); other claim fields keep
        their defaults.
    """
    params = {"kind_group": kind_group, "place_key": place_key, "day": day, "first": first, "last": last,
              "incidents": incidents, "per_incident": per_incident}
    records: dict[int, list[ClaimRecord]] = {}
    totals: dict[int, int] = {}
    for row in session.execute(_LINK_CANDIDATES, params):
        records.setdefault(row.incident_id, []).append(link_record(row))
        totals[row.incident_id] = row.total
    return [(IncidentCandidate(i, tuple(rs)), totals[i]) for i, rs in records.items()]


def list_block_claims(session: Session, kind_groups: Sequence[str], place_keys: Sequence[str], day: date,
                      first: date, last: date, *, limit: int) -> tuple[list[tuple[ClaimRecord, int | None]], bool]:
    """The claims of one block dated in [first, last], the nearest to ``day`` first, with their incidents.

    For each kind group and place key, at most ``limit // 2`` claims on or before ``day`` (the
    latest first) and as many after it (the earliest first) are loaded, each by one index range
    that stops at its limit, so the work stays bounded however dense the block.

    Returns:
        (record, incident id) pairs, and whether the block held more claims than were loaded.
    """
    half = max(limit // 2, 1)
    shape: list[bool] = []  # per range: True for the days on or before ``day``
    params: dict[str, object] = {"half": half}
    for group in kind_groups:
        for key in dict.fromkeys(place_keys):
            for before in (True, False):
                if before and first > day or not before and last <= day:
                    continue
                n = len(shape)
                shape.append(before)
                params.update({f"g{n}": group, f"k{n}": key,
                               f"lo{n}": first if before else max(day, first - timedelta(days=1)),
                               f"hi{n}": min(day, last) if before else last})
    if not shape:
        return [], False
    rows = session.execute(_block_claims_statement(tuple(shape)), params).all()
    counts = Counter(row.part for row in rows)
    return [(link_record(row), row.incident_id) for row in rows], any(n >= half for n in counts.values())


@lru_cache(maxsize=64)
def _block_claims_statement(shape: tuple[bool, ...]) -> Any:
    """The ranges of ``list_block_claims`` as one statement (one round trip; each range keeps its
    own order and limit inside the union), built once per shape: building it costs more than
    running it."""
    parts = []
    for n, before in enumerate(shape):
        lo, hi = bindparam(f"lo{n}", type_=Date()), bindparam(f"hi{n}", type_=Date())
        stmt = (_link_columns(Claim.incident_id, literal(n, Integer()).label("part"))
                .where(Claim.kind_group == bindparam(f"g{n}"), Claim.place_key == bindparam(f"k{n}")))
        if before:
            stmt = stmt.where(Claim.date <= hi, Claim.date >= lo).order_by(Claim.date.desc(), Claim.id.desc())
        else:
            stmt = stmt.where(Claim.date > lo, Claim.date <= hi).order_by(Claim.date, Claim.id)
        parts.append(stmt.limit(bindparam("half", type_=Integer())).subquery())
    return union_all(*(select(sub) for sub in parts))


def list_copy_candidates(session: Session, incident_id: int, record: ClaimRecord, *, limit: int) -> list[ClaimRecord]:
    """Claims of an incident that ``record`` could repeat: same killed, injured and controller, another source.

    These are the only claims ``find_copy`` can match, so it gives the same answer on them as on all
    the incident's claims (when they are fewer than ``limit``; the oldest come first).
    """
    claim = record.claim
    stmt = (
        _link_columns()
        .where(Claim.incident_id == incident_id, Claim.id != record.id, Source.ref != record.source_ref,
               Claim.killed.is_not_distinct_from(claim.killed), Claim.injured.is_not_distinct_from(claim.injured),
               Claim.controller.is_not_distinct_from(claim.controller.value if claim.controller else None))
        .order_by(Claim.id)
        .limit(limit)
    )
    return [link_record(row) for row in session.execute(stmt)]


def move_claims(session: Session, claim_ids: Sequence[int], incident_id: int, copy_of: int | None) -> None:
    """Put claims in an incident (with the claim each repeats, or None), in one statement."""
    session.execute(update(Claim).where(Claim.id.in_(list(claim_ids))).values(incident_id=incident_id,
                                                                              copy_of=copy_of))


def list_post_incident_ids(session: Session, source_ref: str, message_id: int) -> list[int]:
    """The incidents one post's claims are linked into, in the order of its claims."""
    rows = session.scalars(
        select(Claim.incident_id).join(Post, Post.id == Claim.post_id).join(Source, Source.id == Post.source_id)
        .where(Source.ref == source_ref, Post.message_id == message_id, Claim.incident_id.is_not(None))
        .order_by(Claim.id)
    ).all()
    return [i for i in dict.fromkeys(rows) if i is not None]


def list_incident_claims(session: Session, incident_ids: Sequence[int]) -> dict[int, list[Claim]]:
    if not incident_ids:
        return {}
    rows = session.scalars(
        select(Claim).where(Claim.incident_id.in_(incident_ids))
        .options(selectinload(Claim.post).selectinload(Post.source))
        .order_by(Claim.id)
    ).all()
    out: dict[int, list[Claim]] = {i: [] for i in incident_ids}
    for row in rows:
        out.setdefault(row.incident_id or 0, []).append(row)
    return out


def list_incidents(session: Session, *, since: date | None = None, until: date | None = None,
                   place: str | None = None, oblasts: Sequence[str] | None = None,
                   limit: int | None = None, posted_in: tzinfo | None = None) -> Sequence[Incident]:
    """Incidents with their claims (posts and sources loaded) and conflicts, oldest first.

    Args:
        since, until: the incidents' days (the day each incident happened), inclusive.
        posted_in: a time zone: then an incident also counts when a post about it was published
            between ``since`` and ``until`` in that zone (a toll that rose days after the strike).
    """
    stmt = (
        select(Incident)
        .options(selectinload(Incident.claims).selectinload(Claim.post).selectinload(Post.source),
                 selectinload(Incident.conflicts))
        .order_by(Incident.date, Incident.place, Incident.id)
    )
    dated = [c for c in (Incident.date >= since if since is not None else None,
                         Incident.date <= until if until is not None else None) if c is not None]
    if dated and posted_in is not None:
        window = [c for c in (
            Post.posted_at >= datetime.combine(since, time(), posted_in) if since is not None else None,
            Post.posted_at < datetime.combine(until + timedelta(days=1), time(), posted_in)
            if until is not None else None) if c is not None]
        posted = select(Claim.incident_id).join(Post, Claim.post_id == Post.id).where(*window)
        stmt = stmt.where(or_(and_(*dated), Incident.id.in_(posted)))
    elif dated:
        stmt = stmt.where(*dated)
    if place:
        stmt = stmt.where(func.lower(Incident.place) == place.lower())
    if oblasts:
        stmt = stmt.where(Incident.oblast.in_(list(oblasts)))
    if limit is not None:
        stmt = stmt.order_by(None).order_by(Incident.date.desc(), Incident.id.desc()).limit(limit)
    return session.scalars(stmt).all()


def delete_empty_incidents(session: Session, incident_ids: Iterable[int]) -> int:
    ids = list(incident_ids)
    if not ids:
        return 0
    used = set(session.scalars(select(Claim.incident_id).where(Claim.incident_id.in_(ids))).all())
    empty = [i for i in ids if i not in used]
    if empty:
        session.execute(delete(Incident).where(Incident.id.in_(empty)))
    return len(empty)


def replace_conflicts(session: Session, incident: Incident, conflicts: Iterable[Conflict]) -> None:
    session.execute(delete(Conflict).where(Conflict.incident_id == incident.id))
    for conflict in conflicts:
        conflict.incident_id = incident.id
        session.add(conflict)


def count_rows(session: Session) -> dict[str, int]:
    return {
        name: session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in (("sources", Source), ("posts", Post), ("claims", Claim), ("incidents", Incident),
                            ("conflicts", Conflict), ("subscribers", Subscriber), ("deliveries", Delivery))
    }


