"""Ingestion: posts of any source stored idempotently, their claims extracted and linked into
incidents, the touched incidents' figures and conflicts refreshed.

Exports (``import_export``), polls, a new source's backfill and Telegram channel posts or forwards
(``ingest_telegram_post``) all come through here, so a post is ingested the same way whatever
carried it. Each public function that takes a session factory owns one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.extract import Extractor
from bot.engine.gazetteer import Gazetteer
from bot.engine.text import read_tsv_records
from bot.engine.linking import (
    BLOCK_CLAIMS,
    assign_incidents,
    block_dates,
    cluster_block,
    at_centre,
    event_day,
    find_copies,
    is_follow_up_text,
    link_key,
    near_dates,
    needs_far,
    block_keys,
)
from bot.engine.types import (
    ConflictFinding,
    ImportStats,
    KindGroup,
    PostIn,
    Side,
    SourceInfo,
)
from bot.exports import ChannelExport, ExportError, read_export
from config.settings import Settings
from store import queries
from store.db import retry_on_disconnect
from store.locks import ingest_lock, lock_block
from store.models import Claim, Conflict, Incident, Post, Source, Transport

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


def load_extractor(settings: Settings) -> Extractor:
    """The extraction engine, its gazetteer index cached in ``settings.cache_dir`` (a second or two;
    the first run builds the index)."""
    return Extractor.load(Gazetteer.load(settings.cache_dir))


def source_info(source: Source) -> SourceInfo:
    side = Side(source.side) if source.side in {s.value for s in Side} else None
    return SourceInfo(ref=source.ref, name=source.name, role=source.role, side=side, home_oblast=source.home_oblast)


# ---------------------------------------------------------------- ingestion


def ingest_posts(session: Session, source: Source, posts: Iterable[PostIn], extractor: Extractor,
                 stats: ImportStats, progress: Progress | None = None) -> set[int]:
    """Store posts of one source idempotently, extract and link their claims.

    A post already stored with the same text changes nothing; an edited post replaces its text
    and claims. Returns the incidents touched (refresh them before the transaction ends).
    """
    info = source_info(source)
    touched: set[int] = set()
    posts = list(posts)
    stored = queries.get_posts(session, source.id, (p.message_id for p in posts))
    # the posts to read, read as one batch (nlp.pipe); a post repeated in ``posts`` is read again below
    fresh = [i for i, p in enumerate(posts) if p.message_id not in stored or stored[p.message_id].text != p.text]
    extracted = dict(zip(fresh, extractor.extract_many([(posts[i].text, posts[i].posted_at, info, None)
                                                        for i in fresh])))
    for index, post_in in enumerate(posts):
        post = stored.get(post_in.message_id)
        if post is not None and post.text == post_in.text:
            stats.unchanged += 1
            if progress:
                progress(1)
            continue
        if post is None:
            post = Post(source_id=source.id, message_id=post_in.message_id, posted_at=post_in.posted_at,
                        edited_at=post_in.edited_at, text=post_in.text, url=post_in.url,
                        forwarded_from=post_in.forwarded_from)
            session.add(post)
            session.flush()
            stored[post_in.message_id] = post
            stats.new += 1
        else:
            touched |= {c.incident_id for c in post.claims if c.incident_id is not None}
            post.claims.clear()
            session.flush()
            post.text = post_in.text
            post.edited_at = post_in.edited_at or post.edited_at
            post.url = post_in.url or post.url
            stats.updated += 1
        claims = extracted.pop(index, None)
        if claims is None:
            claims = extractor.extract_claims(post_in.text, posted_at=post_in.posted_at, source=info)
        post.lang = claims[0].lang.value if claims and claims[0].lang else None
        rows = queries.add_claims(session, post, claims)
        stats.claims += len(rows)
        for row in rows:
            touched |= _link(session, row, getattr(extractor, "gazetteer", None))
        if progress:
            progress(1)
        if post_in.message_id > (source.last_message_id or 0):
            source.last_message_id = post_in.message_id
    return touched


def _link(session: Session, row: Claim, gazetteer: Gazetteer | None = None) -> set[int]:
    """Re-cluster the block of one new claim (its place and kind, the days around its event) and
    move the claims whose incident changed; returns the incidents touched.

    The block is clustered whole, so the incidents do not depend on the order posts arrived in;
    what changes is the new claim's cluster and the clusters that share an incident with it (a
    merge or a split around the new claim). When the block holds more claims than
    ``BLOCK_CLAIMS`` around the day, only the new claim is placed (in the incident its cluster
    holds), so the work per claim stays bounded. With the ``gazetteer``, claims made of an oblast
    named after its centre ("the Zaporizhzhia region") are weighed with the centre's.
    """
    record = queries.to_record(row)
    group = record.claim.kind.group
    day = event_day(record)
    first, last = block_dates(day, group)
    key, keys = block_keys(record.claim.place, gazetteer)
    lock_block(session, "+".join(link_key(group)), key)  # before the block's claims are read
    if group is KindGroup.CONTROL:
        loaded, truncated = queries.list_block_claims(session, link_key(group), keys, day, first, last,
                                                      limit=BLOCK_CLAIMS)
    else:  # the near days always; the far ones only where a follow-up can be involved
        near_first, near_last = near_dates(day)
        loaded, truncated = queries.list_block_claims(session, link_key(group), keys, day, near_first, near_last,
                                                      limit=BLOCK_CLAIMS)
        back, forward = needs_far(at_centre(record, key), [at_centre(r, key) for r, _ in loaded],
                                  is_follow_up_text(row.post.text))
        for wanted, lo, hi in ((back, first, near_first - timedelta(days=1)), (forward, near_last + timedelta(days=1), last)):
            if wanted:
                far, cut = queries.list_block_claims(session, link_key(group), keys, day, lo, hi, limit=BLOCK_CLAIMS)
                loaded += far
                truncated = truncated or cut
    current = {r.id: incident for r, incident in loaded}
    records = {r.id: at_centre(r, key) for r, _ in loaded}
    records[record.id] = at_centre(record, key)
    current.setdefault(record.id, None)
    clusters = cluster_block(records.values())
    own = next(c for c in clusters if any(r.id == record.id for r in c))
    affected = {current[r.id] for r in own} - {None}
    touched: set[int] = set()
    for cluster, incident_id in zip(clusters, assign_incidents(clusters, current)):
        mine = cluster is own
        near = mine or any(current.get(r.id) in affected for r in cluster)
        moved = incident_id is None or any(current.get(r.id) != incident_id for r in cluster)
        if not near or truncated and not mine or not moved:
            continue
        if incident_id is None:
            first_claim = cluster[0].claim
            incident = Incident(kind=first_claim.kind.value, kind_group=first_claim.kind.group.value,
                                place_key=first_claim.place.key, place=first_claim.place.name,
                                oblast=first_claim.place.oblast, country=first_claim.place.country,
                                lat=first_claim.place.lat, lon=first_claim.place.lon, date=event_day(cluster[0]))
            session.add(incident)
            session.flush()
            incident_id = incident.id
        touched.add(incident_id)
        copies = find_copies(cluster)
        changes: dict[int | None, list[int]] = {}
        for r in cluster:
            if r.id == row.id:
                row.incident_id, row.copy_of = incident_id, copies.get(r.id)
            elif not truncated and (current.get(r.id) != incident_id or r.copy_of != copies.get(r.id)):
                if current.get(r.id) is not None:
                    touched.add(current[r.id])
                changes.setdefault(copies.get(r.id), []).append(r.id)
        for copy_of, ids in changes.items():  # one statement per value; loaded objects are kept in step
            queries.move_claims(session, ids, incident_id, copy_of)
    return touched


def refresh_incidents(session: Session, incident_ids: Iterable[int]) -> None:
    """Recompute figures and conflicts of touched incidents; drop the ones left without claims."""
    ids = sorted(set(incident_ids))
    queries.delete_empty_incidents(session, ids)
    by_incident = queries.list_incident_claims(session, ids)
    for incident_id, rows in by_incident.items():
        incident = session.get(Incident, incident_id)
        if incident is None or not rows:
            continue
        records = [queries.to_record(r) for r in rows]
        summary = summarize(records)
        incident.kind = summary.kind.value
        incident.place = summary.place.name
        incident.oblast = summary.place.oblast
        incident.date = summary.date
        incident.killed_low, incident.killed_best, incident.killed_high = (
            summary.killed.low, summary.killed.best, summary.killed.high)
        incident.injured_low, incident.injured_best, incident.injured_high = (
            summary.injured.low, summary.injured.best, summary.injured.high)
        incident.controller = summary.controller.value if summary.controller else None
        incident.sources_count = summary.sources
        findings = detect_conflicts(records)
        incident.conflicts_count = len(findings)
        queries.replace_conflicts(session, incident, [_conflict_row(f) for f in findings])


def _conflict_row(finding: ConflictFinding) -> Conflict:
    values = [
        {"value": v.value, "qualifier": v.qualifier,
         "claims": [[r.source_ref, r.message_id] for r in v.records],
         "claim_ids": [r.id for r in v.records]}
        for v in finding.values
    ]
    return Conflict(field=finding.field, values=values, note=finding.note)


def ingest_for_source(session_factory: sessionmaker[Session], source_ref: str, posts: Sequence[PostIn],
                      extractor: Extractor) -> ImportStats:
    """One transaction: ingest posts of an already stored source (bot updates, pollers)."""
    with ingest_lock(), session_factory.begin() as session:
        source = queries.get_source_by_ref(session, source_ref)
        if source is None:
            raise LookupError(f"unknown source {source_ref!r}")
        return ingest_and_refresh(session, source, posts, extractor)


def ingest_and_refresh(session: Session, source: Source, posts: Sequence[PostIn], extractor: Extractor) -> ImportStats:
    """Inside the caller's transaction (and ingest lock): ingest posts of ``source`` and refresh the
    incidents they touched; the stats count those incidents and their conflicts."""
    stats = ImportStats()
    touched = ingest_posts(session, source, posts, extractor, stats)
    refresh_incidents(session, touched)
    stats.incidents = len(touched)
    stats.conflicts = sum(i.conflicts_count for i in (session.get(Incident, t) for t in touched) if i)
    return stats


# ---------------------------------------------------------------- ingestion from Telegram updates


class IngestStatus(StrEnum):
    """What ``ingest_telegram_post`` did with a channel post or a forward."""

    INGESTED = "ingested"
    NEW_SOURCE = "new_source"  # the channel is not a source and may not be created here
    PAUSED = "paused"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """The status, the source's name, the claims read and the incidents they were linked into."""

    status: IngestStatus
    source_name: str
    claims: int = 0
    incident_ids: tuple[int, ...] = ()


def ingest_telegram_post(session_factory: sessionmaker[Session], extractor: Extractor, *, chat_id: int,
                         title: str, username: str | None, post: PostIn, create: bool,
                         added_by: int | None = None) -> IngestOutcome:
    """Store one channel post (a channel_post update or a forward) as a post of that channel.

    The source (ref = the channel's id) is created when ``create`` is set; a channel that is
    itself a digest subscriber is not a source. Runs extraction: call it off the event loop.
    """
    ref = str(chat_id)
    with ingest_lock(), session_factory.begin() as session:
        if queries.get_subscriber(session, chat_id) is not None:
            return IngestOutcome(IngestStatus.IGNORED, title)
        source = queries.get_source_by_ref(session, ref)
        if source is None:
            if not create:
                return IngestOutcome(IngestStatus.NEW_SOURCE, title)
            source = queries.upsert_source(session, ref, title or ref, handle=username, transport=Transport.TELEGRAM,
                                           url=f"https://t.me/{username}" if username else None, added_by=added_by)
        elif not source.active:
            return IngestOutcome(IngestStatus.PAUSED, source.name)
        elif title and source.name != title and source.transport == Transport.TELEGRAM:
            source.name = title
        stats = ingest_and_refresh(session, source, [post], extractor)
        incident_ids = queries.list_post_incident_ids(session, ref, post.message_id)
        return IngestOutcome(IngestStatus.INGESTED, source.name, stats.claims, tuple(incident_ids))


IMPORT_CHUNK = 200  # posts per transaction: short write locks keep the bot responsive during an import


def import_export(session_factory: sessionmaker[Session], export: ChannelExport, extractor: Extractor,
                  stats: ImportStats, progress: Progress | None = None, *, chunk: int = IMPORT_CHUNK) -> None:
    """Import one export in transactions of ``chunk`` posts, each run again if the database restarts.

    Posts are keyed by (channel, message id), so an import cut anywhere (a kill, a crash) is
    completed by running it again, with nothing doubled.
    """
    posts = list(export.posts)
    for start in range(0, max(len(posts), 1), chunk):
        part = posts[start:start + chunk]

        def work(part: Sequence[PostIn] = part) -> ImportStats:
            part_stats = ImportStats()
            with ingest_lock(), session_factory.begin() as session:
                source = queries.upsert_source(session, export.ref, export.name, handle=export.handle)
                touched = ingest_posts(session, source, part, extractor, part_stats, progress)
                refresh_incidents(session, touched)
            return part_stats

        stats.add(retry_on_disconnect(work))
    stats.skipped += export.skipped


def read_exports(paths: Sequence[Path], zone: ZoneInfo) -> tuple[list[ChannelExport], list[str]]:
    """Parse every file first; returns the exports and one error line per bad file.

    A file that is not a channel export is left out. Malformed messages inside an export are
    skipped, the file's other posts are kept, and the file gets an error line too.
    """
    good: list[ChannelExport] = []
    errors: list[str] = []
    for path in paths:
        try:
            export = read_export(path, zone, strict=False)
        except ExportError as exc:
            errors.append(str(exc))
            continue
        good.append(export)
        if export.malformed:
            errors.append(f"{path}: {export.malformed} malformed message(s) skipped (first: {export.first_problem}); "
                          f"its {len(export.posts)} readable post(s) are imported")
    return good, errors


# ---------------------------------------------------------------- seeds


def read_seed_sources(path: Path) -> list[dict[str, str]]:
    """The default sources file: one row per official channel."""
    return read_tsv_records(path)


def seed_sources(session_factory: sessionmaker[Session], path: Path) -> int:
    """Add or update the default sources (keyed by their Telegram channel id); returns how many."""
    rows = read_seed_sources(path)
    with session_factory.begin() as session:
        for row in rows:
            queries.upsert_source(
                session, row["channel_id"], row["name"], handle=row["handle"], role=row["role"] or None,
                side=row["side"] or None, home_oblast=row["home_oblast"] or None, transport="telegram",
                url=f"https://t.me/{row['handle']}",
            )
    return len(rows)
