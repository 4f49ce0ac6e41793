"""``claimwatch worker``: a process that polls due channels and feeds and ingests what they posted.

Any number of workers, on any machines, share one PostgreSQL database with the bot process: each
poll starts with a claim (``bot.services.polling.claim_due``: ``FOR UPDATE SKIP LOCKED``, the
source's next poll moved to the end of a lease), so two workers never poll the same source for
the same due time, and a worker killed mid-poll leaves its sources due again when their leases
run out. The bot process keeps reading Telegram updates and sending digests; with workers it is
started with ``claimwatch run --no-poll`` (or ``CLAIMWATCH_POLL_IN_BOT=false``).

On SQLite the command refuses to start (one line): a SQLite file has one writer at a time and
lives on one machine, so a second process adds no throughput; the bot polls by itself there.

Each worker runs ``concurrency`` slots: a slot claims one due source, fetches it and stores it
(one storing transaction at a time per process: extraction holds the interpreter), then claims
the next; when nothing is due it looks again after ``idle`` seconds. SIGTERM or SIGINT stops
claiming, lets the polls in flight finish (at most ``grace`` seconds; a poll cut short gives its
claim back) and logs one line with what the worker did; a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.services import polling
from bot.services.polling import POLL_CONCURRENCY, POLL_LEASE, PollResult
from config.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.engine.extract import Extractor
    from bot.pollers import SafeFetcher

logger = logging.getLogger(__name__)

DEFAULT_IDLE = 5.0  # seconds between two looks for due sources while none is due
DEFAULT_GRACE = 30.0  # seconds the polls in flight may take to finish after SIGTERM


class WorkerRefused(Exception):
    """The worker cannot run against this database; the message is one line."""


@dataclass(slots=True)
class WorkerStats:
    """What one worker did: polls (and how many failed), posts stored new and updated."""

    polls: int = 0
    failed: int = 0
    new: int = 0
    updated: int = 0

    def add(self, result: PollResult) -> None:
        self.polls += 1
        self.failed += 0 if result.ok else 1
        self.new += result.new
        self.updated += result.updated

    def line(self) -> str:
        return (f"{self.polls} polls ({self.failed} failed), {self.new} new posts, "
                f"{self.updated} updated")


def require_shared_database(database_url: str) -> None:
    """Workers share a PostgreSQL database.

    Raises:
        WorkerRefused: ``database_url`` is a SQLite file.
    """
    if database_url.startswith("sqlite"):
        raise WorkerRefused(
            "workers need PostgreSQL (--db or CLAIMWATCH_DATABASE_URL=postgresql://...): a SQLite file has one "
            "writer at a time, so on SQLite the bot polls its sources by itself (claimwatch run)")


async def work(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor,
               stop: asyncio.Event, *, concurrency: int = POLL_CONCURRENCY, idle: float = DEFAULT_IDLE,
               lease: timedelta = POLL_LEASE, fetcher: SafeFetcher | None = None,
               stats: WorkerStats | None = None) -> WorkerStats:
    """Claim, poll and store due sources until ``stop`` is set; then return once the polls in
    flight are done. Cancelling it gives back the claims of the polls it cut short."""
    from bot.services.sources import make_fetcher

    done = stats if stats is not None else WorkerStats()
    own = fetcher is None
    client = fetcher or make_fetcher(settings)
    store_lock = asyncio.Lock()

    async def slot() -> None:
        while not stop.is_set():
            try:
                claimed = await asyncio.to_thread(polling.claim_due, session_factory, lease=lease, limit=1)
            except Exception as exc:  # noqa: BLE001 (the database stayed away past the retries: look again later)
                logger.warning("could not claim due sources: %s", _one_line(exc))
                claimed = []
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle)
                continue
            snapshot = claimed[0]
            try:
                result = await polling.poll_claimed(session_factory, settings, extractor, snapshot, client,
                                                    store_lock)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(polling.release, session_factory, snapshot)
                raise
            done.add(result)

    try:
        await asyncio.gather(*(slot() for _ in range(max(1, concurrency))))
    finally:
        if own:
            await client.aclose()
    return done


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


async def _serve(session_factory: sessionmaker[Session], settings: Settings, extractor: Extractor, *,
                 concurrency: int, idle: float, lease: timedelta, grace: float) -> WorkerStats:
    stop = asyncio.Event()
    stats = WorkerStats()
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work(session_factory, settings, extractor, stop, concurrency=concurrency,
                                      idle=idle, lease=lease, stats=stats))
    received: list[str] = []

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        received.append(name)
        if len(received) == 1:
            logger.info("worker stopping on %s: finishing the polls in flight (at most %.0f s)", name, grace)
            stop.set()
            loop.call_later(grace, task.cancel)
        else:
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return stats


WARM_UP = (("Внаслідок обстрілу Харкова загинули 2 людини.", "uk"), ("В результате обстрела Херсона ранены 3 человека.", "ru"),
           ("Shelling of Sumy killed one person, the governor said.", "en"))


def warm_up(extractor: Extractor) -> None:
    """Read one sentence per language, so the pipelines' first-use set-up (seconds) happens
    before the worker claims anything rather than inside its first poll."""
    extractor.extract_many([(text, None, None, lang) for text, lang in WARM_UP])


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_worker(settings: Settings, *, concurrency: int = POLL_CONCURRENCY, idle: float = DEFAULT_IDLE,
               lease: timedelta = POLL_LEASE, grace: float = DEFAULT_GRACE) -> int:
    """``claimwatch worker``: refuse SQLite, open the database, load the engine, then poll due
    sources until SIGTERM or SIGINT. Returns the exit status."""
    from bot.services.ingest import load_extractor
    from store.db import DatabaseError, describe, open_database

    try:
        require_shared_database(settings.database_url)
    except WorkerRefused as exc:
        print(f"claimwatch: {exc}", file=sys.stderr)
        return 1
    # SIGTERM while the engine loads stops the process as SIGINT does (one line, no traceback)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _, session_factory = open_database(settings.database_url)
    except DatabaseError as exc:
        print(f"claimwatch: {exc}", file=sys.stderr)
        return 1
    extractor = load_extractor(settings)
    warm_up(extractor)
    started = time.monotonic()
    logger.info("worker started: polling the due sources of %s, %d at a time (looking every %g s when none is due)",
                describe(settings.database_url), concurrency, idle)
    stats = asyncio.run(_serve(session_factory, settings, extractor, concurrency=concurrency, idle=idle,
                               lease=lease, grace=grace))
    logger.info("worker stopped after %.0f s: %s", time.monotonic() - started, stats.line())
    return 0


__all__ = ["WorkerRefused", "WorkerStats", "require_shared_database", "run_worker", "work"]
