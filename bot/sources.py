"""Source management and polling: follow public channels and feeds without being their admin.

Services (each owns one transaction; network I/O happens before or after it, never inside):

- ``add_source``: follow ``@channel`` / a t.me link (through its public web preview) or an
  RSS/Atom feed URL, backfilling its recent posts; ``remove_source``, ``pause_source``,
  ``resume_source`` and ``list_sources_info`` manage what is followed.
- ``poll_source`` polls one source; ``poll_due`` every active source whose turn has come;
  ``poll_sources`` a given set right now. A failed poll backs off exponentially and, after
  ``Backoff.pause_after`` failures in a row, pauses the source (the result says so).
- ``schedule_polling`` registers the repeating JobQueue job that runs ``poll_due``.
- ``cli_sources`` and ``cli_poll`` are the ``claimwatch sources`` / ``claimwatch poll`` glue.

Posts go through ``bot.services.ingest_posts`` and ``refresh_incidents``, the same idempotent
path exports and channel updates take: a post seen again unchanged is a no-op, an edited one
replaces its text and claims. Extraction and linking are CPU work, so the transaction that runs
them is executed in a worker thread (``asyncio.to_thread``), one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import random
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.types import ImportStats, PostIn, Side
from bot.pollers import (
    Backoff,
    PollerError,
    SafeFetcher,
    TmeClient,
    fetch_feed,
    jittered_interval,
)
from bot.pollers.tme import normalize_channel
from bot.services import ingest_posts, refresh_incidents
from config.settings import Settings, redact_url, redact_urls
from store import queries
from store.db import is_contention, is_disconnect, retry_on_disconnect
from store.locks import ingest_lock
from store.models import Source

if TYPE_CHECKING:
    from telegram.ext import CallbackContext, Job, JobQueue

    from bot.engine.extract import Extractor

logger = logging.getLogger(__name__)

SIDES = tuple(side.value for side in Side)
TME_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me"})
POLL_JOB_NAME = "poll:due"
POLL_JOB_INTERVAL = 30  # seconds between checks for due sources
POLL_CONCURRENCY = 4  # sources fetched at the same time by one poll_due
DEFAULT_BACKOFF = Backoff()

Notify = Callable[[str], Awaitable[Any]]


class Transport(StrEnum):
    """How a followed source is read."""

    TME = "tme"  # the public web preview t.me/s/<channel>
    FEED = "feed"  # RSS or Atom


POLLED_TRANSPORTS = frozenset({Transport.TME.value, Transport.FEED.value})


class SourceError(Exception):
    """A source cannot be added, found or changed; the message is one line for a person (with the
    secrets of any URL in it masked)."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(redact_urls(str(message)), *args)


@dataclass(frozen=True, slots=True)
class Target:
    """What the admin asked to follow, read from ``@channel``, a t.me link or a feed URL.

    ``ref`` is the stored key: the lower-case handle for a channel, the URL for a feed.
    """

    transport: Transport
    ref: str
    handle: str | None
    url: str

    @property
    def label(self) -> str:
        return f"@{self.handle}" if self.handle else redact_url(self.url)


@dataclass(frozen=True, slots=True)
class AddResult:
    """The outcome of ``add_source``: which source, whether it was new, and what was ingested."""

    ref: str
    name: str
    transport: Transport
    label: str
    created: bool
    new: int
    updated: int


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
class SourceStatus:
    """One followed source as ``/sourceinfo`` and ``claimwatch sources list`` show it."""

    ref: str
    name: str
    transport: str
    label: str
    role: str | None
    side: str | None
    active: bool
    last_message_id: int | None
    last_post_at: datetime | None
    failures: int
    last_error: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None

    def line(self) -> str:
        """A one-line summary of the source's state."""
        state = "active" if self.active else "paused"
        parts = [f"{self.label} ({self.name}) [{self.transport}, {state}]"]
        if self.transport == Transport.TME and self.last_message_id is not None:
            parts.append(f"last post #{self.last_message_id}")
        parts.append(f"newest post {_when(self.last_post_at)}")
        if self.active and self.transport in POLLED_TRANSPORTS:
            parts.append(f"next poll {_when(self.next_poll_at) if self.next_poll_at else 'now'}")
        if self.failures:
            parts.append(f"{self.failures} failures, last error: {self.last_error}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What a poll needs to know about a source, read before the network I/O."""

    ref: str
    transport: str
    handle: str | None
    url: str | None
    last_message_id: int | None
    etag: str | None
    last_modified: str | None

    @property
    def label(self) -> str:
        if self.transport == Transport.TME and self.handle:
            return f"@{self.handle}"
        return redact_url(self.url or self.ref)


@dataclass(frozen=True, slots=True)
class _Fetched:
    """What one fetch brought back."""

    posts: tuple[PostIn, ...]
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    newest_id: int | None = None  # the newest message id on a preview page, text or not


# ---------------------------------------------------------------- reading targets


def parse_target(target: str) -> Target:
    """Read ``@channel``, ``channel``, ``t.me/channel``, ``https://t.me/s/channel`` or a feed URL.

    Raises:
        SourceError: the target is neither a public channel username nor an http(s) URL.
    """
    value = target.strip()
    if not value:
        raise SourceError("give a @channel, a t.me link or a feed URL")
    parts = urlsplit(value if "://" in value else f"//{value}")
    host = (parts.hostname or "").lower()
    is_url = "://" in value
    if host in TME_HOSTS or not is_url:
        try:
            handle = normalize_channel(value).lower()  # t.me ignores case
        except ValueError:
            raise SourceError(
                f"{target!r} is not a public channel (@name or t.me/name) nor a feed URL"
            ) from None
        return Target(Transport.TME, handle, handle, f"https://t.me/{handle}")
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise SourceError(f"{target!r} is not an http(s) feed URL")
    return Target(Transport.FEED, value, None, value)


def check_side(side: str | None) -> str | None:
    """The side, lower-cased, or None.

    Raises:
        SourceError: the side is not one of ukraine, russia, international, media.
    """
    if side is None or not side.strip():
        return None
    value = side.strip().lower()
    if value not in SIDES:
        raise SourceError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
    return value


def load_extractor() -> Extractor:
    """Load the extraction engine (a second or two); called only when posts need extracting."""
    from bot.engine.extract import Extractor

    return Extractor.load()


def _now() -> datetime:
    return datetime.now(UTC)


def _one_line(text: str, limit: int = 300) -> str:
    line = redact_urls(" ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _error_line(exc: BaseException) -> str:
    """A poller error's own message; anything else named by its type."""
    if isinstance(exc, (PollerError, SourceError)):
        return _one_line(str(exc))
    detail = _one_line(str(exc))
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def _fetcher(settings: Settings) -> SafeFetcher:
    return SafeFetcher(allow_private=settings.allow_private_urls)


def _label(source: Source) -> str:
    if source.transport == Transport.TME and source.handle:
        return f"@{source.handle}"
    if source.transport == Transport.FEED and source.url:
        return redact_url(source.url)
    return f"@{source.handle}" if source.handle else redact_url(source.ref)


def _find_source(session: Session, key: str) -> Source | None:
    """A source by ref, handle (with or without @), numeric id, t.me link or feed URL."""
    source = queries.get_source(session, key.strip())
    if source is None:
        try:
            target = parse_target(key)
        except SourceError:
            return None
        source = queries.get_source(session, target.ref)
        if source is None and target.handle:
            source = queries.get_source(session, target.handle)
    return source


def _require_source(session: Session, key: str) -> Source:
    source = _find_source(session, key)
    if source is None:
        raise SourceError(f"no source {key!r} is followed (see: claimwatch sources list)")
    return source


# ---------------------------------------------------------------- fetching (no transaction)


async def _fetch_preview(
    client: TmeClient, handle: str, after_id: int | None, max_pages: int
) -> _Fetched:
    """The newest preview page whole, then older pages until ``after_id`` is reached.

    Unlike ``TmeClient.fetch_new``, the posts of the newest page at or below ``after_id`` are
    kept: ingesting them again is a no-op unless they were edited, and that is how edits of
    recent posts are seen.
    """
    page = await client.fetch_page(handle)
    found = {post.message_id: post for post in page.posts}
    newest = max((p.message_id for p in page.posts), default=None)
    requests = 1
    if after_id is not None:
        while page.min_id is not None and page.min_id > after_id + 1 and requests < max_pages:
            older = await client.fetch_page(handle, before=page.min_id)
            requests += 1
            if older.min_id is None or older.min_id >= page.min_id:
                break
            found.update((p.message_id, p) for p in older.posts if p.message_id > after_id)
            page = older
    posts = tuple(sorted(found.values(), key=lambda p: p.message_id))
    return _Fetched(posts=posts, title=page.title, newest_id=newest)


async def _fetch(snapshot: _Snapshot, fetcher: SafeFetcher, settings: Settings) -> _Fetched:
    """Fetch what is new for one source.

    Raises:
        PollerError: the source could not be fetched or read.
        SourceError: the stored source cannot be polled (no handle or URL).
    """
    if snapshot.transport == Transport.TME:
        if not snapshot.handle:
            raise SourceError(f"{snapshot.ref} has no channel username to poll")
        client = TmeClient(fetcher, base_url=settings.tme_url)
        return await _fetch_preview(client, snapshot.handle, snapshot.last_message_id, client.max_pages)
    if snapshot.transport == Transport.FEED:
        if not snapshot.url:
            raise SourceError(f"{snapshot.ref} has no feed URL to poll")
        result = await fetch_feed(
            fetcher, snapshot.url, etag=snapshot.etag, last_modified=snapshot.last_modified
        )
        return _Fetched(posts=tuple(result.posts), etag=result.etag,
                        last_modified=result.last_modified, title=result.title)
    raise SourceError(f"{snapshot.ref} is a {snapshot.transport} source, which is not polled")


# ---------------------------------------------------------------- adding and managing


async def add_source(
    session_factory: sessionmaker[Session],
    settings: Settings,
    target: str,
    role: str | None = None,
    side: str | None = None,
    *,
    added_by: int | None = None,
    backfill_pages: int = 1,
    extractor: Extractor | None = None,
    fetcher: SafeFetcher | None = None,
    rng: random.Random | None = None,
) -> AddResult:
    """Follow a public channel or a feed and ingest its recent posts.

    Args:
        target: ``@channel``, ``t.me/channel``, ``https://t.me/s/channel`` or an http(s) feed URL.
        role: who speaks through the source, e.g. "Kharkiv city mayor".
        side: ukraine, russia, international or media.
        added_by: the Telegram user id of the admin who added it.
        backfill_pages: preview pages to ingest (a feed: all its entries when at least 1);
            0 ingests nothing and follows from the newest post on.
        extractor: the loaded engine (loaded here only when there are posts to ingest).
        fetcher: an HTTP client to reuse (else one with ``settings.allow_private_urls``).

    Returns:
        The source and the counts of posts ingested.

    Raises:
        SourceError: the target or side is not valid.
        PollerError: the channel has no public preview (``NoPreviewError``), or the channel or
            feed cannot be fetched or read; the message is one line for the admin.
    """
    parsed = parse_target(target)
    side_value = check_side(side)
    if backfill_pages < 0:
        raise SourceError("backfill must be 0 or more pages")
    own = fetcher is None
    client_fetcher = fetcher or _fetcher(settings)
    try:
        fetched = await _fetch_for_add(parsed, client_fetcher, settings, backfill_pages)
    finally:
        if own:
            await client_fetcher.aclose()
    if fetched.posts and extractor is None:
        extractor = await asyncio.to_thread(load_extractor)
    rng = rng or random.Random()
    return await asyncio.to_thread(
        _store_added, session_factory, parsed, role, side_value, added_by, fetched, extractor, rng
    )


async def _fetch_for_add(target: Target, fetcher: SafeFetcher, settings: Settings, pages: int) -> _Fetched:
    if target.transport == Transport.TME:
        assert target.handle is not None
        client = TmeClient(fetcher, base_url=settings.tme_url)
        first = await client.fetch_page(target.handle)  # NoPreviewError for a closed channel
        newest = max((p.message_id for p in first.posts), default=first.min_id)
        if pages == 0:
            posts: Sequence[PostIn] = ()
        elif pages == 1:
            posts = first.posts
        else:
            posts = await client.backfill(target.handle, pages)
        return _Fetched(posts=tuple(posts), title=first.title, newest_id=newest)
    result = await fetch_feed(fetcher, target.url)
    return _Fetched(posts=tuple(result.posts) if pages else (), etag=result.etag,
                    last_modified=result.last_modified, title=result.title)


def _store_added(session_factory: sessionmaker[Session], target: Target, role: str | None,
                 side: str | None, added_by: int | None, fetched: _Fetched,
                 extractor: Extractor | None, rng: random.Random) -> AddResult:
    """One transaction: create or update the source, then ingest the backfilled posts."""
    stats = ImportStats()
    with ingest_lock(), session_factory.begin() as session:
        source = queries.get_source_by_ref(session, target.ref)
        if source is None and target.handle:
            # The same channel already known through an export or as an admin channel: reuse it,
            # so its posts are not stored twice under two sources.
            source = queries.get_source(session, target.handle)
        created = source is None
        name = fetched.title or target.label
        if source is None:
            source = queries.upsert_source(session, target.ref, name, transport=target.transport.value,
                                           handle=target.handle, url=target.url, added_by=added_by)
        else:
            source.name = fetched.title or source.name
            source.transport = target.transport.value
            source.handle = target.handle or source.handle
            source.url = target.url
        if role is not None and role.strip():
            source.role = role.strip()
        if side is not None:
            source.side = side
        source.active = True
        source.failures = 0
        source.last_error = None
        now = _now()
        source.last_polled_at = now
        source.next_poll_at = now + timedelta(seconds=jittered_interval(source.poll_interval or 600, rng))
        if target.transport == Transport.FEED:
            source.etag, source.last_modified = fetched.etag, fetched.last_modified
        elif not fetched.posts and fetched.newest_id is not None:
            # No backfill: follow from the newest post on.
            source.last_message_id = max(source.last_message_id or 0, fetched.newest_id)
        if fetched.posts:
            assert extractor is not None
            touched = ingest_posts(session, source, fetched.posts, extractor, stats)
            refresh_incidents(session, touched)
        result = AddResult(ref=source.ref, name=source.name, transport=target.transport,
                           label=_label(source), created=created, new=stats.new, updated=stats.updated)
    logger.info("source %s %s: %d new, %d updated posts", result.label,
                "added" if created else "updated", result.new, result.updated)
    return result


def remove_source(session_factory: sessionmaker[Session], key: str) -> str:
    """Stop following a source and delete its posts and claims; returns its label.

    Incidents left without claims are dropped, the others are recomputed.

    Raises:
        SourceError: no such source.
    """
    with session_factory.begin() as session:
        source = _require_source(session, key)
        label = _label(source)
        touched = {
            claim.incident_id
            for post in source.posts
            for claim in post.claims
            if claim.incident_id is not None
        }
        queries.delete_source(session, source)
        refresh_incidents(session, touched)
    return label


def pause_source(session_factory: sessionmaker[Session], key: str) -> str:
    """Stop polling a source (its posts stay); returns its label.

    Raises:
        SourceError: no such source.
    """
    with session_factory.begin() as session:
        source = _require_source(session, key)
        source.active = False
        return _label(source)


def resume_source(session_factory: sessionmaker[Session], key: str) -> str:
    """Poll a paused source again, at once, with its failure count reset; returns its label.

    Raises:
        SourceError: no such source.
    """
    with session_factory.begin() as session:
        source = _require_source(session, key)
        source.active = True
        source.failures = 0
        source.last_error = None
        source.next_poll_at = None
        return _label(source)


def list_sources_info(session_factory: sessionmaker[Session], key: str | None = None) -> list[SourceStatus]:
    """Every source (or the one named by ``key``) with its polling state.

    Raises:
        SourceError: ``key`` names no source.
    """
    with session_factory() as session:
        sources = [_require_source(session, key)] if key else list(queries.list_sources(session))
        newest = queries.newest_post_times(session, [s.id for s in sources])
        return [
            SourceStatus(ref=s.ref, name=redact_urls(s.name), transport=s.transport, label=_label(s), role=s.role,
                         side=s.side, active=s.active, last_message_id=s.last_message_id,
                         last_post_at=newest.get(s.id), failures=s.failures or 0,
                         last_error=s.last_error, last_polled_at=s.last_polled_at,
                         next_poll_at=s.next_poll_at)
            for s in sources
        ]


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
    client_fetcher = fetcher or _fetcher(settings)
    try:
        return await _poll(session_factory, settings, extractor, snapshot, client_fetcher,
                           backoff, rng or random.Random(), now, asyncio.Lock())
    finally:
        if own:
            await client_fetcher.aclose()


def _snapshot(session_factory: sessionmaker[Session], key: str) -> _Snapshot:
    with session_factory() as session:
        source = _require_source(session, key)
        return _snapshot_of(source)


def _snapshot_of(source: Source) -> _Snapshot:
    return _Snapshot(ref=source.ref, transport=source.transport, handle=source.handle, url=source.url,
                     last_message_id=source.last_message_id, etag=source.etag,
                     last_modified=source.last_modified)


async def _poll(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor,
                snapshot: _Snapshot, fetcher: SafeFetcher, backoff: Backoff, rng: random.Random,
                now: datetime | None, store_lock: asyncio.Lock) -> PollResult:
    """Fetch, then store under ``store_lock`` (one writing transaction at a time)."""
    try:
        fetched = await _fetch(snapshot, fetcher, settings)
    except (PollerError, SourceError, ValueError) as exc:
        error = _error_line(exc)
        logger.warning("poll of %s failed: %s", snapshot.label, error)
        async with store_lock:
            return await asyncio.to_thread(_store_failure, session_factory, snapshot, error, backoff,
                                           rng, now or _now())
    def store() -> PollResult:
        # another process storing the same posts at the same moment (a second `poll --once`, the
        # bot beside a CLI) makes this transaction lose a race; run it again: what the other
        # stored is then seen as unchanged
        return retry_on_disconnect(functools.partial(_store_success, session_factory, snapshot, fetched,
                                                     extractor, rng, now or _now()), contention=True)

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
                                           rng, now or _now())


def _store_success(session_factory: sessionmaker[Session], snapshot: _Snapshot, fetched: _Fetched,
                   extractor: Extractor, rng: random.Random, now: datetime) -> PollResult:
    stats = ImportStats()
    with ingest_lock(), session_factory.begin() as session:
        source = queries.get_source_by_ref(session, snapshot.ref)
        if source is None:
            raise LookupError(snapshot.ref)
        if fetched.posts:
            touched = ingest_posts(session, source, fetched.posts, extractor, stats)
            refresh_incidents(session, touched)
        if source.transport == Transport.FEED:
            source.etag, source.last_modified = fetched.etag, fetched.last_modified
        source.failures = 0
        source.last_error = None
        source.last_polled_at = now
        source.next_poll_at = now + timedelta(seconds=jittered_interval(source.poll_interval or 600, rng))
        label = _label(source)
    if stats.new or stats.updated:
        logger.info("%s: %d new, %d updated posts", label, stats.new, stats.updated)
    return PollResult(snapshot.ref, stats.new, stats.updated, label=label)


def _store_failure(session_factory: sessionmaker[Session], snapshot: _Snapshot, error: str,
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
            logger.warning("%s paused after %d failed polls: %s", _label(source), source.failures, error)
        return PollResult(snapshot.ref, 0, 0, error=error, paused=paused, label=_label(source),
                          failures=source.failures)


def _is_due(source: Source, now: datetime) -> bool:
    return (source.active and source.transport in POLLED_TRANSPORTS
            and (source.next_poll_at is None or source.next_poll_at <= now))


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
    """Poll every active channel and feed whose next poll is due (never polled counts as due).

    One failing source does not stop the others: each result says how its poll went.
    """
    moment = now or _now()

    def due() -> list[_Snapshot]:
        with session_factory() as session:
            return [_snapshot_of(s) for s in queries.list_sources(session, active_only=True)
                    if _is_due(s, moment)]

    snapshots = await asyncio.to_thread(due)
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


def _snapshots_for(session_factory: sessionmaker[Session], keys: list[str] | None) -> list[_Snapshot]:
    with session_factory() as session:
        if keys is None:
            return [_snapshot_of(s) for s in queries.list_sources(session, active_only=True)
                    if s.transport in POLLED_TRANSPORTS]
        return [_snapshot_of(_require_source(session, key)) for key in keys]


def list_pollable(session_factory: sessionmaker[Session], key: str | None = None) -> list[str]:
    """Refs ``poll_sources`` would poll: the named source, or every active channel and feed.

    Raises:
        SourceError: ``key`` names no source.
    """
    return [s.ref for s in _snapshots_for(session_factory, None if key is None else [key])]


async def _poll_many(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor,
                     snapshots: Sequence[_Snapshot], fetcher: SafeFetcher | None, backoff: Backoff,
                     rng: random.Random | None, now: datetime | None) -> list[PollResult]:
    if not snapshots:
        return []
    own = fetcher is None
    client_fetcher = fetcher or _fetcher(settings)
    generator = rng or random.Random()
    store_lock = asyncio.Lock()
    gate = asyncio.Semaphore(POLL_CONCURRENCY)

    async def one(snapshot: _Snapshot) -> PollResult:
        async with gate:
            try:
                return await _poll(session_factory, settings, extractor, snapshot, client_fetcher,
                                   backoff, generator, now, store_lock)
            except Exception as exc:  # last guard: recording the failure itself failed
                if is_contention(exc) or is_disconnect(exc):
                    logger.warning("poll of %s: the database is busy or away; polled again later", snapshot.label)
                    return PollResult(snapshot.ref, 0, 0, label=snapshot.label,
                                      error="the database is busy or unavailable; polled again later")
                logger.exception("poll of %s failed", snapshot.label)
                return PollResult(snapshot.ref, 0, 0, error=_error_line(exc), label=snapshot.label)

    try:
        return list(await asyncio.gather(*(one(s) for s in snapshots)))
    finally:
        if own:
            await client_fetcher.aclose()


# ---------------------------------------------------------------- the bot's job


def schedule_polling(
    job_queue: JobQueue[Any],
    session_factory: sessionmaker[Session],
    settings: Settings,
    extractor: Extractor,
    notify: Notify | None = None,
) -> Job[Any]:
    """Register the repeating job that polls due sources every 30 seconds.

    Args:
        notify: awaited with one message for each source a poll paused (e.g. to tell admins).

    Returns:
        The job (named ``poll:due``).
    """

    async def job_poll_due(context: CallbackContext[Any, Any, Any, Any]) -> None:
        """Poll the due sources; tell admins about any that got paused."""
        results = await poll_due(session_factory, settings, extractor)
        for result in results:
            if result.paused and notify is not None:
                try:
                    await notify(result.pause_notice())
                except Exception:
                    logger.exception("could not tell admins that %s was paused", result.label)

    return job_queue.run_repeating(
        job_poll_due, interval=POLL_JOB_INTERVAL, first=5, name=POLL_JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True},
    )


# ---------------------------------------------------------------- command line


def cli_sources(session_factory: sessionmaker[Session], settings: Settings, args: argparse.Namespace) -> int:
    """``claimwatch sources add|list|remove|pause|resume``: one line per outcome, 0 or 1."""
    action: str = args.action
    target: str | None = getattr(args, "target", None)
    try:
        if action == "list":
            statuses = list_sources_info(session_factory, target)
            if not statuses:
                print("no sources followed yet (add one: claimwatch sources add @channel)")
            for status in statuses:
                print(status.line())
            return 0
        if not target:
            raise SourceError(f"sources {action} needs a @channel, t.me link or feed URL")
        if action == "add":
            result = asyncio.run(add_source(
                session_factory, settings, target, getattr(args, "role", None), getattr(args, "side", None),
                backfill_pages=getattr(args, "backfill", 1),
            ))
            verb = "added" if result.created else "updated"
            print(f"{verb} {result.label} ({result.name}): {result.new} new, {result.updated} updated posts")
            return 0
        actions: dict[str, tuple[Callable[[sessionmaker[Session], str], str], str]] = {
            "remove": (remove_source, "removed"),
            "pause": (pause_source, "paused"),
            "resume": (resume_source, "resumed"),
        }
        if action not in actions:
            raise SourceError(f"unknown action {action!r}")
        service, verb = actions[action]
        print(f"{verb} {service(session_factory, target)}")
        return 0
    except (SourceError, PollerError) as exc:
        print(f"claimwatch: {_one_line(str(exc))}", file=sys.stderr)
        return 1


def cli_poll(session_factory: sessionmaker[Session], settings: Settings, source_key: str | None) -> int:
    """``claimwatch poll --once [SOURCE]``: one line per source; 0 when every poll succeeded."""
    try:
        refs = list_pollable(session_factory, source_key)
    except SourceError as exc:
        print(f"claimwatch: {exc}", file=sys.stderr)
        return 1
    if not refs:
        print("no active channels or feeds to poll (add one: claimwatch sources add @channel)")
        return 0
    extractor = load_extractor()
    results = asyncio.run(poll_sources(session_factory, settings, extractor, refs))
    for result in results:
        print(result.line())
    return 0 if all(r.ok for r in results) else 1
