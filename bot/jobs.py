"""What PTB's JobQueue runs and when: each subscriber's daily digest, the delivery sweep, and the
poll of due sources; and subscribing, unsubscribing and settings changes, which move a digest job.

PTB keeps jobs in memory only, so ``rebuild_schedules`` recreates the digest jobs from the
database at start-up. A job finds its ``DeliveryService`` in ``job.data``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, Job, JobQueue

from bot.services import subscriptions
from bot.services.digests import DeliveryService
from bot.services.keys import DigestJob
from bot.services.polling import PollResult, poll_due
from bot.services.subscriptions import SubscriberView
from config.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.engine.extract import Extractor

logger = logging.getLogger(__name__)

SWEEP_JOB_NAME = "deliveries:sweep"
DEFAULT_SWEEP_INTERVAL = 60.0  # seconds between two sweeps for missed and pending deliveries
POLL_JOB_NAME = "poll:due"
POLL_JOB_INTERVAL = 30  # seconds between checks for due sources

Notify = Callable[[PollResult], Awaitable[Any]]
Context = CallbackContext[Any, Any, Any, Any]


# ---------------------------------------------------------------- daily digests


def schedule_digest(job_queue: JobQueue[Any], service: DeliveryService, subscriber: SubscriberView) -> None:
    """(Re)schedule one subscriber's daily digest job, or drop it when inactive."""
    name = DigestJob(subscriber.chat_id).format()
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    if subscriber.active:
        job_queue.run_daily(job_digest, time=subscriber.time_of_day, name=name, chat_id=subscriber.chat_id,
                            data=service, job_kwargs={"misfire_grace_time": 3600, "coalesce": True})


def unschedule_digest(job_queue: JobQueue[Any], chat_id: int) -> None:
    for job in job_queue.get_jobs_by_name(DigestJob(chat_id).format()):
        job.schedule_removal()


def rebuild_schedules(job_queue: JobQueue[Any], service: DeliveryService) -> int:
    """JobQueue keeps jobs in memory only: recreate every active subscriber's job."""
    active = subscriptions.list_active_subscribers(service.session_factory)
    for subscriber in active:
        schedule_digest(job_queue, service, subscriber)
    logger.info("scheduled %d digest jobs", len(active))
    return len(active)


async def job_digest(context: Context) -> None:
    """Send one subscriber's daily digest."""
    job = context.job
    if job is None or job.chat_id is None or not isinstance(job.data, DeliveryService):
        return
    service = job.data
    subscriber = await asyncio.to_thread(subscriptions.get_subscriber, service.session_factory, job.chat_id)
    if subscriber is None or not subscriber.active:
        job.schedule_removal()
        return
    service.start_digest(context.bot, subscriber)


# ---------------------------------------------------------------- subscriptions with their schedules


def subscribe(job_queue: JobQueue[Any] | None, service: DeliveryService, chat_id: int, *, chat_type: str,
              language: str, oblasts: Sequence[str] | None = None) -> tuple[SubscriberView, bool]:
    """Subscribe a chat and schedule its digest."""
    subscriber, changed = subscriptions.subscribe(service.session_factory, chat_id, chat_type=chat_type,
                                                  language=language, timezone=service.default_timezone,
                                                  oblasts=oblasts)
    if job_queue is not None:
        schedule_digest(job_queue, service, subscriber)
    return subscriber, changed


def unsubscribe(job_queue: JobQueue[Any] | None, service: DeliveryService, chat_id: int) -> bool:
    """Unsubscribe a chat and drop its digest job."""
    done = subscriptions.unsubscribe(service.session_factory, chat_id)
    if job_queue is not None:
        unschedule_digest(job_queue, chat_id)
    return done


def update_settings(job_queue: JobQueue[Any] | None, service: DeliveryService, chat_id: int,
                    **changes: Any) -> SubscriberView:
    """Change settings (see ``subscriptions.update_settings``) and reschedule the digest."""
    subscriber = subscriptions.update_settings(service.session_factory, chat_id, **changes)
    if job_queue is not None and ("digest_time" in changes or "timezone" in changes):
        schedule_digest(job_queue, service, subscriber)
    return subscriber


# ---------------------------------------------------------------- the delivery sweep


def schedule_sweep(job_queue: JobQueue[Any], service: DeliveryService,
                   interval: float = DEFAULT_SWEEP_INTERVAL) -> None:
    """Every ``interval`` seconds (and once right away): resume postponed deliveries and send
    digests missed while the bot was down or Telegram was unreachable."""
    for job in job_queue.get_jobs_by_name(SWEEP_JOB_NAME):
        job.schedule_removal()
    job_queue.run_repeating(job_sweep, interval=interval, first=0.05, name=SWEEP_JOB_NAME, data=service,
                            job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})


async def job_sweep(context: Context) -> None:
    """Start the postponed and missed deliveries that are due."""
    job = context.job
    if job is not None and isinstance(job.data, DeliveryService):
        await job.data.sweep(context.bot)


# ---------------------------------------------------------------- polling sources


def schedule_polling(
    job_queue: JobQueue[Any],
    session_factory: sessionmaker[Session],
    settings: Settings,
    extractor: Extractor,
    notify: Notify | None = None,
) -> Job[Any]:
    """Register the repeating job that polls due sources every 30 seconds.

    Args:
        notify: awaited with the result of each poll that paused its source (e.g. to tell admins).

    Returns:
        The job (named ``poll:due``).
    """

    async def job_poll_due(context: Context) -> None:
        """Poll the due sources; tell admins about any that got paused."""
        results = await poll_due(session_factory, settings, extractor)
        for result in results:
            if result.paused and notify is not None:
                try:
                    await notify(result)
                except Exception:
                    logger.exception("could not tell admins that %s was paused", result.label)

    return job_queue.run_repeating(
        job_poll_due, interval=POLL_JOB_INTERVAL, first=5, name=POLL_JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
