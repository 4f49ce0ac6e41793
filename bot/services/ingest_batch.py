"""One batch of one source's posts stored and linked inside the caller's transaction, in a fixed
number of statements: one query for the posts already stored, extraction of the rest through
``Extractor.extract_many`` (``nlp.pipe``), the posts and claims inserted many rows per statement,
one read of the blocks the claims fall in, linking in memory (``linking_memory``), then the new
incidents and the links written once.

The incidents are those of linking the posts one by one in order (each claim's block read at its
turn): ``linking_memory`` answers each read as the database would have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from bot.engine.extract import Extractor
from bot.engine.linking import BLOCK_CLAIMS, block_keys, is_follow_up_text, link_key
from bot.engine.types import Claim as ClaimValue
from bot.engine.types import ClaimRecord, ImportStats, PostIn, Side, SourceInfo
from bot.services.linking_memory import (
    BlockMemory,
    NewIncidents,
    block_ranges,
    link_claim,
    real_ids,
)
from store import queries
from store.locks import lock_block
from store.models import Claim, Incident, Post, Source
from store.queries import bulk

WHOLE_BLOCK = 400  # a block holding at most this many claims over the chunk's days is read whole


def source_info(source: Source) -> SourceInfo:
    side = Side(source.side) if source.side in {s.value for s in Side} else None
    return SourceInfo(ref=source.ref, name=source.name, role=source.role, side=side, home_oblast=source.home_oblast)


def _utc(moment: datetime) -> datetime:
    """A time as the database gives it back: aware, in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Part:
    """Posts of one source in a batch, with the claims already read of some of them (by position;
    None where not read yet)."""

    source: Source
    posts: Sequence[PostIn]
    extracted: Sequence[list[ClaimValue] | None] | None = None


@dataclass(slots=True)
class _Entry:
    source: Source
    post: PostIn
    stored: bulk.StoredPost | None
    claims: list[ClaimValue] | None
    post_id: int = 0


def ingest_batch(session: Session, parts: Sequence[Part], extractor: Extractor, stats: ImportStats,
                 progress: Callable[[int], None] | None = None) -> set[int]:
    """``ingest.ingest_posts`` of the parts in order, as one batch (each part's message ids distinct);
    returns the incidents touched."""
    wanted = [(part.source.id, p.message_id) for part in parts for p in part.posts]
    stored = bulk.stored_posts(session, wanted)
    entries: list[_Entry] = []
    for part in parts:
        for i, post in enumerate(part.posts):
            known = stored.get((part.source.id, post.message_id))
            if known is not None and known.text == post.text:
                continue
            entries.append(_Entry(part.source, post, known, part.extracted[i] if part.extracted is not None else None))
    _read_missing(entries, extractor)
    stats.unchanged += len(wanted) - len(entries)
    if progress and len(wanted) > len(entries):
        progress(len(wanted) - len(entries))
    if not entries:
        return set()

    edited = [e for e in entries if e.stored is not None]
    old = bulk.claims_of_posts(session, [e.stored.id for e in edited if e.stored]) if edited else []
    if edited:
        bulk.update_by_id(session, Post, [
            {"id": e.stored.id, "text": e.post.text, "edited_at": e.post.edited_at or e.stored.edited_at,
             "url": e.post.url or e.stored.url, "lang": _lang(e.claims)} for e in edited if e.stored])
    new = [e for e in entries if e.stored is None]
    ids = bulk.insert_returning_ids(session, Post, [
        {"source_id": e.source.id, "message_id": e.post.message_id, "posted_at": e.post.posted_at,
         "edited_at": e.post.edited_at, "text": e.post.text, "url": e.post.url,
         "forwarded_from": e.post.forwarded_from, "lang": _lang(e.claims)} for e in new])
    for e, post_id in zip(new, ids):
        e.post_id = post_id
    for e in edited:
        e.post_id = e.stored.id if e.stored else 0

    owners = [e for e in entries for _ in e.claims or ()]
    columns = [queries.claim_columns(e.post_id, n, c) for e in entries for n, c in enumerate(e.claims or ())]
    rows = [_row(cols, claim_id, e) for cols, claim_id, e in
            zip(columns, bulk.insert_returning_ids(session, Claim, columns), owners)]
    memory = _read_blocks(session, rows, old, extractor)
    if edited:  # only now: SQLite gives a new row the highest id + 1, so deleting first could hand the
        # new claims the ids of the old ones while both are still in play here
        bulk.delete_claims(session, [record.id for _, record, _ in old])

    incidents = NewIncidents()
    moved: set[int] = set()
    touched: set[int] = set()
    old_by_post: dict[int, list[int]] = {}
    for post_id, record, _ in old:
        old_by_post.setdefault(post_id, []).append(record.id)
    by_post: dict[int, list[SimpleNamespace]] = {}
    for row in rows:
        by_post.setdefault(row.post_id, []).append(row)
    gazetteer = getattr(extractor, "gazetteer", None)
    for e in entries:
        if e.stored is not None:
            for claim_id in old_by_post.get(e.post_id, ()):
                incident = memory.incident.get(claim_id)
                if incident is not None:
                    touched.add(incident)
                memory.remove(claim_id)
                moved.discard(claim_id)
            stats.updated += 1
        else:
            stats.new += 1
        mine = by_post.get(e.post_id, [])
        for row in mine:
            memory.add(queries.link_record(row), None, row.kind_group, row.place_key)
        follow_up = is_follow_up_text(e.post.text)
        for row in mine:
            row.copy_of = memory.records[row.id].copy_of if row.id in memory.records else None
            touched |= link_claim(memory, queries.flat_record(row), follow_up, gazetteer, incidents, moved)
        stats.claims += len(mine)
        if e.post.message_id > (e.source.last_message_id or 0):
            e.source.last_message_id = e.post.message_id
        if progress:
            progress(1)

    inserted = bulk.insert_returning_ids(session, Incident, incidents.rows)
    links = {}
    for claim_id in moved:
        incident, = real_ids([memory.incident[claim_id]], inserted)
        links[claim_id] = (incident, memory.records[claim_id].copy_of)
    bulk.set_claim_links(session, links)
    return {i for i in real_ids(touched, inserted) if i is not None}


def _read_missing(entries: Sequence[_Entry], extractor: Extractor) -> None:
    """The claims of the entries not read yet, read as one batch (``nlp.pipe``)."""
    missing = [e for e in entries if e.claims is None]
    infos: dict[int, SourceInfo] = {}
    items = []
    for e in missing:
        info = infos.get(id(e.source))
        if info is None:
            info = infos[id(e.source)] = source_info(e.source)
        items.append((e.post.text, e.post.posted_at, info, None))
    for e, claims in zip(missing, extractor.extract_many(items)):
        e.claims = claims


def _lang(claims: Sequence[ClaimValue] | None) -> str | None:
    return claims[0].lang.value if claims and claims[0].lang else None


def _row(columns: dict[str, Any], claim_id: int, entry: _Entry) -> SimpleNamespace:
    """A stored claim as a row of the columns ``link_record`` and ``flat_record`` read."""
    post, stored, source = entry.post, entry.stored, entry.source
    url = (post.url or stored.url) if stored is not None else post.url
    posted_at = stored.posted_at if stored is not None else post.posted_at
    return SimpleNamespace(**columns, id=claim_id, copy_of=None, message_id=post.message_id,
                           posted_at=_utc(posted_at), url=url, source_ref=source.ref, source_name=source.name,
                           ref=source.ref, name=source.name)


def _read_blocks(session: Session, rows: Sequence[SimpleNamespace], old: Sequence[tuple[int, ClaimRecord, int | None]],
                 extractor: Extractor) -> BlockMemory:
    """The blocks of the batch's claims as they were before it, in one read (after locking them)."""
    gazetteer = getattr(extractor, "gazetteer", None)
    memory = BlockMemory()
    ranges: dict[bulk.BlockRange, None] = {}
    locks: set[tuple[str, str]] = set()
    for row in rows:
        record = queries.flat_record(row)
        key, _ = block_keys(record.claim.place, gazetteer)
        locks.add(("+".join(link_key(record.claim.kind.group)), key))
        ranges.update(dict.fromkeys(block_ranges(record, gazetteer)))
    for kind_group, key in sorted(locks):  # in one order, so two writers never wait on each other in a cycle
        lock_block(session, kind_group, key)
    for _, record, incident in old:  # an edited post's old claims stay readable until its turn (the
        # ranges hold them too, but cut at their limits)
        memory.add(record, incident, record.claim.kind.group.value, record.claim.place.key)
    mine = {row.id for row in rows}
    per_block: dict[tuple[str, str], int] = {}
    for row in rows:
        per_block[(row.kind_group, row.place_key)] = per_block.get((row.kind_group, row.place_key), 0) + 1
    # first each block whole over the days any range of it covers, when it holds few claims there;
    # the ranges of the larger blocks then, each cut at what linking reads of it
    spans: dict[tuple[str, str], tuple[date, date]] = {}
    for r in ranges:
        lo, hi = spans.get((r.kind_group, r.place_key), (r.lo, r.hi))
        spans[(r.kind_group, r.place_key)] = (min(lo, r.lo), max(hi, r.hi))
    whole = [bulk.BlockRange(g, k, lo, hi, True) for (g, k), (lo, hi) in spans.items()]
    found = bulk.read_block_ranges(session, whole, [WHOLE_BLOCK + 1] * len(whole))
    large = {(r.kind_group, r.place_key) for r, claims in zip(whole, found) if len(claims) > WHOLE_BLOCK}
    wanted = [r for r in ranges if (r.kind_group, r.place_key) in large]
    half = max(BLOCK_CLAIMS // 2, 1)
    found = [claims for r, claims in zip(whole, found) if (r.kind_group, r.place_key) not in large]
    found += bulk.read_block_ranges(session, wanted, [half + per_block.get((r.kind_group, r.place_key), 0)
                                                      for r in wanted])
    for block_range, claims in zip([r for r in whole if (r.kind_group, r.place_key) not in large] + wanted, found):
        for record, incident in claims:
            if record.id not in mine:
                memory.add(record, incident, block_range.kind_group, block_range.place_key)
    return memory
