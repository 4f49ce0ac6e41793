"""Memory: resident memory of the bot process with the gazetteer loaded and a store of N claims.

The store is bench_link's generated one (``Generator`` + ``grow``: realistic places, kinds and
evidence over one year) in a SQLite file in a temp dir. The bot is measured in a child process of its
own, started fresh, which reports its resident set (``VmRSS``) and its peak (``VmHWM``, the same as
``ru_maxrss``) from ``/proc/self/status`` at each stage: the bare interpreter; after
``Extractor.load()``; after the real Application is started (database opened, start-up work done,
updater long-polling the project's Bot API server in this process); after a few channel posts went
through the bot's channel handler; after ``/digest`` (today's digest with its chart), ``/incidents``
and ``/start`` were answered; after the scheduled digest of the busiest generated day was rendered
(``DeliveryService.digest_parts``, as the digest job does); and the peak at the end.
Run: ``python -m bench.bench_memory --claims 1000000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bench import print_table, unpin

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = -1_001_900_000
USER = 4242

# Runs first in the child: the baseline is read before anything of claimwatch (or bench) is imported.
_CHILD = """
import sys
def _status():
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in f) if k in ("VmRSS", "VmHWM")}
baseline = _status()
from bench.bench_memory import child
child(baseline)
"""


def status_kib() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KiB."""
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}


def _report(stage: str, **extra: object) -> None:
    print(json.dumps({"stage": stage, **status_kib(), **extra}), flush=True)


def child(baseline: dict[str, int]) -> None:
    """The bot process: load, start, then follow the parent's lines on stdin (``mark <stage>``,
    ``render <YYYY-MM-DD>``, ``stop``), reporting memory as JSON lines on stdout."""
    print(json.dumps({"stage": "interpreter", **baseline}), flush=True)
    from bot.engine.extract import Extractor

    extractor = Extractor.load()
    _report("Extractor.load()")
    asyncio.run(_child_bot(extractor))


async def _child_bot(extractor: Any) -> None:
    import resource

    from bot.app import build_application
    from config.settings import load_settings
    from handlers import RUNTIME_KEY
    from store.db import open_database
    from telegram import Update

    settings = load_settings()
    engine, factory = open_database(settings.database_url)
    app = build_application(settings, factory, extractor, poll_sources=False)
    await app.initialize()
    assert app.post_init is not None and app.updater is not None
    await app.post_init(app)
    await app.updater.start_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)
    await app.start()
    _report("Application started (database open, updater polling)")
    delivery = app.bot_data[RUNTIME_KEY].delivery
    try:
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if not line or line == "stop":
                break
            verb, _, arg = line.partition(" ")
            if verb == "mark":
                _report(arg)
            elif verb == "render":
                day = date.fromisoformat(arg)
                start = time.perf_counter()
                parts = await delivery.digest_parts(day, "en", ())
                _report(f"digest of {day} rendered", parts=len(parts), seconds=time.perf_counter() - start)
    finally:
        await app.updater.stop()
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _report("end", ru_maxrss=peak)


def build_store(url_path: Path, claims: int, say: Any = print) -> tuple[date, int, int]:
    """bench_link's generated store of ``claims`` claims in a SQLite file; returns the busiest day,
    its incidents and the store's incidents."""
    from sqlalchemy import func, select

    from bench.bench_link import Generator, grow, insert_sources, store_places
    from store import queries
    from store.db import open_database
    from store.models import Incident, Transport

    engine, session_factory = open_database(f"sqlite:///{url_path}")
    try:
        places, weights = store_places()
        gen = Generator(places, weights)
        insert_sources(engine)
        with session_factory.begin() as session:  # the bench channel, approved as a source
            queries.upsert_source(session, str(CHANNEL), "Bench channel", handle="bench_channel",
                                  transport=Transport.TELEGRAM, url="https://t.me/bench_channel")
        seconds = grow(engine, gen, claims)
        with engine.connect() as conn:
            day, count = conn.execute(select(Incident.date, func.count()).group_by(Incident.date)
                                      .order_by(func.count().desc()).limit(1)).one()
        say(f"store: {gen.claim_id:,} claims, {gen.incident_id:,} incidents in {seconds:.1f} s "
            f"({url_path.stat().st_size / 2**20:.0f} MiB on disk)")
        return day, count, gen.incident_id
    finally:
        engine.dispose()


class ChildBot:
    """The child process and its JSON lines."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.lines: list[dict[str, Any]] = []

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the bot process ended ({self.proc.wait()}) before reporting")
            if line.startswith("{"):
                record = json.loads(line)
                self.lines.append(record)
                return record

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run(claims: int, posts: int, say: Any = print) -> list[str]:
    import tempfile

    from bench.bench_extract import constructed_posts
    from tests.support.botapi import BotApiServer

    with tempfile.TemporaryDirectory(prefix="claimwatch-memory-") as tmp, BotApiServer() as server:
        folder = Path(tmp)
        db = folder / "memory.db"
        busiest, busiest_incidents, incidents = build_store(db, claims, say)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "TELEGRAM_"))}
        env.update({"TELEGRAM_BOT_TOKEN": server.token, "CLAIMWATCH_TELEGRAM_API_URL": server.url,
                    "CLAIMWATCH_TME_URL": server.url, "CLAIMWATCH_DATABASE_URL": f"sqlite:///{db}",
                    "CLAIMWATCH_LOG_LEVEL": "WARNING", "PYTHONPATH": os.pathsep.join(
                        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)})
        bot = ChildBot(env, folder)
        try:
            for _ in range(3):  # interpreter, Extractor.load(), started
                bot.read()
            # channel posts through the bot's channel handler (the channel was approved as a source)
            texts = [p.post.text for p in constructed_posts(posts, seed=3)]
            for text in texts:
                server.channel_post(CHANNEL, text, title="Bench channel", username="bench_channel")
            deadline = time.monotonic() + 120
            while not _stored(db, str(CHANNEL), len(texts)):
                if time.monotonic() > deadline:
                    raise RuntimeError("the bot did not store the channel posts within 120 s")
                time.sleep(0.1)
            bot.send(f"mark {posts} channel posts ingested")
            bot.read()
            for command in ("/digest", "/incidents", "/start"):
                answer(server, command)
            bot.send("mark /digest, /incidents, /start answered")
            bot.read()
            bot.send(f"render {busiest.isoformat()}")
            bot.read()
            bot.send("stop")
            end = bot.read()
            bot.proc.wait(timeout=60)
        finally:
            bot.close()
    mib = 1024.0
    rows: list[list[object]] = []
    for record in bot.lines:
        stage = record["stage"]
        if stage == "end":
            continue
        if stage.startswith("digest of"):
            stage = (f"busiest stored day's digest rendered ({busiest}: {busiest_incidents} incidents, "
                     f"{record['parts']} messages, {record['seconds']:.1f} s)")
        rows.append([stage, record["VmRSS"] / mib, record["VmHWM"] / mib])
    rows.append(["peak (VmHWM at exit; ru_maxrss)", end["VmRSS"] / mib, end["ru_maxrss"] / mib])
    return [print_table(
        f"Bot process memory ({claims:,} claims, {incidents:,} incidents stored; SQLite)",
        ["stage", "RSS MiB", "peak so far MiB"],
        rows,
    )]


def answer(server: Any, command: str, quiet: float = 1.5) -> int:
    """Send ``command`` as a user and wait for the whole reply (no new message for ``quiet`` seconds,
    longer than the bot's pace between parts); returns how many messages it had."""
    before = len(server.messages_to(USER))
    server.user_message(command, user_id=USER, language_code="en")
    server.wait_for(lambda: len(server.messages_to(USER)) > before, timeout=120, what=f"the reply to {command}")
    seen, since = len(server.messages_to(USER)), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = len(server.messages_to(USER))
        if now != seen:
            seen, since = now, time.monotonic()
    return seen - before


def _stored(db: Path, ref: str, count: int) -> bool:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute("SELECT count(*) FROM posts JOIN sources ON sources.id = posts.source_id "
                           "WHERE sources.ref = ?", (ref,)).fetchone()
    return bool(row and row[0] >= count)


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000, help="claims in the generated store")
    parser.add_argument("--posts", type=int, default=20, help="channel posts the bot ingests")
    args = parser.parse_args(argv)
    print(f"memory benchmark: {args.claims:,} claims; {unpin()}", flush=True)
    return run(args.claims, args.posts)


if __name__ == "__main__":
    main()
