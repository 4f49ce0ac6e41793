"""Polling workers on PostgreSQL: posts ingested per second by 1 and by N ``claimwatch worker``
processes, on the same channel set, printed side by side.

For each worker count and each of two channel sets: a fresh PostgreSQL schema; ``--channels``
t.me channels served by the loopback t.me of ``tests/support/tme.py``, each showing ``--posts``
posts. "shared towns": bench_extract's constructed posts (uk/ru/en, each text distinct) about its
twelve cities, so every poll links into the same few blocks (the dense day: everyone reports the
same towns) and the storing transactions queue on the block locks; "own towns": each channel
reports about a town of its own (English templates of bench_extract, towns from the gazetteer),
as regional channels do, so storing runs side by side too. The channels followed but not yet due; the workers started
(``sys.executable -m bot.cli worker`` from this repository) and their engines loaded. Then every
channel is made due at one moment and the clock runs until every channel has stored its poll.
Counted as well: the posts stored (and duplicates), the pages each channel was asked for, the
polls each worker made, and the CPU seconds the workers used (from /proc) — on a shared machine
posts per CPU second says what the wall clock cannot. Run:
``python -m bench.bench_workers --workers 1,2 --channels 40 --posts 20``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import print_table
from bench.bench_ingest import DEFAULT_PG


@dataclass(frozen=True, slots=True)
class WorkersResult:
    towns: str
    workers: int
    posts: int
    stored: int
    duplicates: int
    seconds: float
    cpu_seconds: float
    max_requests: int
    polls: tuple[int, ...]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def shared_town_texts(channels: int, posts: int) -> list[str]:
    from bench.bench_extract import constructed_posts

    return [p.post.text for p in constructed_posts(channels * posts)]


def own_town_texts(channels: int, posts: int, seed: int = 11) -> list[str]:
    """``posts`` English reports per channel, each channel about one town of its own: the most
    populous Ukrainian settlements whose English name is unambiguous in the gazetteer."""
    import random

    from bench.bench_extract import TEMPLATES_EN
    from bot.engine.gazetteer import Gazetteer

    gazetteer = Gazetteer.load(None)
    towns = sorted((p for p in gazetteer.places if p.level == "settlement" and p.country == "UA"),
                   key=lambda p: -p.population)
    names = [p.name for p in towns if len(gazetteer.lookup(p.name, "en")) == 1][:channels]
    if len(names) < channels:
        raise SystemExit(f"only {len(names)} towns for {channels} channels")
    rng = random.Random(seed)
    return [rng.choice(TEMPLATES_EN).format(nom=town, k=rng.randint(1, 40), i=rng.randint(2, 120))
            for town in names for _ in range(posts)]


def run(towns: str, count: int, pg: str, channels: int, posts: int, timeout: float) -> WorkersResult:
    from store.db import open_database, scratch_schema
    from tests.support.tme import ChannelPost, TmeServer
    from tests.support.workers import (
        WorkerProcess,
        follow_channels,
        make_due,
        polled_since,
        post_keys,
    )

    names = [f"bench_channel_{n:03d}" for n in range(channels)]
    texts = shared_town_texts(channels, posts) if towns == "shared" else own_town_texts(channels, posts)
    start = datetime(2022, 3, 1, 6, 0, tzinfo=UTC)
    with scratch_schema(pg, prefix="bench_workers") as (url, _), TmeServer() as tme:
        engine, session_factory = open_database(url)
        for n, name in enumerate(names):
            tme.add_posts(name, [ChannelPost(i + 1, start + timedelta(minutes=n * posts + i), texts[n * posts + i])
                                 for i in range(posts)], title=f"Channel {n}")
        follow_channels(session_factory, names)
        workers = [WorkerProcess(url, tme.url, args=["--idle", "1"]) for _ in range(count)]
        try:
            for worker in workers:
                worker.wait_for("worker started", timeout=600)
            cpu_before = sum(_cpu_seconds(w.process.pid) for w in workers)
            due = make_due(session_factory)
            began = time.perf_counter()
            while polled_since(session_factory, due) < channels:
                if time.perf_counter() - began > timeout:
                    raise SystemExit(f"gave up after {timeout:.0f} s: {polled_since(session_factory, due)} of "
                                     f"{channels} channels polled")
                time.sleep(0.05)
            seconds = time.perf_counter() - began
            cpu = sum(_cpu_seconds(w.process.pid) for w in workers) - cpu_before
            for worker in workers:
                worker.stop()
            polls = tuple(worker.summary().polls for worker in workers)
        finally:
            for worker in workers:
                worker.kill()
        keys = post_keys(session_factory)
        engine.dispose()
        requests = tme.request_counts()
    duplicates = sum(n - 1 for n in Counter(keys).values() if n > 1)
    return WorkersResult(towns, count, channels * posts, len(set(keys)), duplicates, seconds, cpu,
                         max(requests.values(), default=0), polls)


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_workers", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default: 1,2)")
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--posts", type=int, default=20, help="posts per channel (one t.me page holds 20)")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL (a schema of its own, dropped after)")
    parser.add_argument("--towns", default="shared,own", help="channel sets: shared, own (default: both)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    sets = [name.strip() for name in args.towns.split(",") if name.strip()]
    if set(sets) - {"shared", "own"}:
        parser.error("--towns takes shared and/or own")
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"polling workers: {args.channels} channels x {args.posts} posts on PostgreSQL; {os.cpu_count()} CPUs, "
          f"load average before {load}", flush=True)
    results = [run(towns, count, args.pg, args.channels, args.posts, args.timeout) for towns in sets for count in counts]
    base = {r.towns: r.stored / r.seconds for r in results if r.workers == counts[0]}
    rows = [[f"{r.towns} towns", r.workers, r.stored, r.duplicates, r.seconds, r.stored / r.seconds,
             (r.stored / r.seconds) / base[r.towns], r.cpu_seconds, r.cpu_seconds / r.seconds,
             r.stored / r.cpu_seconds if r.cpu_seconds else float("nan"), r.max_requests,
             " + ".join(str(p) for p in r.polls)] for r in results]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return [print_table(
        f"Posts ingested by claimwatch worker processes polling a loopback t.me, every channel due at once "
        f"(load average after {load})",
        ["channels", "workers", "posts stored", "duplicates", "seconds", "posts/s", f"x {counts[0]} worker(s)", "worker CPU s",
         "cores used", "posts per CPU s", "pages asked per channel (max)", "polls per worker"],
        rows,
    )]


if __name__ == "__main__":
    main()
