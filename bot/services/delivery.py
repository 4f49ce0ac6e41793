"""The delivery log: each digest and instant alert reaches each subscriber exactly once.

Exactly-once, and what happens on a crash
-----------------------------------------
Every digest or alert for one chat has a key (a ``bot.services.keys.DeliveryKey``) and
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
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.error import BadRequest, Forbidden

from bot.services.keys import (
    AlertKey,
    AlertUpdateKey,
    DeliveryKey,
    DigestKey,
    IncidentAlertKey,
)
from bot.services.subscriptions import SubscriberView, deactivate, view_of
from bot.telegram.send import DEFAULT_PACE, MAX_NETWORK_RETRIES, GaveUp, Part, send_part
from bot.telegram.tracked_request import PartTracker, tracking
from store import queries
from store.models import Delivery, DeliveryStatus, Subscriber
from store.queries import deliveries as delivery_queries

logger = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(minutes=10)
DEFAULT_SWEEP_INTERVAL = 60.0  # seconds between two sweeps for missed and pending deliveries
DEFAULT_RETRY_DELAY = timedelta(seconds=30)  # a delivery that hit an outage waits this long
CATCH_UP_WINDOW = timedelta(hours=6)  # a digest missed while the bot was down is sent this late
GIVE_UP_AFTER_DAYS = 2  # a digest or alert older than this is not retried any more


Status = DeliveryStatus


class Outcome(StrEnum):
    """What one ``deliver`` call did."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    BLOCKED = "blocked"
    POSTPONED = "postponed"  # Telegram could not be reached; retried by the sweep


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: int
    start: int


# ---------------------------------------------------------------- the delivery log


def begin_delivery(session_factory: sessionmaker[Session], subscriber_id: int, key: DeliveryKey | str, *,
                   stale_after: timedelta = DEFAULT_STALE_AFTER, now: datetime | None = None) -> _Claimed | Outcome:
    """Claim the delivery (subscriber, key): insert it as ``sending``, or resume an orphaned one.

    Returns the part to start from, or the Outcome that says why nothing is to be sent. The
    claim is a compare-and-set on (status, claimed at), so two workers never both win it.
    """
    now = now or datetime.now(UTC)
    key = str(key)
    try:
        with session_factory.begin() as session:
            row = queries.get_delivery(session, subscriber_id, key)
            if row is None:
                return _Claimed(queries.add_delivery(session, subscriber_id, key, now).id, 0)
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
            if not queries.claim_delivery(session, row, now, attempts=len(ids), message_ids=ids, error=error):
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
            if subscriber is not None and isinstance(DeliveryKey.parse(row.key), DigestKey):
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
        rows = queries.list_deliveries_by_status(session, Status.SENDING)
        for delivery, _ in rows:
            delivery.status = Status.PENDING
        released = [(chat_id, delivery.key) for delivery, chat_id in rows]
    if released:
        logger.info("released %d interrupted deliveries", len(released))
    return released


UPDATE_EVERY = timedelta(hours=1)  # at most one toll update per alerted incident this often


@dataclass(frozen=True, slots=True)
class TollUpdate:
    """An update of an alert to send: its key and the (killed, injured) subscribers were told before."""

    key: AlertUpdateKey
    previous: tuple[int | None, int | None]


def _rose(now: tuple[int | None, int | None], told: tuple[int | None, int | None]) -> bool:
    return any(new is not None and new > (old or 0) for new, old in zip(now, told, strict=True))


def toll_update_due(session_factory: sessionmaker[Session], alert: AlertKey, toll: tuple[int | None, int | None], *,
                    now: datetime | None = None, every: timedelta = UPDATE_EVERY) -> TollUpdate | None:
    """Whether the alert of an incident needs an update: its toll (killed, injured; None for a
    figure that is unknown or disputed, which keeps what was told) rose above what subscribers
    were last told, and no update went out in the last ``every``. The first call for
    an alert only records the toll the alert told. A due update is recorded here (compare-and-set,
    so two processes never both send it); the toll, the number and the time are in the database,
    so a restart sends no update twice. A rise within the hour is told by the next rise after it."""
    moment = now or datetime.now(UTC)
    with session_factory.begin() as session:
        row = delivery_queries.get_alert_toll(session, alert.format())
        if row is None:
            delivery_queries.add_alert_toll(session, alert.format(), *toll)
            return None
        told = (row.killed, row.injured)
        if not _rose(toll, told) or (row.updated_at is not None and moment - row.updated_at < every):
            return None
        killed, injured = (new if new is not None else old for new, old in zip(toll, told, strict=True))
        number = delivery_queries.claim_alert_update(session, row, killed=killed, injured=injured, now=moment)
        if number is None:
            return None
        return TollUpdate(AlertUpdateKey(alert.source_ref, alert.message_id, number), told)


def told_before(session_factory: sessionmaker[Session], key: AlertUpdateKey) -> tuple[int | None, int | None] | None:
    """The toll an update's subscribers were told before it (to resume it), None when a later
    update superseded it."""
    with session_factory() as session:
        row = delivery_queries.get_alert_toll(session, key.alert().format())
        if row is None or row.updates != key.number:
            return None
        return row.previous_killed, row.previous_injured


def count_deliveries(session_factory: sessionmaker[Session], key: DeliveryKey | str) -> dict[str, int]:
    """Rows of one key by status (for admins and tests)."""
    with session_factory() as session:
        return queries.count_by_status(session, str(key))


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


@dataclass(frozen=True, slots=True)
class DueWork:
    """What a sweep found: postponed deliveries to resume and digests missed while down."""

    resume: tuple[tuple[int, DeliveryKey], ...] = ()  # (chat id, key)
    missed: tuple[tuple[SubscriberView, date], ...] = ()
    given_up: int = 0


def find_due_work(session_factory: sessionmaker[Session], now: datetime, *, retry_delay: timedelta,
                  catch_up: timedelta = CATCH_UP_WINDOW) -> DueWork:
    """Pending deliveries whose retry delay has passed (too old ones are given up), and each
    active subscriber's last digest slot within ``catch_up`` that has no delivery yet."""
    oldest = now.date() - timedelta(days=GIVE_UP_AFTER_DAYS)
    resume: list[tuple[int, DeliveryKey]] = []
    given_up = 0
    with session_factory.begin() as session:
        rows = queries.list_deliveries_by_status(session, Status.PENDING, created_before=now - retry_delay,
                                                 active_only=True)
        for delivery, chat_id in rows:
            key = DeliveryKey.parse(delivery.key)
            day = key.day() if key is not None else None
            if day is None and isinstance(key, (AlertKey, AlertUpdateKey, IncidentAlertKey)):
                day = delivery.created_at.date()
            if day is not None and day < oldest:
                delivery.status = Status.FAILED
                delivery.error = f"given up: not delivered within {GIVE_UP_AFTER_DAYS} days"
                given_up += 1
            elif key is not None:
                resume.append((chat_id, key))
        wanted: dict[tuple[int, str], tuple[SubscriberView, date]] = {}  # by (subscriber id, key)
        for subscriber in map(view_of, queries.list_subscribers(session, active_only=True)):
            slot = last_slot(subscriber, now)
            if now - slot > catch_up or (subscriber.subscribed_at is not None and slot < subscriber.subscribed_at):
                continue
            day = report_day(subscriber, slot)
            wanted[(subscriber.id, DigestKey(day).format())] = (subscriber, day)
        present = queries.existing_keys(session, {k for _, k in wanted})
    missed = tuple(v for k, v in wanted.items() if k not in present)
    return DueWork(tuple(resume), missed, given_up)


async def deliver(session_factory: sessionmaker[Session], bot: Bot, subscriber: SubscriberView, key: DeliveryKey,
                  parts: Sequence[Part], *, pace: float = DEFAULT_PACE, stale_after: timedelta = DEFAULT_STALE_AFTER,
                  network_retries: int = MAX_NETWORK_RETRIES, paid_broadcast: bool = False) -> Outcome:
    """Send ``parts`` to one subscriber under ``key`` exactly once (see the module docstring);
    ``paid_broadcast``: as paid broadcasts (``send_part``)."""
    claimed = await asyncio.to_thread(begin_delivery, session_factory, subscriber.id, key,
                                      stale_after=stale_after)
    if isinstance(claimed, Outcome):
        return claimed
    chat_id = subscriber.chat_id
    try:
        for index in range(claimed.start, len(parts)):
            if index > claimed.start:
                await asyncio.sleep(pace)
            with tracking(_tracker(session_factory, claimed.delivery_id, index)):
                message_id = await send_part(bot, chat_id, parts[index], network_retries=network_retries,
                                             paid_broadcast=paid_broadcast)
            await asyncio.to_thread(_mark_part_sent, session_factory, claimed.delivery_id, index, message_id)
    except Forbidden as exc:
        logger.info("chat %s refuses messages (%s): deactivated", chat_id, exc.message)
        await asyncio.to_thread(_finish, session_factory, claimed.delivery_id, Status.FAILED,
                                f"forbidden: {exc.message}")
        await asyncio.to_thread(deactivate, session_factory, chat_id, exc.message)
        return Outcome.BLOCKED
    except BadRequest as exc:
        logger.warning("delivery %s to chat %s failed: %s", key, chat_id, exc)
        await asyncio.to_thread(_finish, session_factory, claimed.delivery_id, Status.FAILED, str(exc)[:500])
        return Outcome.FAILED
    except GaveUp as exc:  # Telegram is down or flooded: the sweep retries it later
        logger.warning("delivery %s to chat %s postponed: %s", key, chat_id, exc)
        await asyncio.to_thread(_finish, session_factory, claimed.delivery_id, Status.PENDING, str(exc)[:500])
        return Outcome.POSTPONED
    await asyncio.to_thread(_finish, session_factory, claimed.delivery_id, Status.SENT)
    return Outcome.SENT
