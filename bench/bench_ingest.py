"""Ingest throughput end to end: extract, link, refresh and store into a fresh migrated database, on
SQLite and on PostgreSQL, with one process and with N (``claimwatch import --jobs N``), beside the
bare spaCy pipelines on the same posts (the ceiling) and extraction alone.

Sets: ``dense`` (default), a heavy day: constructed uk/ru/en posts (bench_extract's templates, so the
same dozen towns, numbers and clauses varied) and the dev texts, spread over one day across 40
channels, each channel posting every few hours; ``varied``: the dev posts repeated year after year
(repetition ``r`` posted ``r`` × 365 days later under message ids ``r`` × 1000 + id) plus constructed
posts. Each channel is one export, all imported by ``ingest.import_exports`` (``claimwatch import``:
chunks of 200 posts, one transaction each); ``--live`` adds ``ingest.ingest_for_source``, one
transaction per post, as channel posts reach the bot. The bare baseline is ``spacy.blank`` + the
lemmatizer per language; it and extraction get one untimed pass first (both keep per-word caches).
The one-process rows run pinned to one CPU (PostgreSQL's server is not); the N-process rows unpinned.
Wall seconds and this process's CPU seconds are both printed: on a shared machine the CPU share is
the steadier figure for one process. Run: ``python -m bench.bench_ingest``.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import KYIV, BenchPost, pin_one_core, print_table, read_dev_posts
from bench.bench_extract import constructed_posts, spacy_pipelines
from bot.engine.types import PostIn

DEFAULT_PG = os.environ.get("CLAIMWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Channel:
    """The posts of one channel, in message id order."""

    ref: str
    name: str
    posts: tuple[BenchPost, ...]


def varied_dev_posts(count: int, dev: Sequence[BenchPost] | None = None) -> list[BenchPost]:
    """About ``count`` distinct posts from the dev corpus: repetition ``r`` is posted ``r`` years later,
    with message ids ``r`` × 1000 + id in its own channel (the texts are the dev texts)."""
    dev = list(dev if dev is not None else read_dev_posts())
    out: list[BenchPost] = []
    for n in range(count):
        r, p = divmod(n, len(dev))
        original = dev[p]
        post = replace(original.post, message_id=r * 1000 + original.post.message_id,
                       posted_at=original.post.posted_at + r * YEAR)
        out.append(BenchPost(original.lang, post, original.source))
    return out


def bench_posts(dev_count: int, constructed: int, seed: int = 7) -> list[BenchPost]:
    """The varied dev posts and bench_extract's constructed posts (channel ``bench-<lang>``)."""
    made = [replace(p, source=f"bench-{p.lang}") for p in constructed_posts(constructed, seed)]
    return varied_dev_posts(dev_count) + made


def dense_day_posts(count: int, channels: int = 40, seed: int = 11) -> list[BenchPost]:
    """A heavy day: ``count`` posts from ``channels`` channels about the same dozen towns, spread over one
    day (each channel posts every few hours); constructed texts (bench_extract's templates, numbers and
    clauses varied) and the dev texts, all re-dated onto that day."""
    day = datetime(2024, 6, 14, 0, 30, tzinfo=KYIV)
    made = constructed_posts(max(count - count // 5, 0), seed)
    dev = read_dev_posts()
    texts = [(p.lang, p.post.text) for p in made] + [(dev[n % len(dev)].lang, dev[n % len(dev)].post.text)
                                                      for n in range(count - len(made))]
    random.Random(seed).shuffle(texts)
    step = timedelta(hours=23) / max(count, 1)
    out: list[BenchPost] = []
    for n, (lang, text) in enumerate(texts):
        channel, k = n % channels, n // channels
        out.append(BenchPost(lang, PostIn(message_id=k + 1, posted_at=day + n * step, text=text), f"dense-{channel}"))
    return out


def channels_of(posts: Sequence[BenchPost]) -> list[Channel]:
    by_ref: dict[str, list[BenchPost]] = {}
    for p in posts:
        by_ref.setdefault(p.source, []).append(p)
    return [Channel(ref, f"Bench channel {ref}", tuple(sorted(ps, key=lambda p: p.post.message_id)))
            for ref, ps in by_ref.items()]


def exports_of(channels: Sequence[Channel]) -> list[Any]:
    """One Telegram-export-like ``ChannelExport`` per channel (nothing is written to disk)."""
    from bot.exports import ChannelExport

    return [ChannelExport(Path(f"<bench {c.ref}>"), c.ref, c.name, None, tuple(p.post for p in c.posts), 0)
            for c in channels]


@dataclass(frozen=True, slots=True)
class IngestRun:
    seconds: float
    claims: int
    incidents: int
    conflicts: int
    cpu: float = 0.0  # this process's CPU seconds (not PostgreSQL's, nor worker processes')


def ingest_live(factory: Any, channels: Sequence[Channel], extractor: Any) -> float:
    """``ingest.ingest_for_source`` once per post, all channels interleaved by posting time; returns seconds."""
    from bot.services import ingest
    from store import queries

    with factory.begin() as session:  # the channels exist already, as after their first post
        for c in channels:
            queries.upsert_source(session, c.ref, c.name, transport="telegram")
    stream = sorted(((p.post.posted_at, c.ref, p.post) for c in channels for p in c.posts),
                    key=lambda item: (item[0], item[1], item[2].message_id))
    start = time.perf_counter()
    for _, ref, post in stream:
        ingest.ingest_for_source(factory, ref, [post], extractor)
    return time.perf_counter() - start


def run_into_fresh_db(url: str | None, ingest: Callable[[Any, Sequence[Channel], Any], float],
                      channels: Sequence[Channel], extractor: Any) -> tuple[IngestRun, str]:
    from bench.bench_link import database
    from bot.services import reports

    with database(url) as (_, factory, label):
        cpu = time.process_time()
        seconds = ingest(factory, channels, extractor)
        cpu = time.process_time() - cpu
        totals = reports.store_totals(factory)
    return IngestRun(seconds, totals["claims"], totals["incidents"], totals["conflicts"], cpu), label


def postgres_reachable(url: str) -> str | None:
    """None when the server answers, else one line saying why not."""
    from store.db import DatabaseError, check_connection, make_engine

    try:
        engine = make_engine(url)
    except ValueError as exc:
        return f"bad URL: {exc}"
    try:
        check_connection(engine)
    except DatabaseError as exc:
        return str(exc)
    finally:
        engine.dispose()
    return None


def ingest_exports(jobs: int) -> Callable[[Any, Sequence[Channel], Any], float]:
    """``ingest.import_exports`` of every channel's export (``claimwatch import --jobs``); returns seconds."""
    def run(factory: Any, channels: Sequence[Channel], extractor: Any) -> float:
        from bot.engine.types import ImportStats
        from bot.services import ingest

        exports = exports_of(channels)
        start = time.perf_counter()
        ingest.import_exports(factory, exports, extractor, ImportStats(), jobs=jobs)
        return time.perf_counter() - start
    return run


def timed_wall_and_cpu(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``repeat`` runs."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("dense", "varied"), default="dense",
                        help="dense: a heavy day, many channels on the same towns hours apart (default); "
                        "varied: the dev posts repeated year after year plus constructed posts")
    parser.add_argument("--posts", type=int, default=1500, help="posts of the set (varied: dev posts varied to this many)")
    parser.add_argument("--channels", type=int, default=40, help="channels of the dense set")
    parser.add_argument("--constructed", type=int, default=600, help="constructed uk/ru/en posts (varied set)")
    parser.add_argument("--jobs", type=int, default=0, help="processes of the N-process rows (default: the cores)")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL (a schema of its own, dropped after; "
                        "default: CLAIMWATCH_TEST_POSTGRES_URL or %(default)s); 'none' to skip")
    parser.add_argument("--live", action="store_true", help="also ingest_for_source, one transaction per post")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes of the bare baseline and of "
                        "extraction alone; the best is kept (ingest runs once per database and path)")
    args = parser.parse_args(argv)

    from bench import unpin
    from bot.engine.extract import Extractor
    from bot.services.extract_pool import ExtractionPool, usable_cores

    jobs = args.jobs or usable_cores()
    print(f"ingest benchmark: {pin_one_core()} for the one-process rows", flush=True)
    if args.set == "dense":
        posts = dense_day_posts(args.posts, args.channels)
    else:
        posts = bench_posts(args.posts, args.constructed)
    channels = channels_of(posts)
    by_lang = {lang: sum(1 for p in posts if p.lang == lang) for lang in ("uk", "ru", "en")}
    print(f"{len(posts)} posts ({args.set} set) in {len(channels)} channels; by language {by_lang}", flush=True)

    extractor = Extractor.load()
    pipes = spacy_pipelines()
    items = [(p.post.text, p.post.posted_at, None, None) for p in posts]

    def extract_only() -> int:
        return sum(len(c) for c in extractor.extract_many(items))

    def bare() -> None:
        for p in posts:
            pipes[p.lang](p.post.text)

    extracted = extract_only()  # untimed passes: per-word caches warm on both sides
    bare()
    bare_s, bare_cpu = timed_wall_and_cpu(bare, args.repeat)
    extract_s, extract_cpu = timed_wall_and_cpu(extract_only, args.repeat)

    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.pg and args.pg.lower() != "none":
        why = postgres_reachable(args.pg)
        if why is None:
            targets.append(("PostgreSQL", args.pg))
        else:
            print(f"PostgreSQL skipped: {why}", flush=True)

    def row(what: str, db: str, procs: int, claims: object, incidents: object, wall: float, cpu: float) -> list[object]:
        return [what, db, procs, len(posts), claims, incidents, wall, cpu, len(posts) / wall, bare_s / wall,
                bare_cpu / cpu if procs == 1 else float("nan")]

    rows: list[list[object]] = [
        row("bare spaCy + lemmatizer (the ceiling)", "–", 1, "–", "–", bare_s, bare_cpu),
        row("extract_many only, no store", "–", 1, extracted, "–", extract_s, extract_cpu),
    ]
    paths: list[tuple[str, int, Callable[[Any, Sequence[Channel], Any], float]]] = [
        ("import_exports (claimwatch import)", 1, ingest_exports(1))]
    if args.live:
        paths.append(("ingest_for_source, 1 transaction per post", 1, ingest_live))
    for db_name, url in targets:
        for path_name, procs, ingest in paths:
            result, label = run_into_fresh_db(url, ingest, channels, extractor)
            print(f"  {label}, {path_name}: {result.seconds:.1f} s", flush=True)
            rows.append(row(path_name, db_name, procs, result.claims, result.incidents, result.seconds, result.cpu))
    if jobs > 1:
        print(f"unpinned: {unpin()} for the {jobs}-process rows", flush=True)

        def extract_pool() -> int:
            with ExtractionPool(extractor, jobs) as pool:
                return sum(len(c) for c in pool.gather(pool.submit(items)))

        pool_s, pool_cpu = timed_wall_and_cpu(extract_pool, args.repeat)
        rows.append(row(f"extract_many in {jobs} processes, no store", "–", jobs, extracted, "–", pool_s, pool_cpu))
        for db_name, url in targets:
            result, label = run_into_fresh_db(url, ingest_exports(jobs), channels, extractor)
            print(f"  {label}, --jobs {jobs}: {result.seconds:.1f} s", flush=True)
            rows.append(row(f"import_exports --jobs {jobs}", db_name, jobs, result.claims, result.incidents,
                            result.seconds, result.cpu))
    return [print_table(
        f"Ingest end to end ({args.set} set; extraction, linking, refresh, commit into a fresh migrated database); "
        f"wall seconds, baseline and extraction alone best of {args.repeat}; cpu s: this process only",
        ["path", "database", "processes", "posts", "claims", "incidents", "seconds", "cpu s", "posts/s",
         "share of ceiling", "share, cpu"],
        rows,
    )]


if __name__ == "__main__":
    main()
