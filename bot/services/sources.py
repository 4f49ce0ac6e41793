"""Followed sources: read what an admin asked to follow, add, remove, pause, resume and list.

Each service owns one transaction; network I/O happens before it, never inside. ``add_source``
follows ``@channel`` / a t.me link (through its public web preview) or an RSS/Atom feed URL and
backfills its recent posts through ``bot.services.ingest``, the same idempotent path exports and
channel updates take. Polling what is followed lives in ``bot.services.polling``.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.types import ImportStats, PostIn, Side
from bot.pollers import SafeFetcher, TmeClient, fetch_feed, jittered_interval
from bot.pollers.tme import normalize_channel
from bot.services.ingest import ingest_posts, load_extractor, refresh_incidents
from config.settings import Settings, redact_url, redact_urls
from store import queries
from store.locks import ingest_lock
from store.models import Source, Transport

if TYPE_CHECKING:
    from bot.engine.extract import Extractor

logger = logging.getLogger(__name__)

SIDES = tuple(side.value for side in Side)
TME_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me"})


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
        return source_label(self.transport, self.handle, self.url, self.ref)


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
    added_at: datetime | None = None

    def line(self) -> str:
        """A one-line summary of the source's state."""
        state = "active" if self.active else "paused"
        parts = [f"{self.label} ({self.name}) [{self.transport}, {state}]"]
        if self.transport == Transport.TME and self.last_message_id is not None:
            parts.append(f"last post #{self.last_message_id}")
        parts.append(f"newest post {when(self.last_post_at)}")
        if self.active and self.transport in POLLED_TRANSPORTS:
            parts.append(f"next poll {when(self.next_poll_at) if self.next_poll_at else 'now'}")
        if self.failures:
            parts.append(f"{self.failures} failures, last error: {self.last_error}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Fetched:
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


class BadSide(SourceError):
    """A side word that is not a side; ``guess`` is the side it looks like, if any."""

    def __init__(self, word: str, guess: str | None) -> None:
        super().__init__(f"side must be one of {', '.join(SIDES)}, not {word!r}")
        self.word = word
        self.guess = guess


# Words an admin may mean as a side, refused with the side they look like (not read as a role).
SIDE_ALIASES = {
    "ua": "ukraine", "ukr": "ukraine", "ukrainian": "ukraine", "україна": "ukraine", "украина": "ukraine",
    "укр": "ukraine", "ru": "russia", "rus": "russia", "russian": "russia", "rf": "russia", "росія": "russia",
    "россия": "russia", "рф": "russia", "intl": "international", "міжнародна": "international",
    "міжнародний": "international", "международная": "international", "международный": "international",
    "медіа": "media", "змі": "media", "сми": "media", "медиа": "media",
}


def read_role_and_side(words: Sequence[str]) -> tuple[str | None, str | None]:
    """The role and side of ``/addsource <target> [role] [side]`` from the words after the target.

    The last word is the side when it is one (any case), or ``side=<side>`` / ``side:<side>``;
    a last word that looks like a side but is none (``ukrainian``, ``rusia``, ``side=ua``) is
    refused rather than read as the end of the role.

    Raises:
        BadSide: the last word is meant as a side and is not one.
    """
    rest = [w for w in words if w.strip()]
    if not rest:
        return None, None
    last = rest[-1]
    word = last.lower()
    explicit = word.startswith(("side=", "side:"))
    if explicit:
        word = word[5:]
    if word in SIDES:
        return " ".join(rest[:-1]) or None, word
    guess = SIDE_ALIASES.get(word) or next(iter(difflib.get_close_matches(word, SIDES, n=1, cutoff=0.8)), None)
    if explicit or guess:
        raise BadSide(last, guess)
    return " ".join(rest) or None, None


def now_utc() -> datetime:
    return datetime.now(UTC)


def one_line(text: str, limit: int = 300) -> str:
    line = redact_urls(" ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def make_fetcher(settings: Settings) -> SafeFetcher:
    return SafeFetcher(allow_private=settings.allow_private_urls)


def source_label(transport: str, handle: str | None, url: str | None, ref: str) -> str:
    """How a source is named to people: ``@handle``, or a feed's URL with its secrets masked."""
    if transport == Transport.FEED and url:
        return redact_url(url)
    if handle:
        return f"@{handle}"
    return redact_url(url or ref)


def label_of(source: Source) -> str:
    return source_label(source.transport, source.handle, source.url, source.ref)


def find_source(session: Session, key: str) -> Source | None:
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


def require_source(session: Session, key: str) -> Source:
    source = find_source(session, key)
    if source is None:
        raise SourceError(f"no source {key!r} is followed (see: claimwatch sources list)")
    return source


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
    client_fetcher = fetcher or make_fetcher(settings)
    try:
        fetched = await _fetch_for_add(parsed, client_fetcher, settings, backfill_pages)
    finally:
        if own:
            await client_fetcher.aclose()
    if fetched.posts and extractor is None:
        extractor = await asyncio.to_thread(load_extractor, settings)  # only when posts need it
    rng = rng or random.Random()
    return await asyncio.to_thread(
        _store_added, session_factory, parsed, role, side_value, added_by, fetched, extractor, rng
    )


async def _fetch_for_add(target: Target, fetcher: SafeFetcher, settings: Settings, pages: int) -> Fetched:
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
        return Fetched(posts=tuple(posts), title=first.title, newest_id=newest)
    result = await fetch_feed(fetcher, target.url)
    return Fetched(posts=tuple(result.posts) if pages else (), etag=result.etag,
                    last_modified=result.last_modified, title=result.title)


def _store_added(session_factory: sessionmaker[Session], target: Target, role: str | None,
                 side: str | None, added_by: int | None, fetched: Fetched,
                 extractor: Extractor | None, rng: random.Random) -> AddResult:
    """One transaction: create or update the source, then ingest the backfilled posts."""
    stats = ImportStats()
    with ingest_lock(), session_factory.begin() as session:
        source = queries.get_source_by_ref(session, target.ref)
        if source is None and target.handle:
            # known through an export or as an admin channel: reuse it, so its posts are not stored twice
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
        source.failures, source.last_error = 0, None
        if target.handle:  # an admin follows it by name: a channel rejected before is allowed again
            queries.forget_rejected_handle(session, target.handle)
        now = now_utc()
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
                           label=label_of(source), created=created, new=stats.new, updated=stats.updated)
    logger.info("source %s %s: %d new, %d updated posts", result.label,
                "added" if created else "updated", result.new, result.updated)
    return result


@dataclass(frozen=True, slots=True)
class Removal:
    """A source an admin asked to remove, as the confirmation question names it."""

    id: int
    name: str
    label: str
    posts: int


def removal_of(session_factory: sessionmaker[Session], key: str) -> Removal:
    """The source ``key`` names and how many posts removing it would delete (nothing is changed).

    Raises:
        SourceError: no such source.
    """
    with session_factory() as session:
        source = require_source(session, key)
        return Removal(source.id, redact_urls(source.name), label_of(source),
                       queries.count_posts(session, source.id))


def remove_source(session_factory: sessionmaker[Session], key: str) -> str:
    """Stop following a source and delete its posts and claims; returns its label.

    Incidents left without claims are dropped, the others are recomputed.

    Raises:
        SourceError: no such source.
    """
    with session_factory.begin() as session:
        source = require_source(session, key)
        return _remove(session, source)


def remove_source_id(session_factory: sessionmaker[Session], source_id: int) -> str | None:
    """``remove_source`` of the source with this id (a confirmed removal); returns its label, or
    None when it is gone already."""
    with session_factory.begin() as session:
        source = queries.source_by_id(session, source_id)
        return _remove(session, source) if source is not None else None


def _remove(session: Session, source: Source) -> str:
    label = label_of(source)
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
        source = require_source(session, key)
        source.active = False
        return label_of(source)


def resume_source(session_factory: sessionmaker[Session], key: str) -> str:
    """Poll a paused source again, at once, with its failure count reset; returns its label.

    Raises:
        SourceError: no such source.
    """
    with session_factory.begin() as session:
        source = require_source(session, key)
        source.active = True
        source.failures, source.last_error = 0, None
        source.next_poll_at = None
        return label_of(source)


def list_sources_info(session_factory: sessionmaker[Session], key: str | None = None) -> list[SourceStatus]:
    """Every source (or the one named by ``key``) with its polling state.

    Raises:
        SourceError: ``key`` names no source.
    """
    with session_factory() as session:
        sources = [require_source(session, key)] if key else list(queries.list_sources(session))
        newest = queries.newest_post_times(session, [s.id for s in sources])
        return [_status(s, newest.get(s.id)) for s in sources]


def _status(s: Source, newest: datetime | None) -> SourceStatus:
    return SourceStatus(ref=s.ref, name=redact_urls(s.name), transport=s.transport, label=label_of(s), role=s.role,
                        side=s.side, active=s.active, last_message_id=s.last_message_id,
                        last_post_at=newest, failures=s.failures or 0,
                        last_error=s.last_error, last_polled_at=s.last_polled_at,
                        next_poll_at=s.next_poll_at, added_at=s.created_at)


FOLLOWED_TRANSPORTS = frozenset({Transport.TME.value, Transport.FEED.value, Transport.TELEGRAM.value})


def followed_source(session_factory: sessionmaker[Session], target: Target) -> SourceStatus | None:
    """The source ``target`` names when it is already followed (polled, or a channel the bot is
    in), else None; a channel known only from an export file is not followed yet."""
    with session_factory() as session:
        source = queries.get_source_by_ref(session, target.ref)
        if source is None and target.handle:
            source = queries.get_source(session, target.handle)
        if source is None or source.transport not in FOLLOWED_TRANSPORTS:
            return None
        return _status(source, queries.newest_post_times(session, [source.id]).get(source.id))
