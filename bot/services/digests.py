"""Digests and alerts for subscribers: rendering (briefly cached), exactly-once sending through the
delivery log (``bot.services.delivery``), instant alerts after a channel post, the sweep that
resumes postponed and missed deliveries, and on-demand sends (/digest, /incidents).

``DeliveryService`` is one per Application; its background tasks are tracked so that stopping the
bot interrupts them cleanly (they stay ``sending`` and are resumed at the next start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time as monotonic_time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.engine.digest import (
    format_day,
    render_alert,
    render_alert_update,
    render_digest,
)
from bot.engine.extract import Extractor
from bot.engine.names import Names, load_names
from bot.engine.types import IncidentView, PostIn
from bot.i18n import t
from bot.services import vetting
from bot.services.delivery import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_STALE_AFTER,
    GIVE_UP_AFTER_DAYS,
    Outcome,
    TollUpdate,
    deliver,
    find_due_work,
    release_interrupted,
    report_day,
    told_before,
    toll_update_due,
)
from bot.services.ingest import IngestOutcome, IngestStatus, ingest_telegram_post
from bot.services.keys import (
    AlertKey,
    AlertUpdateKey,
    DeliveryKey,
    DigestKey,
    IncidentAlertKey,
)
from bot.services.reading import pictures_of
from bot.services.reports import list_incident_views
from bot.services.subscriptions import (
    SubscriberView,
    get_subscriber,
    list_active_subscribers,
)
from bot.services.vetting import Approved
from bot.telegram.send import DEFAULT_PACE, MAX_NETWORK_RETRIES, Part, send_parts
from config.settings import DEFAULT_TIMEZONE
from store import queries
from store.db import retry_on_disconnect
from store.models import Incident

logger = logging.getLogger(__name__)

RENDER_TTL = 120.0  # seconds a rendered digest is reused across subscribers


def alert_key(view: IncidentView) -> AlertKey:
    """An incident's alert key: its first post."""
    first = min(view.records, key=lambda r: (r.posted_at, r.source_ref, r.message_id))
    return AlertKey(first.source_ref, first.message_id)


def _incident_of_post(session_factory: sessionmaker[Session], source_ref: str, message_id: int) -> int | None:
    with session_factory() as session:
        return next(iter(queries.list_post_incident_ids(session, source_ref, message_id)), None)


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
    default_timezone: str = DEFAULT_TIMEZONE
    retry_delay: timedelta = DEFAULT_RETRY_DELAY
    network_retries: int = MAX_NETWORK_RETRIES  # per message, before the delivery is postponed
    paid_broadcast: bool = False  # digests and alerts sent as paid broadcasts (CLAIMWATCH_PAID_BROADCAST)
    lease_owner: str | None = None  # the bot lease this process holds (``claimwatch run``)
    names: Names | None = None  # built on first use, from the extractor's gazetteer
    _cache: dict[tuple[object, ...], _Rendered] = field(default_factory=dict)
    _locks: dict[tuple[object, ...], asyncio.Lock] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _running: set[tuple[int, DeliveryKey]] = field(default_factory=set)  # (chat id, key) started by a sweep
    _ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # posts are stored in arrival order

    # ------------------------------------------------ rendering

    async def digest_parts(self, day: date, lang: str, oblasts: Sequence[str] = (), *, pictures: bool = True,
                           zone: str | None = None) -> tuple[Part, ...]:
        """The digest of ``day`` in ``zone`` (the default time zone when None) as messages, then
        its chart and its map when there are incidents (``pictures``), cached briefly. The
        scheduled digest and /digest send the same parts."""
        zone = zone or self.default_timezone
        key: tuple[object, ...] = ("digest", day, lang, tuple(sorted(oblasts)), pictures, zone)
        cached = self._cache.get(key)
        if cached is not None and cached.expires > monotonic_time.monotonic():
            return cached.parts
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and cached.expires > monotonic_time.monotonic():
                return cached.parts
            parts = await asyncio.to_thread(self._render_digest, day, lang, tuple(oblasts), pictures, zone)
            self._cache[key] = _Rendered(monotonic_time.monotonic() + RENDER_TTL, parts)
            return parts

    def _render_digest(self, day: date, lang: str, oblasts: tuple[str, ...], pictures: bool,
                       zone: str) -> tuple[Part, ...]:
        views = list_incident_views(self.session_factory, since=day, until=day, oblasts=oblasts or None,
                                    posted_in=ZoneInfo(zone))
        names = self.reader_names()
        parts = [Part(text=m) for m in render_digest(views, day=day, lang=lang, html_mode=True, names=names)]
        if pictures:
            parts += [Part(text=t(lang, f"{p.kind}_caption", day=format_day(day, lang)), photo=p.png)
                      for p in pictures_of(views, names, day, lang)]
        return tuple(parts)

    def reader_names(self) -> Names:
        """Names in the reader's language, sharing the extractor's gazetteer when there is one."""
        if self.names is None:
            self.names = Names(self.extractor.gazetteer) if self.extractor is not None else load_names()
        return self.names

    def invalidate(self) -> None:
        """Forget rendered digests (new posts arrived)."""
        self._cache.clear()

    def incident_parts(self, views: Sequence[IncidentView], lang: str) -> tuple[Part, ...]:
        """Incidents rendered like the digest, for /incidents (no title day)."""
        return tuple(Part(text=m) for m in render_digest(views, day=None, lang=lang, html_mode=True,
                                                         names=self.reader_names()))

    # ------------------------------------------------ delivering

    async def deliver(self, bot: Bot, subscriber: SubscriberView, key: DeliveryKey,
                      parts: Sequence[Part]) -> Outcome:
        """Send ``parts`` to one subscriber under ``key`` exactly once (see ``bot.services.delivery``)."""
        return await deliver(self.session_factory, bot, subscriber, key, parts, pace=self.pace,
                             stale_after=self.stale_after, network_retries=self.network_retries,
                             paid_broadcast=self.paid_broadcast)

    async def send_digest(self, bot: Bot, subscriber: SubscriberView, day: date) -> Outcome:
        """The digest of ``day`` (the subscriber's language and regions), once per day."""
        parts = await self.digest_parts(day, subscriber.language, subscriber.oblasts, zone=subscriber.timezone)
        outcome = await self.deliver(bot, subscriber, DigestKey(day), parts)
        logger.info("digest %s for chat %s: %s", day, subscriber.chat_id, outcome)
        return outcome

    async def send_alerts(self, bot: Bot, incident_ids: Sequence[int]) -> dict[int, list[Outcome]]:
        """Instant alerts: an incident with deaths or a conflict, once per incident and subscriber.
        An incident alerted before whose toll rose gets a short update instead, sent to those who
        had its alert, at most once an hour (``toll_update_due``)."""
        if not incident_ids:
            return {}
        wanted = await asyncio.to_thread(self._alert_targets, incident_ids)
        results: dict[int, list[Outcome]] = {}
        for incident_id, (views, subscribers) in wanted.items():
            view = views[0]
            key = alert_key(view)
            disputed = {c.field for c in view.conflicts}  # a disputed figure is no rise to announce
            toll = (None if "killed" in disputed else view.summary.killed.best,
                    None if "injured" in disputed else view.summary.injured.best)
            due = await asyncio.to_thread(toll_update_due, self.session_factory, key, toll)
            told: list[SubscriberView] = []
            for subscriber in subscribers:
                parts = tuple(Part(text=m) for m in render_alert(view, lang=subscriber.language,
                                                                  zone=subscriber.zone, names=self.reader_names()))
                outcome = await self.deliver(bot, subscriber, key, parts)
                results.setdefault(incident_id, []).append(outcome)
                if outcome in (Outcome.ALREADY_SENT, Outcome.IN_PROGRESS):  # had the alert: tell them the rise
                    told.append(subscriber)
            if due is not None:
                for subscriber in told:
                    await self._send_update(bot, subscriber, view, due)
        return results

    async def _send_update(self, bot: Bot, subscriber: SubscriberView, view: IncidentView,
                           due: TollUpdate) -> Outcome:
        parts = tuple(Part(text=m) for m in render_alert_update(
            view, due.previous, lang=subscriber.language, zone=subscriber.zone, names=self.reader_names()))
        outcome = await self.deliver(bot, subscriber, due.key, parts)
        logger.info("alert update %s for chat %s: %s", due.key, subscriber.chat_id, outcome)
        return outcome

    def _incident_view(self, incident_id: int) -> IncidentView | None:
        with self.session_factory() as session:
            incident = session.get(Incident, incident_id)
            day = incident.date if incident is not None else None
        if day is None:
            return None
        return next((v for v in list_incident_views(self.session_factory, since=day, until=day)
                     if v.id == incident_id), None)

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
            views = [v for v in list_incident_views(self.session_factory, since=day, until=day)
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

    async def approve_channel(self, bot: Bot, chat_id: int, *, added_by: int | None) -> Approved | None:
        """Approve a pending channel off the event loop (its held posts ingested), then send the
        instant alerts its posts raise in the background; None when it was not pending."""
        if self.extractor is None:
            raise RuntimeError("no extractor loaded")
        work = functools.partial(vetting.approve, self.session_factory, self.extractor, chat_id, added_by=added_by)
        async with self._ingest_lock:
            approved = await asyncio.to_thread(retry_on_disconnect, work)
        if approved is not None:
            self.invalidate()
            if approved.incident_ids:
                self._background(self.send_alerts(bot, approved.incident_ids))
        return approved

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
        zone = subscriber.timezone if subscriber else self.default_timezone
        oblasts = subscriber.oblasts if subscriber else ()
        day = datetime.now(ZoneInfo(zone)).date()
        parts = await self.digest_parts(day, lang, oblasts, zone=zone)
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
            return list_incident_views(self.session_factory, limit=limit)
        names = [place]
        if self.extractor is not None:
            names += [p.name for p in self.extractor.gazetteer.lookup(place)]
        for name in dict.fromkeys(names):
            views = list_incident_views(self.session_factory, place=name, limit=limit)
            if views:
                return views
        return []

    # ------------------------------------------------ scheduled work

    def digest_day(self, subscriber: SubscriberView, now: datetime | None = None) -> date:
        """The day a scheduled digest reports (see ``report_day``)."""
        return report_day(subscriber, now or datetime.now(UTC))

    def start_digest(self, bot: Bot, subscriber: SubscriberView) -> None:
        """Send a subscriber's scheduled digest as a tracked task: stopping the bot interrupts it
        (see ``shutdown``), a restart resumes it."""
        self._background(self.send_digest(bot, subscriber, self.digest_day(subscriber)))

    async def resume_interrupted(self, bot: Bot) -> int:
        """At start-up: release deliveries a stopped process left ``sending`` and finish them."""
        released = await asyncio.to_thread(release_interrupted, self.session_factory, self.lease_owner)
        for chat_id, text in released:
            key = DeliveryKey.parse(text)
            if key is not None:
                self._background(self._resume(bot, chat_id, key))
        return len(released)

    async def _resume(self, bot: Bot, chat_id: int, key: DeliveryKey) -> None:
        subscriber = await asyncio.to_thread(get_subscriber, self.session_factory, chat_id)
        if subscriber is None or not subscriber.active:
            return
        if isinstance(key, DigestKey):
            await self.send_digest(bot, subscriber, key.report_day)
        elif isinstance(key, AlertUpdateKey):
            previous = await asyncio.to_thread(told_before, self.session_factory, key)
            incident_id = await asyncio.to_thread(_incident_of_post, self.session_factory, key.source_ref,
                                                  key.message_id)
            view = await asyncio.to_thread(self._incident_view, incident_id) if incident_id is not None else None
            if previous is not None and view is not None:
                await self._send_update(bot, subscriber, view, TollUpdate(key, previous))
        elif isinstance(key, IncidentAlertKey):
            await self.send_alerts(bot, [key.incident_id])
        elif isinstance(key, AlertKey):
            incident_id = await asyncio.to_thread(_incident_of_post, self.session_factory, key.source_ref,
                                                  key.message_id)
            if incident_id is not None:
                await self.send_alerts(bot, [incident_id])

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
            key = DigestKey(day)
            if self._claim_slot(subscriber.chat_id, key):
                self._background(self._release_slot(subscriber.chat_id, key, self.send_digest(bot, subscriber, day)))
                started += 1
        if started:
            logger.info("sweep: %d postponed or missed deliveries started", started)
        return started

    def _claim_slot(self, chat_id: int, key: DeliveryKey) -> bool:
        if (chat_id, key) in self._running:
            return False
        self._running.add((chat_id, key))
        return True

    async def _release_slot(self, chat_id: int, key: DeliveryKey, coro: Any) -> Any:
        try:
            return await coro
        finally:
            self._running.discard((chat_id, key))
