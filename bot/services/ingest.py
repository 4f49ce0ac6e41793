"""Ingestion: posts of any source stored idempotently, their claims extracted and linked into
incidents, the touched incidents' figures and conflicts refreshed.

Exports (``import_export``), polls, a new source's backfill and Telegram channel posts or forwards
(``ingest_telegram_post``) all come through here, so a post is ingested the same way whatever
carried it. Each public function that takes a session factory owns one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.extract import Extractor
from bot.engine.gazetteer import Gazetteer
from bot.engine.text import read_tsv_records
from bot.engine.types import Claim as ClaimValue
from bot.engine.types import ConflictFinding, ImportStats, PostIn, SourceInfo
from bot.exports import ChannelExport, ExportError, read_export
from bot.services import ingest_batch as batch
from bot.services.extract_pool import ExtractionPool
from bot.services.ingest_batch import source_info
from config.settings import Settings
from store import queries
from store.db import retry_on_disconnect
from store.locks import ingest_lock
from store.models import Source, Transport
from store.queries import bulk

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


def load_extractor(settings: Settings, *, on_build: Callable[[Path], None] | None = None) -> Extractor:
    """The extraction engine, its gazetteer index cached in ``settings.cache_dir`` (a second or two;
    the first run builds the index, and calls ``on_build`` first)."""
    return Extractor.load(Gazetteer.load(settings.cache_dir, on_build=on_build))


# ---------------------------------------------------------------- ingestion


def ingest_posts(session: Session, source: Source, posts: Iterable[PostIn], extractor: Extractor,
                 stats: ImportStats, progress: Progress | None = None,
                 extracted: Sequence[list[ClaimValue] | None] | None = None) -> set[int]:
    """Store posts of one source idempotently, extract and link their claims, as one batch.

    A post already stored with the same text changes nothing; an edited post replaces its text
    and claims. ``extracted`` may hold the claims of some posts (by position; None where not
    read yet), read elsewhere (``claimwatch import --jobs``); the rest are read here through
    ``Extractor.extract_many``. Returns the incidents touched (refresh them before the
    transaction ends).
    """
    posts = list(posts)
    touched: set[int] = set()
    start = 0
    for end in _segment_ends(posts):  # a message id repeated in ``posts`` starts a new batch
        part = extracted[start:end] if extracted is not None else None
        touched |= batch.ingest_batch(session, [batch.Part(source, posts[start:end], part)], extractor, stats,
                                      progress)
        start = end
    return touched


def _segment_ends(posts: Sequence[PostIn]) -> list[int]:
    ends: list[int] = []
    seen: set[int] = set()
    for i, post in enumerate(posts):
        if post.message_id in seen:
            ends.append(i)
            seen.clear()
        seen.add(post.message_id)
    return [*ends, len(posts)]


def refresh_incidents(session: Session, incident_ids: Iterable[int]) -> int:
    """Recompute figures and conflicts of touched incidents; drop the ones left without claims.
    Returns how many conflicts the refreshed incidents have."""
    ids = sorted(set(incident_ids))
    queries.delete_empty_incidents(session, ids)
    by_incident = bulk.incident_claim_rows(session, ids)
    updates: list[dict[str, object]] = []
    conflicts: list[dict[str, object]] = []
    for incident_id in sorted(by_incident):
        records = [queries.flat_record(r) for r in by_incident[incident_id]]
        summary = summarize(records)
        findings = detect_conflicts(records)
        updates.append({
            "id": incident_id, "kind": summary.kind.value, "place": summary.place.name,
            "oblast": summary.place.oblast, "date": summary.date,
            "killed_low": summary.killed.low, "killed_best": summary.killed.best, "killed_high": summary.killed.high,
            "injured_low": summary.injured.low, "injured_best": summary.injured.best,
            "injured_high": summary.injured.high,
            "controller": summary.controller.value if summary.controller else None,
            "sources_count": summary.sources, "conflicts_count": len(findings)})
        conflicts.extend({"incident_id": incident_id, **_conflict_row(f)} for f in findings)
    bulk.replace_conflicts_of(session, sorted(by_incident), conflicts)
    bulk.update_incidents(session, updates)
    return len(conflicts)


def _conflict_row(finding: ConflictFinding) -> dict[str, object]:
    values = [
        {"value": v.value, "qualifier": v.qualifier,
         "claims": [[r.source_ref, r.message_id] for r in v.records],
         "claim_ids": [r.id for r in v.records]}
        for v in finding.values
    ]
    return {"field": finding.field, "values": values, "note": finding.note}


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
    stats.conflicts = refresh_incidents(session, touched)
    stats.incidents = len(touched)
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
    """Import one export (``import_exports`` of it alone, in-process)."""
    import_exports(session_factory, [export], extractor, stats, progress, chunk=chunk)


def import_exports(session_factory: sessionmaker[Session], exports: Sequence[ChannelExport], extractor: Extractor,
                   stats: ImportStats, progress: Progress | None = None, *, chunk: int = IMPORT_CHUNK,
                   jobs: int = 1, cache_dir: Path | None = None) -> None:
    """Import exports in order, in transactions of ``chunk`` posts (one may span the end of one
    export and the start of the next), each run again if the database restarts.

    With ``jobs`` > 1 the posts are read in that many worker processes (``extract_pool``), a few
    chunks ahead, while this process stores chunk after chunk in the same order as with one: the
    incidents are the same. Posts are keyed by (channel, message id), so an import cut anywhere
    (a kill, a crash) is completed by running it again, with nothing doubled.
    """
    chunks = _chunks(exports, chunk)
    if jobs <= 1:
        for segments in chunks:
            stats.add(retry_on_disconnect(lambda segments=segments: _store_chunk(
                session_factory, segments, extractor, progress, None)))
    else:
        infos = _source_infos(session_factory, exports)
        with ExtractionPool(extractor, jobs, cache_dir) as pool:
            ahead: list[list[Future[list[list[ClaimValue]]]]] = []

            def submit(n: int) -> None:
                if n < len(chunks):
                    ahead.append(pool.submit([(p.text, p.posted_at, infos[e.ref], None)
                                              for e, part in chunks[n] for p in part]))

            for n in range(min(CHUNKS_AHEAD, len(chunks))):
                submit(n)
            for n, segments in enumerate(chunks):
                claims = pool.gather(ahead.pop(0))
                submit(n + CHUNKS_AHEAD)
                stats.add(retry_on_disconnect(lambda segments=segments, claims=claims: _store_chunk(
                    session_factory, segments, extractor, progress, claims)))
    stats.skipped += sum(e.skipped for e in exports)


CHUNKS_AHEAD = 3  # chunks the workers may read ahead of the one being stored


def _chunks(exports: Sequence[ChannelExport], size: int) -> list[list[tuple[ChannelExport, Sequence[PostIn]]]]:
    """The exports' posts in order, cut every ``size`` posts: each chunk as (export, its posts) parts;
    an export without posts is a part of its own (its source is still stored)."""
    chunks: list[list[tuple[ChannelExport, Sequence[PostIn]]]] = [[]]
    filled = 0
    for export in exports:
        posts = list(export.posts)
        if not posts:
            chunks[-1].append((export, []))
        start = 0
        while start < len(posts):
            if filled == size:
                chunks.append([])
                filled = 0
            take = posts[start:start + size - filled]
            chunks[-1].append((export, take))
            filled += len(take)
            start += len(take)
    return [c for c in chunks if c]


def _source_infos(session_factory: sessionmaker[Session], exports: Sequence[ChannelExport]) -> dict[str, SourceInfo]:
    """What extraction needs of each export's source (its role, side and home region when stored)."""
    with session_factory() as session:
        out = {}
        for export in exports:
            source = queries.get_source_by_ref(session, export.ref)
            out[export.ref] = (source_info(source) if source is not None
                               else SourceInfo(ref=export.ref, name=export.name))
        return out


def _store_chunk(session_factory: sessionmaker[Session], segments: Sequence[tuple[ChannelExport, Sequence[PostIn]]],
                 extractor: Extractor, progress: Progress | None,
                 claims: Sequence[list[ClaimValue]] | None) -> ImportStats:
    """One transaction: the chunk's posts, export by export, then one refresh of what they touched."""
    stats = ImportStats()
    touched: set[int] = set()
    offset = 0
    with ingest_lock(), session_factory.begin() as session:
        parts = []
        for export, posts in segments:
            source = queries.upsert_source(session, export.ref, export.name, handle=export.handle)
            parts.append(batch.Part(source, posts, claims[offset:offset + len(posts)] if claims is not None else None))
            offset += len(posts)
        if all(len(_segment_ends(p.posts)) == 1 for p in parts):  # the whole chunk as one batch
            touched = batch.ingest_batch(session, parts, extractor, stats, progress)
        else:
            for p in parts:
                touched |= ingest_posts(session, p.source, p.posts, extractor, stats, progress, p.extracted)
        refresh_incidents(session, touched)
    return stats


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
