"""Bot latency: median and p95 of a command's reply over loopback, idle and during a bulk import.

The bot runs as in production: ``claimwatch run`` in a process of its own (the real Application,
its updater long-polling), with ``CLAIMWATCH_TELEGRAM_API_URL`` pointing at the project's Bot API
server, which runs in this process. A sample is the time from the moment the server queues the
user's message (``user_message``) to the moment the bot's first ``sendMessage`` to that chat reaches
the server, both on this process's ``perf_counter``; each sample comes from a new user, one at a
time, the commands taking turns. The database (a SQLite file in a temp dir, or a PostgreSQL schema of
its own with ``--db``) holds the dev corpus, read in place. "During import" means a ``claimwatch
import`` process is storing bench_extract's constructed posts (written as channel exports of 100
posts into the temp dir) into the same database at the same time; when one import ends before the
samples are taken, the next starts. Run: ``python -m bench.bench_latency --samples 200``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import DEV_CORPUS, KYIV, NOT_EXPORTS, median, percentile, print_table, unpin

FIRST_USER = 900_000
POSTS_PER_FILE = 100


@contextlib.contextmanager
def scratch_database(url: str | None, folder: Path) -> Iterator[tuple[str, str]]:
    """A database URL other processes can open: a SQLite file in ``folder``, or a fresh PostgreSQL
    schema (``?options=-csearch_path%3D...``) dropped afterwards. Yields (url, label)."""
    from store.db import scratch_schema

    if url is None:
        yield f"sqlite:///{folder / 'bench.db'}", "SQLite (file in a temp dir, WAL)"
        return
    with scratch_schema(url, prefix="bench") as (schema_url, schema):
        yield schema_url, f"PostgreSQL (schema {schema}, dropped after)"


def prepare_store(url: str) -> int:
    """Migrate and import the dev corpus (read in place); returns how many incidents there are."""
    from bot.services import ingest, reports
    from bot.engine.extract import Extractor
    from bot.engine.types import ImportStats
    from store.db import open_database

    engine, factory = open_database(url)
    try:
        paths = [p for p in sorted(DEV_CORPUS.glob("*.json")) if p.name not in NOT_EXPORTS]
        exports, errors = ingest.read_exports(paths, KYIV)
        if errors:
            raise RuntimeError("; ".join(errors))
        extractor = Extractor.load()
        stats = ImportStats()
        for export in exports:
            ingest.import_export(factory, export, extractor, stats)
        return reports.store_totals(factory)["incidents"]
    finally:
        engine.dispose()


def write_import_batch(folder: Path, batch: int, posts: int) -> list[Path]:
    """Telegram Desktop exports of bench_extract's constructed posts: ``posts`` in files of 100, each a
    channel of its own; batch ``k`` is dated after batch ``k - 1`` so batches do not pile up on the same days."""
    from bench.bench_extract import constructed_posts

    folder.mkdir(parents=True, exist_ok=True)
    made = constructed_posts(posts, seed=100 + batch)
    shift = timedelta(hours=posts * batch)
    paths = []
    for f in range(0, posts, POSTS_PER_FILE):
        channel = 1_990_000_000 + batch * 1000 + f // POSTS_PER_FILE
        messages = []
        for p in made[f:f + POSTS_PER_FILE]:
            at = (p.post.posted_at + shift).astimezone(KYIV)
            messages.append({"id": p.post.message_id, "type": "message", "date": at.replace(tzinfo=None).isoformat(),
                             "date_unixtime": str(int(at.timestamp())), "text": p.post.text})
        path = folder / f"bench_{batch}_{f // POSTS_PER_FILE}.json"
        path.write_text(json.dumps({"name": f"Bench channel {channel}", "type": "public_channel", "id": channel,
                                    "messages": messages}, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def count_posts(url: str) -> int:
    from sqlalchemy import func, select

    from store.db import make_engine
    from store.models import Post

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Post)).scalar() or 0)
    finally:
        engine.dispose()


def _env(server: Any, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "TELEGRAM_"))}
    env.update({"TELEGRAM_BOT_TOKEN": server.token, "CLAIMWATCH_TELEGRAM_API_URL": server.url,
                "CLAIMWATCH_TME_URL": server.url, "CLAIMWATCH_DATABASE_URL": url,
                "CLAIMWATCH_LOG_LEVEL": "WARNING"})
    return env


@dataclass(slots=True)
class BulkImport:
    """Back-to-back ``claimwatch import`` processes into one database, batch after batch."""

    url: str
    folder: Path
    env: dict[str, str]
    posts: int
    batch: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def ensure_running(self) -> None:
        """Start the next batch unless one is running (a failed one raises)."""
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.proc is not None and self.proc.returncode != 0:
            log = (self.folder / f"import_{self.batch}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"claimwatch import failed ({self.proc.returncode}): {log}")
        self.batch += 1
        files = write_import_batch(self.folder / f"batch_{self.batch}", self.batch, self.posts)
        with open(self.folder / f"import_{self.batch}.log", "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "import", *map(str, files)],
                                         cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def bulk_import(url: str, folder: Path, env: dict[str, str], posts: int) -> Iterator[BulkImport]:
    """Imports running from the moment their first file is committed (extraction is under way) until
    the block ends; says how much they stored meanwhile."""
    bulk = BulkImport(url, folder, env, posts)
    before = count_posts(url)
    deadline = time.monotonic() + 120
    try:
        while count_posts(url) == before:
            if time.monotonic() > deadline:
                raise RuntimeError("the import stored nothing within 120 s")
            bulk.ensure_running()
            time.sleep(0.1)
        stored_before, began = count_posts(url), time.perf_counter()
        yield bulk
        stored, spent = count_posts(url) - stored_before, time.perf_counter() - began
        print(f"during the samples, claimwatch import stored {stored} posts in {spent:.1f} s ({stored / spent:.0f} "
              f"posts/s, committed 100 at a time; {bulk.batch} import process(es) of {posts} posts)", flush=True)
    finally:
        bulk.stop()


@contextlib.contextmanager
def running_bot(server: Any, url: str, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``claimwatch run`` against ``server``, until it long-polls; stopped with SIGINT as a person would."""
    log_path = folder / "bot.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=folder, env=_env(server, url),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not any(name == "getUpdates" for name, _ in server.calls):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start polling: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(slots=True)
class Sampler:
    server: Any
    next_user: int = FIRST_USER

    def sample(self, command: str, timeout: float = 60.0) -> tuple[float, bool]:
        """Seconds from queueing ``command`` from a new user to the bot's first reply reaching the server,
        and whether that reply is the error handler's apology."""
        from bot.i18n import t

        user = self.next_user
        self.next_user += 1
        queued = time.perf_counter()
        self.server.user_message(command, user_id=user, language_code="en")
        seconds = self.server.wait_arrivals(user, 1, timeout)[0] - queued
        first = self.server.messages_to(user)[0]
        return seconds, first.get("plain_text") == t("en", "error_generic")


def take_samples(sampler: Sampler, condition: str, commands: Sequence[str], samples: int, gap: float,
                 before_each: Callable[[], None] | None = None) -> dict[tuple[str, str], list[tuple[float, bool]]]:
    """``samples`` rounds of every command in turn, ``gap`` seconds apart."""
    out: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for _ in range(samples):
        for command in commands:
            if before_each is not None:
                before_each()
            out.setdefault((condition, command), []).append(sampler.sample(command))
            time.sleep(gap)
    return out


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="samples per command and condition")
    parser.add_argument("--commands", default="/start,/incidents", help="comma-separated commands to time")
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp dir); "
                        "PostgreSQL runs in a dedicated schema that is dropped afterwards")
    parser.add_argument("--import-posts", type=int, default=3000, help="posts per claimwatch import process")
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between two samples")
    parser.add_argument("--warmup", type=int, default=5, help="untimed samples per command first")
    args = parser.parse_args(argv)
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]

    from bench.clocked_api import ClockedBotApiServer

    cpus = unpin()  # the bot and the import are processes of their own: they inherit this affinity
    results: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    with tempfile.TemporaryDirectory(prefix="claimwatch-latency-") as tmp, \
            scratch_database(args.db, Path(tmp)) as (url, label), ClockedBotApiServer() as server:
        folder = Path(tmp)
        incidents = prepare_store(url)
        print(f"latency benchmark on {label}: {incidents} incidents from the dev corpus; {args.samples} samples "
              f"per command and condition; {cpus}", flush=True)
        with running_bot(server, url, folder):
            sampler = Sampler(server)
            for _ in range(args.warmup):
                for command in commands:
                    sampler.sample(command)
            results.update(take_samples(sampler, "idle", commands, args.samples, args.gap))
            with bulk_import(url, folder, _env(server, url), args.import_posts) as bulk:
                results.update(take_samples(sampler, "during claimwatch import", commands, args.samples, args.gap,
                                            bulk.ensure_running))
    rows = []
    for (condition, command), values in results.items():
        ms = [seconds * 1000 for seconds, _ in values]
        rows.append([command, condition, len(ms), median(ms), percentile(ms, 95), max(ms),
                     sum(1 for _, failed in values if failed)])
    return [print_table(
        f"Reply latency over loopback ({label}; claimwatch run long-polling the local Bot API server; "
        f"from the update queued to the bot's first sendMessage arriving)",
        ["command", "condition", "samples", "ms median", "ms p95", "ms max", "error replies"],
        rows,
    )]


if __name__ == "__main__":
    main()
