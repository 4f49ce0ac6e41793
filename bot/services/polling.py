"""Polling followed channels and feeds: one source, every due one, or a given set.

``poll_source`` polls one source; ``poll_due`` every active source whose turn has come;
``poll_sources`` a given set right now. A failed poll backs off exponentially and, after
``Backoff.pause_after`` failures in a row, pauses the source (the result says so). Fetching
happens outside any transaction; storing what came back is one transaction through
``bot.services.ingest``, run in a worker thread (extraction and linking are CPU work), one at a
time per call.

Due sources are claimed before they are fetched (``claim_due``): one short transaction reads
them ``FOR UPDATE SKIP LOCKED`` and moves their next poll to the end of a lease
(``POLL_LEASE``), so processes sharing one PostgreSQL database (the bot, any number of
``claimwatch worker``) each poll other sources, and each source once per due time. Storing the
poll sets the next due time; a process that dies mid-poll leaves the source due again when the
lease runs out. ``bot.worker`` runs the loop of a worker process on these pieces.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.types import ImportStats
from bot.pollers import (
    Backoff,
    PollerError,
    SafeFetcher,
    TmeClient,
    fetch_feed,
    jittered_interval,
)
from bot.services.ingest import ingest_posts, refresh_incidents
from bot.services.prepared import PreparedExtractor, prepare
from bot.services.sources import (
    POLLED_TRANSPORTS,
    Fetched,
    SourceError,
    label_of,
    make_fetcher,
    now_utc,
    one_line,
    require_source,
    source_label,
)
from config.settings import Settings
from store import queries
from store.db import is_contention, is_disconnect, retry_on_disconnect
from store.locks import ingest_lock, lock_blocks
from store.models import Source, Transport
from store.queries.sources import claim_due_sources, release_claim

if TYPE_CHECKING:
    from bot.engine.extract import Extractor

logger = logging.getLogger(__name__)

POLL_CONCURRENCY = 4  # sources fetched at the same time by one poll_due
POLL_LEASE = timedelta(minutes=5)  # a claimed source is due again this long after its claim, unless stored
DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True, slots=True)
class PollResult:
    """The outcome of one poll of one source.

    ``error`` is one line when the poll failed; ``paused`` is True when this failure paused
    the source (admins should hear about it).
    """

    ref: str
    new: int
    updated: int
    error: str | None = None
    paused: bool = False
    label: str = ""
    failures: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """``@handle: 3 new, 1 updated`` or ``@handle: error: <one line>``."""
        label = self.label or self.ref
        if self.error is not None:
            suffix = " (source paused)" if self.paused else ""
            return f"{label}: error: {self.error}{suffix}"
        return f"{label}: {self.new} new, {self.updated} updated"

    def pause_notice(self) -> str:
        """The message admins get when this poll paused the source."""
        label = self.label or self.ref
        return (
            f"⏸ {label} was paused after {self.failures} failed polls in a row. "
            f"Last error: {self.error}. Resume it once the problem is fixed."
        )


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """What a poll needs to know about a source, read before the network I/O."""

    ref: str
    transport: str
    handle: str | None
    url: str | None
    last_message_id: int | None
    etag: str | None
    last_modified: str | None
    claim: datetime | None = None  # the next_poll_at this poll's claim wrote (None: not claimed)

    @property
    def label(self) -> str:
        return source_label(self.transport, self.handle, self.url, self.ref)


def _error_line(exc: BaseException) -> str:
    """A poller error's own message; anything else named by its type."""
    if isinstance(exc, (PollerError, SourceError)):
        return one_line(str(exc))
    detail = one_line(str(exc))
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


# ---------------------------------------------------------------- fetching (no transaction)


async def _fetch(snapshot: SourceSnapshot, fetcher: SafeFetcher, settings: Settings) -> Fetched:
    """Fetch what is new for one source.

    Raises:
        PollerError: the source could not be fetched or read.
        SourceError: the stored source cannot be polled (no handle or URL).
    """
    if snapshot.transport == Transport.TME:
        if not snapshot.handle:
            raise SourceError(f"{snapshot.ref} has no channel username to poll")
        recent = await TmeClient(fetcher, base_url=settings.tme_url).fetch_recent(snapshot.handle,
                                                                                 snapshot.last_message_id)
        return Fetched(posts=recent.posts, title=recent.title, newest_id=recent.newest_id)
    if snapshot.transport == Transport.FEED:
        if not snapshot.url:
            raise SourceError(f"{snapshot.ref} has no feed URL to poll")
        result = await fetch_feed(
            fetcher, snapshot.url, etag=snapshot.etag, last_modified=snapshot.last_modified
        )
        return Fetched(posts=tuple(result.posts), etag=result.etag,
                        last_modified=result.last_modified, title=result.title)
    raise SourceError(f"{snapshot.ref} is a {snapshot.transport} source, which is not polled")


# ---------------------------------------------------------------- polling


async def poll_source(
    session_factory: sessionmaker[Session],
    settings: Settings,
    extractor: Extractor,
    ref: str,
    *,
    fetcher: SafeFetcher | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> PollResult:
    """Poll one source (active or not) and ingest what is new or edited.

    Never raises for a poll that fails: the result carries one line of error, the source's
    failure count grows and its next poll is pushed back; when ``backoff.should_pause`` says
    so the source is paused and ``PollResult.paused`` is True.

    Raises:
        SourceError: ``ref`` names no source.
    """
    snapshot = await asyncio.to_thread(_snapshot, session_factory, ref)
    own = fetcher is None
    client_fetcher = fetcher or make_fetcher(settings)
    try:
        return await _poll(session_factory, settings, extractor, snapshot, client_fetcher,
                           backoff, rng or random.Random(), now, asyncio.Lock())
    finally:
        if own:
            await client_fetcher.aclose()


def _snapshot(session_factory: sessionmaker[Session], key: str) -> SourceSnapshot:
    with session_factory() as session:
        source = require_source(session, key)
        return _snapshot_of(source)


def _snapshot_of(source: Source, claim: datetime | None = None) -> SourceSnapshot:
    return SourceSnapshot(ref=source.ref, transport=source.transport, handle=source.handle, url=source.url,
                          last_message_id=source.last_message_id, etag=source.etag,
                          last_modified=source.last_modified, claim=claim)


async def _poll(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor,
                snapshot: SourceSnapshot, fetcher: SafeFetcher, backoff: Backoff, rng: random.Random,
                now: datetime | None, store_lock: asyncio.Lock) -> PollResult:
    """Fetch, then store under ``store_lock`` (one writing transaction at a time)."""
    try:
        fetched = await _fetch(snapshot, fetcher, settings)
    except (PollerError, SourceError, ValueError) as exc:
        error = _error_line(exc)
        logger.warning("poll of %s failed: %s", snapshot.label, error)
        async with store_lock:
            return await asyncio.to_thread(_store_failure, session_factory, snapshot, error, backoff,
                                           rng, now or now_utc())
    def store() -> PollResult:
        # the new and edited posts are read before the transaction (bot.services.prepared), so that
        # other processes store while this one extracts
        prepared = prepare(session_factory, snapshot.ref, fetched.posts, extractor) if fetched.posts else None
        # another process storing the same posts at the same moment (a second `poll --once`, the
        # bot beside a CLI) makes this transaction lose a race; run it again: what the other
        # stored is then seen as unchanged
        return retry_on_disconnect(functools.partial(_store_success, session_factory, snapshot, fetched,
                                                     extractor, rng, now or now_utc(), prepared), contention=True)

    try:
        async with store_lock:
            return await asyncio.to_thread(store)
    except LookupError:
        return PollResult(snapshot.ref, 0, 0, error="the source was removed during the poll",
                          label=snapshot.label)
    except Exception as exc:  # a store or engine failure must not stop other sources
        if is_disconnect(exc):
            # the database is away, not the source's fault: no failure is counted and the cursor
            # did not move, so the next poll fetches the same posts again
            logger.warning("storing the poll of %s failed: the database is unavailable", snapshot.label)
            return PollResult(snapshot.ref, 0, 0, error="the database is unavailable", label=snapshot.label)
        if is_contention(exc):
            # busy with another claimwatch process, not the source's fault: no failure is counted
            logger.warning("storing the poll of %s waited too long for the database: another claimwatch "
                           "process is writing", snapshot.label)
            return PollResult(snapshot.ref, 0, 0, label=snapshot.label,
                              error="the database is busy (another claimwatch process is writing); polled again later")
        logger.exception("storing the poll of %s failed", snapshot.label)
        error = _error_line(exc)
        async with store_lock:
            return await asyncio.to_thread(_store_failure, session_factory, snapshot, error, backoff,
                                           rng, now or now_utc())


def _store_success(session_factory: sessionmaker[Session], snapshot: SourceSnapshot, fetched: Fetched,
                   extractor: Extractor, rng: random.Random, now: datetime,
                   prepared: PreparedExtractor | None = None) -> PollResult:
    stats = ImportStats()
    with ingest_lock(), session_factory.begin() as session:
        source = queries.get_source_by_ref(session, snapshot.ref)
        if source is None:
            raise LookupError(snapshot.ref)
        if fetched.posts:
            if prepared is not None:
                lock_blocks(session, prepared.blocks())  # in one order, before ingest links claim by claim
            reader = cast("Extractor", prepared) if prepared is not None else extractor
            touched = ingest_posts(session, source, fetched.posts, reader, stats)
            refresh_incidents(session, touched)
        if source.transport == Transport.FEED:
            source.etag, source.last_modified = fetched.etag, fetched.last_modified
        source.failures = 0
        source.last_error = None
        source.last_polled_at = now
        if snapshot.claim is None or source.next_poll_at == snapshot.claim:
            source.next_poll_at = now + timedelta(seconds=jittered_interval(source.poll_interval or 600, rng))
        # else the claim lapsed during this poll and another process holds the source now: its poll sets the time
        label = label_of(source)
    if stats.new or stats.updated:
        logger.info("%s: %d new, %d updated posts", label, stats.new, stats.updated)
    return PollResult(snapshot.ref, stats.new, stats.updated, label=label)


def _store_failure(session_factory: sessionmaker[Session], snapshot: SourceSnapshot, error: str,
                   backoff: Backoff, rng: random.Random, now: datetime) -> PollResult:
    with session_factory.begin() as session:
        source = queries.get_source_by_ref(session, snapshot.ref)
        if source is None:
            return PollResult(snapshot.ref, 0, 0, error=error, label=snapshot.label)
        source.failures = (source.failures or 0) + 1
        source.last_error = error
        source.last_polled_at = now
        source.next_poll_at = now + timedelta(seconds=backoff.next_delay(source.failures, rng))
        paused = source.active and backoff.should_pause(source.failures)
        if paused:
            source.active = False
            logger.warning("%s paused after %d failed polls: %s", label_of(source), source.failures, error)
        return PollResult(snapshot.ref, 0, 0, error=error, paused=paused, label=label_of(source),
                          failures=source.failures)


def claim_due(session_factory: sessionmaker[Session], now: datetime | None = None, *,
              lease: timedelta = POLL_LEASE, limit: int | None = None) -> list[SourceSnapshot]:
    """Claim up to ``limit`` due sources (every due one by default) for this process, in one
    transaction: their next poll moves to ``now + lease`` (see the module's docstring).

    A transaction that lost a race for the write lock (SQLite) or to a deadlock is run again.
    """
    moment = now or now_utc()

    def work() -> list[SourceSnapshot]:
        with session_factory.begin() as session:
            until = moment + lease
            return [_snapshot_of(s, until) for s in
                    claim_due_sources(session, POLLED_TRANSPORTS, moment, until, limit)]

    return retry_on_disconnect(work, contention=True)


def release(session_factory: sessionmaker[Session], snapshot: SourceSnapshot, due: datetime | None = None) -> bool:
    """Give back the claim of a poll that was not stored (cut short at shutdown): the source is
    due at ``due`` (now by default), so another process polls it without waiting for the lease."""
    if snapshot.claim is None:
        return False
    with session_factory.begin() as session:
        return release_claim(session, snapshot.ref, snapshot.claim, due or now_utc())


async def poll_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    extractor: Extractor,
    now: datetime | None = None,
    *,
    fetcher: SafeFetcher | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    rng: random.Random | None = None,
) -> list[PollResult]:
    """Poll every active channel and feed whose next poll is due (never polled counts as due),
    claimed first (``claim_due``), so that another process polling the same database at the
    same time (``claimwatch worker``) takes none of them.

    One failing source does not stop the others: each result says how its poll went.
    """
    snapshots = await asyncio.to_thread(claim_due, session_factory, now or now_utc())
    return await _poll_many(session_factory, settings, extractor, snapshots, fetcher, backoff, rng, now)


async def poll_sources(
    session_factory: sessionmaker[Session],
    settings: Settings,
    extractor: Extractor,
    keys: Iterable[str] | None = None,
    *,
    fetcher: SafeFetcher | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    rng: random.Random | None = None,
) -> list[PollResult]:
    """Poll now, due or not: the named sources, or every active channel and feed.

    Raises:
        SourceError: a key names no source.
    """
    snapshots = await asyncio.to_thread(_snapshots_for, session_factory, None if keys is None else list(keys))
    return await _poll_many(session_factory, settings, extractor, snapshots, fetcher, backoff, rng, None)


def _snapshots_for(session_factory: sessionmaker[Session], keys: list[str] | None) -> list[SourceSnapshot]:
    with session_factory() as session:
        if keys is None:
            return [_snapshot_of(s) for s in queries.list_sources(session, active_only=True)
                    if s.transport in POLLED_TRANSPORTS]
        return [_snapshot_of(require_source(session, key)) for key in keys]


def list_pollable(session_factory: sessionmaker[Session], key: str | None = None) -> list[str]:
    """Refs ``poll_sources`` would poll: the named source, or every active channel and feed.

    Raises:
        SourceError: ``key`` names no source.
    """
    return [s.ref for s in _snapshots_for(session_factory, None if key is None else [key])]


async def _poll_many(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor,
                     snapshots: Sequence[SourceSnapshot], fetcher: SafeFetcher | None, backoff: Backoff,
                     rng: random.Random | None, now: datetime | None) -> list[PollResult]:
    if not snapshots:
        return []
    own = fetcher is None
    client_fetcher = fetcher or make_fetcher(settings)
    generator = rng or random.Random()
    store_lock = asyncio.Lock()
    gate = asyncio.Semaphore(POLL_CONCURRENCY)

    async def one(snapshot: SourceSnapshot) -> PollResult:
        async with gate:
            return await poll_claimed(session_factory, settings, extractor, snapshot, client_fetcher, store_lock,
                                      backoff=backoff, rng=generator, now=now)

    try:
        return list(await asyncio.gather(*(one(s) for s in snapshots)))
    finally:
        if own:
            await client_fetcher.aclose()


async def poll_claimed(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor,
                       snapshot: SourceSnapshot, fetcher: SafeFetcher, store_lock: asyncio.Lock, *,
                       backoff: Backoff = DEFAULT_BACKOFF, rng: random.Random | None = None,
                       now: datetime | None = None) -> PollResult:
    """Poll one source as ``claim_due`` (or a snapshot) gave it: fetch, then store under
    ``store_lock`` (one writing transaction at a time per process). Never raises for a failed
    poll or store: the result carries one line of error."""
    try:
        return await _poll(session_factory, settings, extractor, snapshot, fetcher, backoff,
                           rng or random.Random(), now, store_lock)
    except Exception as exc:  # last guard: recording the failure itself failed
        if is_contention(exc) or is_disconnect(exc):
            logger.warning("poll of %s: the database is busy or away; polled again later", snapshot.label)
            return PollResult(snapshot.ref, 0, 0, label=snapshot.label,
                              error="the database is busy or unavailable; polled again later")
        logger.exception("poll of %s failed", snapshot.label)
        return PollResult(snapshot.ref, 0, 0, error=_error_line(exc), label=snapshot.label)
