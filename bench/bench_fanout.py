"""Digest fan-out: N subscribers through the project's Bot API server with Telegram's flood limits on.

The real Application (``bot.app.build_application``, its updater polling, its ``AIORateLimiter``) runs
in this process against ``BotApiServer`` on 127.0.0.1 with ``rate_limit()`` (30 messages/s overall,
1/s per chat, answered with 429 and ``retry_after`` as Telegram does). Subscribers are added with
``DeliveryService.subscribe`` (which schedules each one's daily digest job) into a fresh SQLite
database, in uk/en/ru in turn; bench_extract's constructed posts, dated the digest's day, are imported
so the digest is non-empty (text and chart). Then every digest job is made due at once through the
real scheduler, as at a shared digest time, and the run ends when every delivery row is no longer
``sending`` and the background sends are done. Counted on the server: messages delivered, 429
answers, duplicates (a subscriber got a part more than once) and losses (an active subscriber lacks
part of the digest). The same fan-out runs twice, side by side: with the free limits (the bot
paced at 29 a second) and as paid broadcasts (``CLAIMWATCH_PAID_BROADCAST``, the bot paced at
``CLAIMWATCH_BROADCAST_RATE``, the server letting sends marked ``allow_paid_broadcast`` past its
free 30 a second, up to 1,000); each row's pace is compared with the one configured. Run:
``python -m bench.bench_fanout --subscribers 1000 --paid-rate 200``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import KYIV, percentile, print_table, unpin

CEILING = 30.0  # Telegram's overall limit, messages per second
FIRST_CHAT = 700_000
LANGS = ("en", "uk", "ru")


@dataclass(frozen=True, slots=True)
class FanoutResult:
    paid_rate: float | None  # CLAIMWATCH_BROADCAST_RATE with paid broadcasts on; None: the free limits
    subscribers: int
    parts: dict[str, int]
    messages: int
    attempts: int
    seconds: float
    p50_complete: float
    p95_complete: float
    too_many: int
    duplicates: int
    losses: int
    statuses: dict[str, int]
    incidents: int
    limiter_gave_up: int
    cpu_seconds: float  # CPU this process (the bot and the test server) used from the firing to the end


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def counted(logger_name: str) -> Iterator[_Counter]:
    """Count a logger's records instead of printing them (restored afterwards)."""
    logger = logging.getLogger(logger_name)
    counter, propagate = _Counter(), logger.propagate
    logger.addHandler(counter)
    logger.propagate = False
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.propagate = propagate


def _incident_export(day: Any, count: int) -> Any:
    """bench_extract's constructed posts, re-dated to ``day`` (every 10 minutes from 07:00 Kyiv)."""
    from bench.bench_extract import constructed_posts
    from bot.exports import ChannelExport

    start = datetime.combine(day, datetime.min.time(), KYIV) + timedelta(hours=7)
    posts = tuple(replace(p.post, posted_at=start + timedelta(minutes=10 * n))
                  for n, p in enumerate(constructed_posts(count)))
    return ChannelExport(Path("<bench fanout>"), "bench-fanout", "Bench channel", None, posts, 0)


async def fan_out(subscribers: int, pace: float | None, posts: int, timeout: float | None,
                  say: Any = print, paid_rate: float | None = None, pg: str | None = None) -> FanoutResult:
    from bench.clocked_api import ClockedBotApiServer
    from bot import jobs as bot_jobs
    from bot.app import build_application, stop_application
    from bot.services import ingest, reports, subscriptions
    from bot.services.delivery import count_deliveries
    from bot.telegram.send import DEFAULT_PACE
    from bot.engine.extract import Extractor
    from bot.engine.types import ImportStats
    from config.settings import load_settings
    from handlers import RUNTIME_KEY
    from store.db import open_database, scratch_schema
    from telegram import Update

    extractor = Extractor.load()
    database = scratch_schema(pg, prefix="bench_fanout") if pg else contextlib.nullcontext(None)
    # PTB logs each send its AIORateLimiter stops retrying (then send_part waits the 429 out): counted
    with tempfile.TemporaryDirectory(prefix="claimwatch-fanout-") as tmp, database as schema, \
            ClockedBotApiServer() as server, \
            counted("telegram.ext.AIORateLimiter") as gave_up:
        paid = {"CLAIMWATCH_PAID_BROADCAST": "1", "CLAIMWATCH_BROADCAST_RATE": str(paid_rate)} if paid_rate else {}
        settings = load_settings(TELEGRAM_BOT_TOKEN=server.token, CLAIMWATCH_TELEGRAM_API_URL=server.url,
                                 CLAIMWATCH_TME_URL=server.url,
                                 CLAIMWATCH_DATABASE_URL=schema[0] if schema else f"sqlite:///{tmp}/fanout.db", **paid)
        engine, factory = open_database(settings.database_url)
        app = build_application(settings, factory, extractor, pace=DEFAULT_PACE if pace is None else pace,
                                poll_sources=False)
        await app.initialize()
        assert app.post_init is not None and app.updater is not None and app.job_queue is not None
        await app.post_init(app)
        await app.updater.start_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)
        await app.start()
        delivery = app.bot_data[RUNTIME_KEY].delivery
        try:
            chats = [FIRST_CHAT + i for i in range(subscribers)]
            start = time.perf_counter()
            for i, chat in enumerate(chats):
                server.set_chat(chat, chat_type="private")
                await asyncio.to_thread(bot_jobs.subscribe, app.job_queue, delivery, chat, chat_type="private",
                                        language=LANGS[i % len(LANGS)])
            say(f"  {subscribers} subscribers added in {time.perf_counter() - start:.1f} s")
            first = subscriptions.get_subscriber(factory, chats[0])
            assert first is not None
            day = delivery.digest_day(first)
            stats = ImportStats()
            ingest.import_export(factory, _incident_export(day, posts), extractor, stats)
            incidents = reports.store_totals(factory)["incidents"]
            say(f"  {posts} posts dated {day} imported: {stats.claims} claims, {incidents} incidents")
            key = f"digest:{day.isoformat()}"

            server.reset_records()
            server.rate_limit()  # Telegram's flood limits: 30/s overall, 1/s per chat, 20/min per group
            jobs = [j for j in app.job_queue.jobs() if j.name and j.name.startswith("digest:")]
            fired, cpu_fired = time.perf_counter(), time.process_time()
            now = datetime.now(UTC)
            for job in jobs:
                job.job.modify(next_run_time=now)
            limit = timeout or max(60.0, 4 * subscribers * 3 / (paid_rate or CEILING))
            while True:
                statuses = await asyncio.to_thread(count_deliveries, factory, key)
                if sum(statuses.values()) >= subscribers and not statuses.get("sending"):
                    break
                if time.perf_counter() - fired > limit:
                    say(f"  gave up waiting after {limit:.0f} s: deliveries {statuses}")
                    break
                await asyncio.sleep(0.2)
            await asyncio.wait_for(delivery.wait_background(), timeout=30)
            cpu = time.process_time() - cpu_fired
            statuses = await asyncio.to_thread(count_deliveries, factory, key)
            parts = {lang: len(await delivery.digest_parts(day, lang, ())) for lang in LANGS}
        finally:
            await stop_application(app)
            engine.dispose()

        wanted = set(chats)
        sent = [r for r in server.sent if r["chat_id"] in wanted and r["method"] in ("sendMessage", "sendPhoto")]
        if paid_rate and not all(r["paid_broadcast"] for r in sent):
            say("  some digest messages went out without allow_paid_broadcast")
        attempts = sum(1 for name, params in server.calls
                       if name in ("sendMessage", "sendPhoto") and params.get("chat_id") in wanted)
        per_chat = Counter(r["chat_id"] for r in sent)
        per_part = Counter((r["chat_id"], r["method"], r["text"] or r.get("caption")) for r in sent)
        duplicated = {chat for (chat, _, _), n in per_part.items() if n > 1}
        expected = {chat: parts[LANGS[i % len(LANGS)]] for i, chat in enumerate(chats)}
        lost = {chat for chat in chats if per_chat[chat] < expected[chat]}
        arrivals = server.all_arrivals()
        complete = [max(arrivals[chat]) - fired for chat in chats if chat in arrivals and chat not in lost]
        last = max((t for chat in chats for t in arrivals.get(chat, [])), default=fired)
        return FanoutResult(paid_rate, subscribers, parts, len(sent), attempts, last - fired,
                            percentile(complete, 50), percentile(complete, 95), server.too_many_requests,
                            len(duplicated), len(lost), statuses, incidents, gave_up.count, cpu)


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--pace", type=float, default=None,
                        help="seconds between the parts of one delivery (default: the bot's own, 1.05)")
    parser.add_argument("--posts", type=int, default=30, help="posts dated the digest's day (its incidents)")
    parser.add_argument("--timeout", type=float, default=None, help="give up waiting after this many seconds")
    parser.add_argument("--pg", default=None, metavar="URL",
                        help="run on PostgreSQL (a schema of its own, dropped after) instead of a SQLite file")
    parser.add_argument("--paid-rate", type=float, default=200.0,
                        help="CLAIMWATCH_BROADCAST_RATE of the paid-broadcast run (default: 200; 0: no paid run)")
    args = parser.parse_args(argv)

    print(f"fan-out benchmark: {args.subscribers} subscribers, flood limits on; {unpin()}", flush=True)
    from bot.app import FREE_RATE

    runs = [asyncio.run(fan_out(args.subscribers, args.pace, args.posts, args.timeout, paid_rate=rate, pg=args.pg))
            for rate in (None, args.paid_rate or None) if rate or rate is None]
    first = runs[0]
    parts = ", ".join(f"{lang} {n}" for lang, n in first.parts.items())
    statuses = "; ".join(f"{_mode(r)}: " + ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items())) for r in runs)
    rows = []
    for r in runs:
        configured = r.paid_rate or FREE_RATE
        rate = r.messages / r.seconds if r.seconds else float("nan")
        rows.append([_mode(r), r.subscribers, r.messages, r.attempts, r.seconds, rate, configured, rate / configured,
                     r.paid_rate or CEILING, r.p50_complete, r.p95_complete, r.too_many, r.duplicates, r.losses,
                     r.cpu_seconds / r.seconds if r.seconds else float("nan"),
                     r.messages / r.cpu_seconds if r.cpu_seconds else float("nan")])
    return [print_table(
        f"Digest fan-out through the real Application and DeliveryService on {'PostgreSQL' if args.pg else 'SQLite'} "
        f"({first.incidents} incidents; parts per "
        f"digest: {parts}; delivery rows: {statuses}; sends AIORateLimiter gave up on after its 3 retries: "
        f"{' / '.join(str(r.limiter_gave_up) for r in runs)})",
        ["sending as", "subscribers", "messages", "send calls", "seconds", "messages/s", "configured pace /s",
         "share of configured pace", "server ceiling /s", "subscriber done s p50", "p95", "429s received",
         "duplicates", "losses", "cores used (bot + server)", "messages per CPU s"],
        rows,
    )]


def _mode(result: FanoutResult) -> str:
    return f"paid broadcast at {result.paid_rate:g}/s" if result.paid_rate else "free limits"


if __name__ == "__main__":
    main()
