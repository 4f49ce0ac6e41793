"""Digests and instant alerts, delivered exactly once per subscriber and key, and their schedules.

Exactly-once, and what happens on a crash
-----------------------------------------
Every digest or alert for one chat has a key (``digest:2022-03-02``, ``alert:post:-1001:42``) and
one ``Delivery`` row, unique by (subscriber, key). The row is inserted as ``sending`` and
committed *before* anything is sent. The row then records, with a commit around every
message:

- ``attempts``: how many parts may have reached Telegram. ``TrackedRequest`` (the bot's HTTP
  transport) raises it right before a part's request is written and lowers it again when the
  answer shows the part was refused (429, 5xx, a connection that never opened), so a part
  counts as started only while it is actually on the wire;
- ``message_ids``: the Telegram message ids of the parts that are known to be delivered.

When every part is sent the row becomes ``sent`` and is never sent again. A ``failed`` row
(the chat blocked the bot, a permanent Bad Request, or too old to matter) is not retried.
When Telegram cannot be reached (retries exhausted) the row goes back to ``pending`` and the
sweep (a repeating job) resumes it after ``retry_delay``; the same sweep sends a digest whose
time passed while the bot was down (within ``CATCH_UP_WINDOW``).

If the process dies mid-way, the row stays ``sending``. At start-up (one bot process per
database, held by the bot lease of ``store.leases``; the lease is taken only after the previous
holder's lapsed) every ``sending`` row is released to ``pending``;
at run time a ``sending`` row older than ``stale_after`` counts as orphaned too. Resuming
such a row sends only the parts after the last one started: parts with a recorded message id
were delivered, and a part that was on the wire when the process died is *unknown*: Telegram
has no idempotency key, so it may or may not have arrived. We choose at-most-once for that
single message: it is skipped (``None`` in ``message_ids``, noted in ``error``), never sent
twice. No part is ever sent twice after a crash; at worst the one message then on the wire is lost.

Limits: ``AIORateLimiter`` in the application keeps the overall 30 messages/s and 20/min per
group and retries a 429 a few times; on top of that each delivery waits ``pace`` seconds between
its own messages (Telegram's ~1 message/s per chat), waits out any further 429 (RetryAfter)
and retries network errors with bounded exponential backoff. A 403 (Forbidden) deactivates the
subscriber. A retried read time-out could in theory duplicate one message (Telegram may have
accepted the request); that is the one place where we prefer delivery over at-most-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time as monotonic_time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import CallbackContext, JobQueue

from bot import services
from bot.engine.chart import render_chart
from bot.engine.digest import format_day, render_alert, render_digest
from bot.engine.extract import Extractor
from bot.engine.types import IncidentView, PostIn
from bot.i18n import t
from bot.tracked_request import PartTracker, tracking
from bot import subscriptions
from bot.subscriptions import SubscriberView, deactivate, get_subscriber, list_active_subscribers
from store import queries
from store.db import retry_on_disconnect
from store.models import Claim, Delivery, Incident, Post, Source, Subscriber

logger = logging.getLogger(__name__)

DIGEST_JOB_PREFIX = "digest:"
DEFAULT_PACE = 1.05  # seconds between two messages of one delivery to the same chat
DEFAULT_STALE_AFTER = timedelta(minutes=10)
DEFAULT_SWEEP_INTERVAL = 60.0  # seconds between two sweeps for missed and pending deliveries
DEFAULT_RETRY_DELAY = timedelta(seconds=30)  # a delivery that hit an outage waits this long
CATCH_UP_WINDOW = timedelta(hours=6)  # a digest missed while the bot was down is sent this late
GIVE_UP_AFTER_DAYS = 2  # a digest or alert older than this is not retried any more
RENDER_TTL = 120.0  # seconds a rendered digest is reused across subscribers
MAX_RATE_RETRIES = 20
MAX_NETWORK_RETRIES = 5
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
_CHART_LOCK = threading.Lock()  # pyplot is not thread-safe


class Status(StrEnum):
    PENDING = "pending"  # interrupted; may be resumed
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Outcome(StrEnum):
    """What one ``deliver`` call did."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    BLOCKED = "blocked"
    POSTPONED = "postponed"  # Telegram could not be reached; retried by the sweep


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a delivery: Telegram-HTML text, or a PNG with an optional caption."""

    text: str = ""
    photo: bytes | None = None


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: int
    start: int


class GaveUp(Exception):
    """A message could not be sent after the bounded retries."""


# ---------------------------------------------------------------- the delivery log


def begin_delivery(session_factory: sessionmaker[Session], subscriber_id: int, key: str, *,
                   stale_after: timedelta = DEFAULT_STALE_AFTER, now: datetime | None = None) -> _Claimed | Outcome:
    """Claim the delivery (subscriber, key): insert it as ``sending``, or resume an orphaned one.

    Returns the part to start from, or the Outcome that says why nothing is to be sent. The
    claim is a compare-and-set on (status, claimed at), so two workers never both win it.
    """
    now = now or datetime.now(UTC)
    try:
        with session_factory.begin() as session:
            row = queries.get_delivery(session, subscriber_id, key)
            if row is None:
                row = Delivery(subscriber_id=subscriber_id, key=key, status=Status.SENDING, attempts=0,
                               message_ids=[], created_at=now)
                session.add(row)
                session.flush()
                return _Claimed(row.id, 0)
            if row.status == Status.SENT:
                return Outcome.ALREADY_SENT
            if row.status == Status.FAILED:
                return Outcome.FAILED
            if row.status == Status.SENDING and row.created_at > now - stale_after:
                return Outcome.IN_PROGRESS
            ids = list(row.message_ids or [])
            error = row.error
            if row.attempts > len(ids):
                # the part on the wire when the owner stopped: maybe delivered, so never resent
                logger.warning("delivery %s to subscriber %s: part %d was interrupted and is not resent",
                               key, subscriber_id, len(ids) + 1)
                error = f"part {len(ids) + 1} interrupted; not resent (at-most-once)"
                ids.append(None)
            claimed = session.execute(
                update(Delivery)
                .where(Delivery.id == row.id, Delivery.status == row.status, Delivery.created_at == row.created_at)
                .values(status=Status.SENDING, created_at=now, attempts=len(ids), message_ids=ids, error=error)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return Outcome.IN_PROGRESS
            return _Claimed(row.id, len(ids))
    except IntegrityError:  # another worker inserted the same key at the same moment
        return Outcome.IN_PROGRESS


def _set_attempts(session_factory: sessionmaker[Session], delivery_id: int, attempts: int) -> None:
    """Record how many parts are (or may be) on their way: the part ``attempts - 1`` is on the wire."""
    with session_factory.begin() as session:
        row = session.get(Delivery, delivery_id)
        if row is not None:
            row.attempts = attempts


def _tracker(session_factory: sessionmaker[Session], delivery_id: int, part: int) -> PartTracker:
    return PartTracker(
        started=functools.partial(_set_attempts, session_factory, delivery_id, part + 1),
        not_sent=functools.partial(_set_attempts, session_factory, delivery_id, part),
    )


def _mark_part_sent(session_factory: sessionmaker[Session], delivery_id: int, part: int, message_id: int) -> None:
    with session_factory.begin() as session:
        row = session.get(Delivery, delivery_id)
        if row is not None:
            ids = list(row.message_ids or [])
            ids.extend([None] * (part - len(ids)))
            row.message_ids = ids[:part] + [message_id]


def _finish(session_factory: sessionmaker[Session], delivery_id: int, status: Status, error: str | None = None) -> None:
    with session_factory.begin() as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            return
        row.status = status
        if error:
            row.error = error
        if status == Status.PENDING:
            # retried after an outage: the part that failed is known not to be delivered (time-outs
            # were retried already, so delivery is preferred there too); the delay counts from now
            row.attempts = len(row.message_ids or [])
            row.created_at = datetime.now(UTC)
        if status == Status.SENT:
            row.sent_at = datetime.now(UTC)
            subscriber = session.get(Subscriber, row.subscriber_id)
            if subscriber is not None and row.key.startswith("digest:"):
                subscriber.last_digest_at = row.sent_at


def release_interrupted(session_factory: sessionmaker[Session], lease_owner: str | None = None) -> list[tuple[int, str]]:
    """At start-up: make the ``sending`` rows of a process that is gone resumable.

    With ``lease_owner`` (``claimwatch run``), only while that owner holds the bot lease: the
    lease was taken after the previous holder's lapsed or was released, so its ``sending`` rows
    are orphans; without the lease nothing is released (another bot may be sending them now).

    Returns (chat id, key) of each released delivery.
    """
    from store.leases import holds_lease

    with session_factory.begin() as session:
        if lease_owner is not None and not holds_lease(session, lease_owner):
            logger.warning("not releasing interrupted deliveries: this process does not hold the bot lease")
            return []
        rows = session.execute(
            select(Delivery, Subscriber.chat_id).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.status == Status.SENDING)
        ).all()
        for delivery, _ in rows:
            delivery.status = Status.PENDING
        released = [(chat_id, delivery.key) for delivery, chat_id in rows]
    if released:
        logger.info("released %d interrupted deliveries", len(released))
    return released


def count_deliveries(session_factory: sessionmaker[Session], key: str) -> dict[str, int]:
    """Rows of one key by status (for admins and tests)."""
    with session_factory() as session:
        rows = session.scalars(select(Delivery.status).where(Delivery.key == key)).all()
    out: dict[str, int] = {}
    for status in rows:
        out[status] = out.get(status, 0) + 1
    return out


def last_slot(subscriber: SubscriberView, now: datetime) -> datetime:
    """The latest moment at or before ``now`` when the subscriber's daily digest was due."""
    local = now.astimezone(subscriber.zone)
    slot = datetime.combine(local.date(), subscriber.time_of_day.replace(tzinfo=None), subscriber.zone)
    if slot > local:
        slot = datetime.combine(local.date() - timedelta(days=1), subscriber.time_of_day.replace(tzinfo=None),
                                subscriber.zone)
    return slot


def report_day(subscriber: SubscriberView, at: datetime) -> date:
    """The day a digest sent at ``at`` reports, in the subscriber's zone: before noon the previous
    (complete) day, later the day itself."""
    local = at.astimezone(subscriber.zone)
    return local.date() - timedelta(days=1) if local.hour < 12 else local.date()


def _key_day(key: str) -> date | None:
    kind, _, rest = key.partition(":")
    if kind == "digest":
        with contextlib.suppress(ValueError):
            return date.fromisoformat(rest)
    return None


@dataclass(frozen=True, slots=True)
class DueWork:
    """What a sweep found: postponed deliveries to resume and digests missed while down."""

    resume: tuple[tuple[int, str], ...] = ()  # (chat id, key)
    missed: tuple[tuple[SubscriberView, date], ...] = ()
    given_up: int = 0


def find_due_work(session_factory: sessionmaker[Session], now: datetime, *, retry_delay: timedelta,
                  catch_up: timedelta = CATCH_UP_WINDOW) -> DueWork:
    """Pending deliveries whose retry delay has passed (too old ones are given up), and each
    active subscriber's last digest slot within ``catch_up`` that has no delivery yet."""
    oldest = now.date() - timedelta(days=GIVE_UP_AFTER_DAYS)
    resume: list[tuple[int, str]] = []
    given_up = 0
    with session_factory.begin() as session:
        rows = session.execute(
            select(Delivery, Subscriber.chat_id).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.status == Status.PENDING, Delivery.created_at <= now - retry_delay,
                   Subscriber.active.is_(True))
        ).all()
        for delivery, chat_id in rows:
            day = _key_day(delivery.key) or (delivery.created_at.date() if delivery.key.startswith("alert:") else None)
            if day is not None and day < oldest:
                delivery.status = Status.FAILED
                delivery.error = f"given up: not delivered within {GIVE_UP_AFTER_DAYS} days"
                given_up += 1
            else:
                resume.append((chat_id, delivery.key))
    subscribers = list_active_subscribers(session_factory)
    wanted: dict[tuple[int, str], tuple[SubscriberView, date]] = {}
    for subscriber in subscribers:
        slot = last_slot(subscriber, now)
        if now - slot > catch_up or (subscriber.subscribed_at is not None and slot < subscriber.subscribed_at):
            continue
        day = report_day(subscriber, slot)
        wanted[(subscriber.id, f"digest:{day.isoformat()}")] = (subscriber, day)
    if wanted:
        with session_factory() as session:
            keys = {k for _, k in wanted}
            present = {(subscriber_id, key) for subscriber_id, key in session.execute(
                select(Delivery.subscriber_id, Delivery.key).where(Delivery.key.in_(keys)))}
        missed = tuple(v for k, v in wanted.items() if k not in present)
    else:
        missed = ()
    return DueWork(tuple(resume), missed, given_up)


# ---------------------------------------------------------------- sending


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send_part(bot: Bot, chat_id: int, part: Part, *, network_retries: int = MAX_NETWORK_RETRIES) -> int:
    """Send one message, waiting out 429s and retrying network errors; returns its message id.

    Raises:
        Forbidden: the chat refuses the bot.
        BadRequest: Telegram refused the message itself.
        GaveUp: retries exhausted.
    """
    rate_retries = failures = 0
    while True:
        try:
            if part.photo is not None:
                message = await bot.send_photo(chat_id, photo=part.photo, caption=part.text or None,
                                               parse_mode=ParseMode.HTML)
            else:
                message = await bot.send_message(chat_id, part.text, parse_mode=ParseMode.HTML,
                                                 link_preview_options=LinkPreviewOptions(is_disabled=True))
            return message.message_id
        except RetryAfter as exc:
            rate_retries += 1
            if rate_retries > MAX_RATE_RETRIES:
                raise GaveUp(f"still rate-limited after {MAX_RATE_RETRIES} waits") from exc
            await asyncio.sleep(_retry_seconds(exc) + 0.05)
        except (Forbidden, BadRequest):
            raise
        except (TimedOut, NetworkError) as exc:
            failures += 1
            if failures > network_retries:
                raise GaveUp(f"network error: {exc}") from exc
            await asyncio.sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failures - 1)))


async def send_parts(bot: Bot, chat_id: int, parts: Sequence[Part], pace: float = DEFAULT_PACE) -> list[int]:
    """Send messages to one chat now, paced, with no delivery log (on-demand replies)."""
    ids = []
    for i, part in enumerate(parts):
        if i:
            await asyncio.sleep(pace)
        ids.append(await send_part(bot, chat_id, part))
    return ids


# ---------------------------------------------------------------- ingestion from Telegram updates


class IngestStatus(StrEnum):
    INGESTED = "ingested"
    NEW_SOURCE = "new_source"  # the channel is not a source and may not be created here
    PAUSED = "paused"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class IngestOutcome:
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
    with session_factory.begin() as session:
        if queries.get_subscriber(session, chat_id) is not None:
            return IngestOutcome(IngestStatus.IGNORED, title)
        source = queries.get_source_by_ref(session, ref)
        if source is None:
            if not create:
                return IngestOutcome(IngestStatus.NEW_SOURCE, title)
            queries.upsert_source(session, ref, title or ref, handle=username, transport="telegram",
                                  url=f"https://t.me/{username}" if username else None, added_by=added_by)
        elif not source.active:
            return IngestOutcome(IngestStatus.PAUSED, source.name)
        elif title and source.name != title and source.transport == "telegram":
            source.name = title
    stats = services.ingest_for_source(session_factory, ref, [post], extractor)
    with session_factory() as session:
        incident_ids = session.scalars(
            select(Claim.incident_id).distinct().join(Post, Post.id == Claim.post_id)
            .join(Source, Source.id == Post.source_id)
            .where(Source.ref == ref, Post.message_id == post.message_id, Claim.incident_id.is_not(None))
        ).all()
        name = (queries.get_source_by_ref(session, ref) or Source(name=title)).name
    return IngestOutcome(IngestStatus.INGESTED, name, stats.claims, tuple(i for i in incident_ids if i is not None))


def alert_key(view: IncidentView) -> str:
    """An incident's alert key: its first post. Editing that post re-links its claims and may give
    the incident a new id, but never a second alert."""
    first = min(view.records, key=lambda r: (r.posted_at, r.source_ref, r.message_id))
    return f"alert:post:{first.source_ref}:{first.message_id}"


def _incident_of_post(session_factory: sessionmaker[Session], source_ref: str, message_id: int) -> int | None:
    with session_factory() as session:
        return session.scalar(
            select(Claim.incident_id).join(Post, Post.id == Claim.post_id).join(Source, Source.id == Post.source_id)
            .where(Source.ref == source_ref, Post.message_id == message_id, Claim.incident_id.is_not(None))
            .order_by(Claim.id).limit(1)
        )


# ---------------------------------------------------------------- the service


@dataclass(slots=True)
class _Rendered:
    expires: float
    parts: tuple[Part, ...]


@dataclass
class DeliveryService:
    """Renders and delivers digests and alerts; owns the digest jobs. One per Application."""

    session_factory: sessionmaker[Session]
    extractor: Extractor | None = None
    pace: float = DEFAULT_PACE
    stale_after: timedelta = DEFAULT_STALE_AFTER
    default_timezone: str = "Europe/Kyiv"
    retry_delay: timedelta = DEFAULT_RETRY_DELAY
    network_retries: int = MAX_NETWORK_RETRIES  # per message, before the delivery is postponed
    lease_owner: str | None = None  # the bot lease this process holds (``claimwatch run``)
    _cache: dict[tuple[object, ...], _Rendered] = field(default_factory=dict)
    _locks: dict[tuple[object, ...], asyncio.Lock] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _running: set[tuple[int, str]] = field(default_factory=set)  # (chat id, key) started by a sweep
    _ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # posts are stored in arrival order

    # ------------------------------------------------ rendering

    async def digest_parts(self, day: date, lang: str, oblasts: Sequence[str] = (), *,
                           chart: bool = True) -> tuple[Part, ...]:
        """The digest of ``day`` as messages (and the chart when there are incidents), cached briefly."""
        key: tuple[object, ...] = ("digest", day, lang, tuple(sorted(oblasts)), chart)
        cached = self._cache.get(key)
        if cached is not None and cached.expires > monotonic_time.monotonic():
            return cached.parts
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and cached.expires > monotonic_time.monotonic():
                return cached.parts
            parts = await asyncio.to_thread(self._render_digest, day, lang, tuple(oblasts), chart)
            self._cache[key] = _Rendered(monotonic_time.monotonic() + RENDER_TTL, parts)
            return parts

    def _render_digest(self, day: date, lang: str, oblasts: tuple[str, ...], chart: bool) -> tuple[Part, ...]:
        views = services.list_incident_views(self.session_factory, since=day, until=day, oblasts=oblasts or None,
                                             posted_in=ZoneInfo(self.default_timezone))
        parts = [Part(text=m) for m in render_digest(views, day=day, lang=lang, html_mode=True)]
        if chart and views:
            with _CHART_LOCK:
                png = render_chart(views, day=day, lang=lang)
            parts.append(Part(text=format_day(day, lang), photo=png))
        return tuple(parts)

    def invalidate(self) -> None:
        """Forget rendered digests (new posts arrived)."""
        self._cache.clear()

    def incident_parts(self, views: Sequence[IncidentView], lang: str) -> tuple[Part, ...]:
        """Incidents rendered like the digest, for /incidents (no title day)."""
        return tuple(Part(text=m) for m in render_digest(views, day=None, lang=lang, html_mode=True))

    # ------------------------------------------------ delivering

    async def deliver(self, bot: Bot, subscriber: SubscriberView, key: str, parts: Sequence[Part]) -> Outcome:
        """Send ``parts`` to one subscriber under ``key`` exactly once (see the module docstring)."""
        claimed = await asyncio.to_thread(begin_delivery, self.session_factory, subscriber.id, key,
                                          stale_after=self.stale_after)
        if isinstance(claimed, Outcome):
            return claimed
        chat_id = subscriber.chat_id
        try:
            for index in range(claimed.start, len(parts)):
                if index > claimed.start:
                    await asyncio.sleep(self.pace)
                with tracking(_tracker(self.session_factory, claimed.delivery_id, index)):
                    message_id = await send_part(bot, chat_id, parts[index], network_retries=self.network_retries)
                await asyncio.to_thread(_mark_part_sent, self.session_factory, claimed.delivery_id, index, message_id)
        except Forbidden as exc:
            logger.info("chat %s refuses messages (%s): deactivated", chat_id, exc.message)
            await asyncio.to_thread(_finish, self.session_factory, claimed.delivery_id, Status.FAILED,
                                    f"forbidden: {exc.message}")
            await asyncio.to_thread(deactivate, self.session_factory, chat_id, exc.message)
            return Outcome.BLOCKED
        except BadRequest as exc:
            logger.warning("delivery %s to chat %s failed: %s", key, chat_id, exc)
            await asyncio.to_thread(_finish, self.session_factory, claimed.delivery_id, Status.FAILED, str(exc)[:500])
            return Outcome.FAILED
        except GaveUp as exc:  # Telegram is down or flooded: the sweep retries it later
            logger.warning("delivery %s to chat %s postponed: %s", key, chat_id, exc)
            await asyncio.to_thread(_finish, self.session_factory, claimed.delivery_id, Status.PENDING, str(exc)[:500])
            return Outcome.POSTPONED
        await asyncio.to_thread(_finish, self.session_factory, claimed.delivery_id, Status.SENT)
        return Outcome.SENT

    async def send_digest(self, bot: Bot, subscriber: SubscriberView, day: date) -> Outcome:
        """The digest of ``day`` (the subscriber's language and regions), once per day."""
        parts = await self.digest_parts(day, subscriber.language, subscriber.oblasts)
        outcome = await self.deliver(bot, subscriber, f"digest:{day.isoformat()}", parts)
        logger.info("digest %s for chat %s: %s", day, subscriber.chat_id, outcome)
        return outcome

    async def send_alerts(self, bot: Bot, incident_ids: Sequence[int]) -> dict[int, list[Outcome]]:
        """Instant alerts: an incident with deaths or a conflict, once per incident and subscriber."""
        if not incident_ids:
            return {}
        wanted = await asyncio.to_thread(self._alert_targets, incident_ids)
        results: dict[int, list[Outcome]] = {}
        for incident_id, (views, subscribers) in wanted.items():
            for subscriber in subscribers:
                parts = tuple(Part(text=m) for m in render_alert(views[0], lang=subscriber.language,
                                                                  zone=subscriber.zone))
                outcome = await self.deliver(bot, subscriber, alert_key(views[0]), parts)
                results.setdefault(incident_id, []).append(outcome)
        return results

    def _alert_targets(self, incident_ids: Sequence[int]) -> dict[int, tuple[list[IncidentView], list[SubscriberView]]]:
        with self.session_factory() as session:
            incidents = [i for i in (session.get(Incident, n) for n in sorted(set(incident_ids))) if i is not None]
            notable = [(i.id, i.date, i.oblast) for i in incidents if (i.killed_best or 0) > 0 or i.conflicts_count > 0]
        if not notable:
            return {}
        subscribers = [s for s in list_active_subscribers(self.session_factory) if s.instant_alerts]
        out: dict[int, tuple[list[IncidentView], list[SubscriberView]]] = {}
        for incident_id, day, oblast in notable:
            targets = [s for s in subscribers if not s.oblasts or oblast in s.oblasts]
            if not targets:
                continue
            views = [v for v in services.list_incident_views(self.session_factory, since=day, until=day)
                     if v.id == incident_id]
            if views:
                out[incident_id] = (views, targets)
        return out

    async def ingest_and_alert(self, bot: Bot, *, chat_id: int, title: str, username: str | None, post: PostIn,
                               create: bool, added_by: int | None = None) -> IngestOutcome:
        """Ingest one channel post off the event loop, then send instant alerts in the background."""
        if self.extractor is None:
            raise RuntimeError("no extractor loaded")
        work = functools.partial(ingest_telegram_post, self.session_factory, self.extractor, chat_id=chat_id,
                                 title=title, username=username, post=post, create=create, added_by=added_by)
        async with self._ingest_lock:  # a database restart is waited out: the post is stored once
            outcome = await asyncio.to_thread(retry_on_disconnect, work)
        if outcome.status is IngestStatus.INGESTED:
            self.invalidate()
            if outcome.incident_ids:
                self._background(self.send_alerts(bot, outcome.incident_ids))
        return outcome

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background delivery failed", exc_info=task.exception())

    async def wait_background(self) -> None:
        """Wait for alert fan-outs started by ingestion (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Give running deliveries ``grace`` seconds to finish, then cancel them (they stay
        ``sending`` and are resumed at the next start-up)."""
        if self._tasks and grace > 0:
            await asyncio.wait(list(self._tasks), timeout=grace)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            logger.info("stopped with %d deliveries interrupted", len(tasks))

    # ------------------------------------------------ on demand

    async def send_digest_now(self, bot: Bot, chat_id: int, lang: str) -> list[int]:
        """Today's digest (in the chat's zone, for its regions) right now, outside the delivery log."""
        subscriber = await asyncio.to_thread(get_subscriber, self.session_factory, chat_id)
        zone = subscriber.zone if subscriber else ZoneInfo(self.default_timezone)
        oblasts = subscriber.oblasts if subscriber else ()
        day = datetime.now(zone).date()
        parts = await self.digest_parts(day, lang, oblasts)
        return await send_parts(bot, chat_id, parts, self.pace)

    async def send_incidents_now(self, bot: Bot, chat_id: int, lang: str, place: str | None,
                                 limit: int = 10) -> int:
        """The latest incidents (for a place in any spelling the gazetteer knows); returns how many."""
        views = await asyncio.to_thread(self._find_incidents, place, limit)
        if not views:
            return 0
        await send_parts(bot, chat_id, self.incident_parts(sorted(views, key=lambda v: v.summary.date), lang),
                         self.pace)
        return len(views)

    def _find_incidents(self, place: str | None, limit: int) -> list[IncidentView]:
        if not place:
            return services.list_incident_views(self.session_factory, limit=limit)
        names = [place]
        if self.extractor is not None:
            names += [p.name for p in self.extractor.gazetteer.lookup(place)]
        for name in dict.fromkeys(names):
            views = services.list_incident_views(self.session_factory, place=name, limit=limit)
            if views:
                return views
        return []

    # ------------------------------------------------ subscriptions with their schedules

    def subscribe(self, job_queue: JobQueue[Any] | None, chat_id: int, *, chat_type: str, language: str,
                  oblasts: Sequence[str] | None = None) -> tuple[SubscriberView, bool]:
        """Subscribe a chat and schedule its digest."""
        subscriber, changed = subscriptions.subscribe(self.session_factory, chat_id, chat_type=chat_type,
                                                      language=language, timezone=self.default_timezone,
                                                      oblasts=oblasts)
        if job_queue is not None:
            self.schedule(job_queue, subscriber)
        return subscriber, changed

    def unsubscribe(self, job_queue: JobQueue[Any] | None, chat_id: int) -> bool:
        """Unsubscribe a chat and drop its digest job."""
        done = subscriptions.unsubscribe(self.session_factory, chat_id)
        if job_queue is not None:
            self.unschedule(job_queue, chat_id)
        return done

    def update_settings(self, job_queue: JobQueue[Any] | None, chat_id: int, **changes: Any) -> SubscriberView:
        """Change settings (see ``subscriptions.update_settings``) and reschedule the digest."""
        subscriber = subscriptions.update_settings(self.session_factory, chat_id, **changes)
        if job_queue is not None and ("digest_time" in changes or "timezone" in changes):
            self.schedule(job_queue, subscriber)
        return subscriber

    # ------------------------------------------------ schedules

    def digest_day(self, subscriber: SubscriberView, now: datetime | None = None) -> date:
        """The day a scheduled digest reports (see ``report_day``)."""
        return report_day(subscriber, now or datetime.now(UTC))

    def schedule(self, job_queue: JobQueue[Any], subscriber: SubscriberView) -> None:
        """(Re)schedule one subscriber's daily digest job, or drop it when inactive."""
        name = f"{DIGEST_JOB_PREFIX}{subscriber.chat_id}"
        for job in job_queue.get_jobs_by_name(name):
            job.schedule_removal()
        if subscriber.active:
            job_queue.run_daily(self.job_digest, time=subscriber.time_of_day, name=name, chat_id=subscriber.chat_id,
                                job_kwargs={"misfire_grace_time": 3600, "coalesce": True})

    def unschedule(self, job_queue: JobQueue[Any], chat_id: int) -> None:
        for job in job_queue.get_jobs_by_name(f"{DIGEST_JOB_PREFIX}{chat_id}"):
            job.schedule_removal()

    def rebuild_schedules(self, job_queue: JobQueue[Any]) -> int:
        """JobQueue keeps jobs in memory only: recreate every active subscriber's job."""
        subscribers = list_active_subscribers(self.session_factory)
        for subscriber in subscribers:
            self.schedule(job_queue, subscriber)
        logger.info("scheduled %d digest jobs", len(subscribers))
        return len(subscribers)

    async def job_digest(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        """Send one subscriber's daily digest."""
        job = context.job
        chat_id = job.chat_id if job is not None else None
        if chat_id is None:
            return
        subscriber = await asyncio.to_thread(get_subscriber, self.session_factory, chat_id)
        if subscriber is None or not subscriber.active:
            if job is not None:
                job.schedule_removal()
            return
        # run as a tracked task: stopping the bot interrupts it (see ``shutdown``), a restart resumes it
        self._background(self.send_digest(context.bot, subscriber, self.digest_day(subscriber)))

    async def resume_interrupted(self, bot: Bot) -> int:
        """At start-up: release deliveries a stopped process left ``sending`` and finish them."""
        released = await asyncio.to_thread(release_interrupted, self.session_factory, self.lease_owner)
        for chat_id, key in released:
            self._background(self._resume(bot, chat_id, key))
        return len(released)

    async def _resume(self, bot: Bot, chat_id: int, key: str) -> None:
        subscriber = await asyncio.to_thread(get_subscriber, self.session_factory, chat_id)
        if subscriber is None or not subscriber.active:
            return
        kind, _, rest = key.partition(":")
        if kind == "digest":
            await self.send_digest(bot, subscriber, date.fromisoformat(rest))
        elif key.startswith("alert:incident:"):  # the key before alerts were keyed by their first post
            await self.send_alerts(bot, [int(key.rsplit(":", 1)[1])])
        elif key.startswith("alert:post:"):
            ref, _, message_id = key.removeprefix("alert:post:").rpartition(":")
            incident_id = await asyncio.to_thread(_incident_of_post, self.session_factory, ref, int(message_id))
            if incident_id is not None:
                await self.send_alerts(bot, [incident_id])

    def schedule_sweep(self, job_queue: JobQueue[Any], interval: float = DEFAULT_SWEEP_INTERVAL) -> None:
        """Every ``interval`` seconds (and once right away): resume postponed deliveries and send
        digests missed while the bot was down or Telegram was unreachable."""
        for job in job_queue.get_jobs_by_name("deliveries:sweep"):
            job.schedule_removal()
        job_queue.run_repeating(self.job_sweep, interval=interval, first=0.05, name="deliveries:sweep",
                                job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    async def job_sweep(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        await self.sweep(context.bot)

    async def sweep(self, bot: Bot, now: datetime | None = None) -> int:
        """Start the due work found by ``find_due_work`` in the background; returns how much."""
        work = await asyncio.to_thread(find_due_work, self.session_factory, now or datetime.now(UTC),
                                       retry_delay=self.retry_delay)
        if work.given_up:
            logger.warning("gave up %d deliveries older than %d days", work.given_up, GIVE_UP_AFTER_DAYS)
        started = 0
        for chat_id, key in work.resume:
            if self._claim_slot(chat_id, key):
                self._background(self._release_slot(chat_id, key, self._resume(bot, chat_id, key)))
                started += 1
        for subscriber, day in work.missed:
            key = f"digest:{day.isoformat()}"
            if self._claim_slot(subscriber.chat_id, key):
                self._background(self._release_slot(subscriber.chat_id, key, self.send_digest(bot, subscriber, day)))
                started += 1
        if started:
            logger.info("sweep: %d postponed or missed deliveries started", started)
        return started

    def _claim_slot(self, chat_id: int, key: str) -> bool:
        if (chat_id, key) in self._running:
            return False
        self._running.add((chat_id, key))
        return True

    async def _release_slot(self, chat_id: int, key: str, coro: Any) -> Any:
        try:
            return await coro
        finally:
            self._running.discard((chat_id, key))
