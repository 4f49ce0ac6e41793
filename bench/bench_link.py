"""Linking cost against stores of growing size, beside a brute-force rapidfuzz baseline.

The store is generated from the gazetteer's places (UA settlements with a population, weighted by
the square root of population, frontline oblasts four times as often) over one year of dates,
with realistic kinds and one incident per about three claims, and bulk-inserted with SQLAlchemy
Core into the real tables (sources, posts, incidents, claims) on a SQLite file in a temp dir, or on
PostgreSQL with ``--db`` (a dedicated schema, dropped afterwards). Sizes grow in place (10k, then
100k, ...). At each size, ~200 new posts go through ``bot.services.ingest.ingest_posts``, ten posts a
call as a poll brings them, in one transaction that is rolled back (after one untimed pass that
warms the caches), timing each call (over its posts), each ``link_claim`` and each read of a call's
blocks (``store.queries.bulk.read_block_ranges``); the
baseline scores a new claim's evidence against every stored claim's evidence with
``rapidfuzz.process.cdist``. Run: ``python -m bench.bench_link --sizes 10000,100000,1000000``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time as dtime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench import median, percentile, print_table
from bot.engine.types import ImportStats, Place, PostIn

START = date(2022, 3, 1)
FRONTLINE = frozenset({"Donetsk Oblast", "Luhansk Oblast", "Kharkiv Oblast", "Zaporizhzhia Oblast",
                       "Kherson Oblast", "Dnipropetrovsk Oblast", "Sumy Oblast", "Mykolaiv Oblast"})
# incident kinds with rough shares; claims of one incident may name another kind of the same group
KINDS = [("shelling", 34), ("drone", 18), ("strike", 14), ("missile", 12), ("airstrike", 8), ("explosion", 4),
         ("control", 7), ("other", 3)]
ATTACK_KINDS = ["shelling", "drone", "strike", "missile", "airstrike", "explosion"]
SOURCES = 60
CHUNK = 20_000

EVIDENCE = {
    "en": ["Russian forces {verb} {place} overnight; {k} people were killed and {i} injured, the governor said.",
           "{k} civilians killed, {i} wounded after {noun} on {place}, {oblast}, officials reported.",
           "A {noun} hit {target} in {place} on {day}, leaving {i} people injured.",
           "Russian troops claim to have taken {place}, {oblast}; Ukraine says fighting continues."],
    "uk": ["Окупанти завдали удару по {place}: загинули {k} людей, {i} поранені, повідомив голова ОВА.",
           "Внаслідок обстрілу {place} ({oblast}) загинули {k}, ще {i} отримали поранення.",
           "{place}: пошкоджено {target}, {i} постраждалих, інформація уточнюється.",
           "Росіяни заявляють про захоплення {place}, ЗСУ це спростовують."],
    "ru": ["ВСУ обстреляли {place}, погибли {k} человек, еще {i} ранены, сообщил глава администрации.",
           "В результате удара по {place} ({oblast}) погибли {k} мирных жителей, {i} пострадали.",
           "{place}: поврежден {target}, {i} пострадавших, данные уточняются.",
           "Минобороны России заявило о взятии {place} под контроль."],
}
VERBS = ["shelled", "struck", "attacked", "hit"]
NOUNS = ["shelling", "a missile strike", "a drone attack", "an airstrike", "a strike"]
TARGETS_EN = ["an apartment block", "a school", "a hospital", "an energy facility", "a market", "a railway station"]
TARGET_KEYS = ["residential", "school", "hospital", "energy", "market", "railway"]

NEW_POST_TEMPLATES = [
    "Russian forces shelled {place}, {oblast}, overnight. {k} people were killed and {i} injured, the head of the "
    "regional military administration said.",
    "A Russian missile strike on {place} in {oblast} killed {k} civilians and wounded {i}, officials said.",
    "Drones attacked {place}, {oblast}, damaging {target}; {i} people were injured.",
]


@dataclass(slots=True)
class Generator:
    """Grows a synthetic store: ids are assigned here so rows can reference each other without RETURNING."""

    places: list[Place]
    weights: list[float]
    seed: int = 11
    rng: random.Random = field(init=False)
    next_source_msg: dict[int, int] = field(default_factory=dict)
    claim_id: int = 0
    post_id: int = 0
    incident_id: int = 0
    evidences: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        cumulative, total = [], 0.0
        for w in self.weights:
            total += w
            cumulative.append(total)
        self.weights = cumulative

    def pick_place(self) -> Place:
        return self.rng.choices(self.places, cum_weights=self.weights)[0]

    def chunk(self, claims: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """About ``claims`` claims (whole incidents of 1–5 claims), with their posts and incidents."""
        rng = self.rng
        incidents: list[dict[str, Any]] = []
        posts: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        kinds, shares = zip(*KINDS)
        made = 0
        while made < claims:
            kind = rng.choices(kinds, weights=shares)[0]
            group = "control" if kind == "control" else "other" if kind == "other" else "attack"
            place = self.pick_place()
            day = START + timedelta(days=rng.randrange(365))
            killed = rng.choice([None, None, 0, 1, 1, 2, 3, 5, 8, 13])
            injured = rng.choice([None, 1, 2, 3, 4, 6, 10, 25])
            target = rng.randrange(len(TARGET_KEYS))
            self.incident_id += 1
            incidents.append({
                "id": self.incident_id, "kind": kind, "kind_group": group, "place_key": place.key,
                "place": place.name, "oblast": place.oblast, "country": place.country, "lat": place.lat,
                "lon": place.lon, "date": day, "killed_low": killed, "killed_best": killed, "killed_high": killed,
                "injured_low": injured, "injured_best": injured, "injured_high": injured,
                "controller": "russia" if kind == "control" else None, "sources_count": 0, "conflicts_count": 0,
            })
            n = min(5, max(1, round(rng.gauss(3, 1.2))))
            for ordinal in range(n):
                self.claim_id += 1
                self.post_id += 1
                source = rng.randrange(1, SOURCES + 1)
                message = self.next_source_msg.get(source, 0) + 1
                self.next_source_msg[source] = message
                claim_kind = kind if group != "attack" or rng.random() < 0.7 else rng.choice(ATTACK_KINDS)
                claim_day = day + timedelta(days=rng.choice((0, 0, 0, 0, 0, 0, 0, 0, 1, -1)))
                lang = rng.choices(("en", "uk", "ru"), weights=(40, 35, 25))[0]
                k = killed if killed is None or rng.random() < 0.8 else killed + rng.randint(1, 3)
                templates = EVIDENCE[lang]
                template = templates[3] if kind == "control" else rng.choice(templates[:3])
                evidence = template.format(
                    place=place.name, oblast=place.oblast or "", k=k if k is not None else "several",
                    i=injured if injured is not None else "several", verb=rng.choice(VERBS),
                    noun=rng.choice(NOUNS), target=TARGETS_EN[target], day=claim_day.isoformat())
                self.evidences.append(evidence)
                posted = datetime.combine(claim_day, dtime(rng.randrange(24), rng.randrange(60)), UTC)
                posts.append({
                    "id": self.post_id, "source_id": source, "message_id": message, "posted_at": posted,
                    "edited_at": None, "text": evidence, "url": None, "forwarded_from": None, "lang": lang,
                })
                rows.append({
                    "id": self.claim_id, "post_id": self.post_id, "incident_id": self.incident_id,
                    "ordinal": 0, "kind": claim_kind, "kind_group": group, "place_key": place.key,
                    "place": place.name, "oblast": place.oblast, "country": place.country, "lat": place.lat,
                    "lon": place.lon, "place_level": place.level, "date": claim_day, "killed": k,
                    "injured": injured, "children_killed": None, "qualifier": "exact" if k is not None else None,
                    "injured_qualifier": "exact" if injured is not None else None,
                    "controller": "russia" if kind == "control" else None,
                    "perpetrator": "russia" if group == "attack" else None,
                    "claimant": f"Source {source}", "claimant_side": None,
                    "targets": [TARGET_KEYS[target]] if group == "attack" and rng.random() < 0.5 else [],
                    "weapons": [], "evidence": evidence, "lang": lang, "copy_of": None,
                })
                made += 1
        return incidents, posts, rows


def store_places() -> tuple[list[Place], list[float]]:
    from bot.engine.gazetteer import Gazetteer

    places = [p for p in Gazetteer.load().places
              if p.country == "UA" and p.level == "settlement" and p.population > 0]
    weights = [math.sqrt(p.population) * (4.0 if p.oblast in FRONTLINE else 1.0) for p in places]
    return places, weights


def insert_sources(engine: Engine) -> None:
    from store.models import Source

    with engine.begin() as conn:
        conn.execute(insert(Source.__table__), [
            {"id": i, "ref": f"bench:{i}", "name": f"Bench source {i}", "transport": "export", "handle": None,
             "url": None, "role": None, "side": None, "home_oblast": None}
            for i in range(1, SOURCES + 2)  # the last one receives the new posts
        ])


def grow(engine: Engine, gen: Generator, target: int) -> float:
    """Insert claims until the store holds ``target``; returns seconds spent."""
    from store.models import Claim, Incident, Post

    start = time.perf_counter()
    while gen.claim_id < target:
        incidents, posts, claims = gen.chunk(min(CHUNK, target - gen.claim_id))
        with engine.begin() as conn:
            conn.execute(insert(Incident.__table__), incidents)
            conn.execute(insert(Post.__table__), posts)
            conn.execute(insert(Claim.__table__), claims)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # ids were given explicitly: move the sequences past them
            for table in ("sources", "posts", "incidents", "claims"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - start


def new_posts(gen: Generator, count: int, seed: int = 5) -> list[PostIn]:
    """English posts about places and days the store already covers, so blocks hold candidates."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        place = gen.pick_place()
        day = START + timedelta(days=rng.randrange(365))
        body = rng.choice(NEW_POST_TEMPLATES).format(
            place=place.name, oblast=place.oblast or "Ukraine", k=rng.randint(1, 9), i=rng.randint(2, 30),
            target=rng.choice(TARGETS_EN))
        out.append(PostIn(message_id=10_000_000 + n, posted_at=datetime.combine(day, dtime(9, 30), UTC), text=body))
    return out


@contextlib.contextmanager
def timed(module: Any, name: str, sink: list[float]) -> Iterator[None]:
    """Wrap ``module.name`` so each call's duration lands in ``sink`` (restored afterwards)."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - start)

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


@dataclass(slots=True)
class IngestResult:
    per_post: list[float]
    per_link: list[float]
    per_block_query: list[float]
    candidates: list[int]
    loaded: list[int]
    refresh_s: float
    claims: int
    new_incidents: int


POLL = 10  # posts per ingest call, as one poll of a busy channel brings them


def measure_ingest(factory: sessionmaker[Session], posts: Sequence[PostIn], extractor: Any) -> IngestResult:
    """Ingest ``posts`` through ``ingest_posts``, ``POLL`` at a time, in one transaction, then roll
    it back. A post's time is its call's time over the call's posts (the batched path stores and
    links a call's posts together); a block read is one read of a call's blocks, and its
    candidates and rows are counted per claim of the call."""
    from bot.services import ingest, ingest_batch
    from store.models import Incident, Source
    from store.queries import bulk

    per_post: list[float] = []
    links: list[float] = []
    blocks: list[float] = []
    candidates: list[int] = []
    loaded: list[int] = []
    read = bulk.read_block_ranges
    found_now: list[int] = [0, 0]  # incidents, rows read by the current call

    def counting(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        found_now[0] += len({incident for claims in found for _, incident in claims if incident is not None})
        found_now[1] += sum(len(claims) for claims in found)
        return found

    session = factory()
    try:
        session.begin()
        source = session.get(Source, SOURCES + 1)
        before = session.scalar(select(func.max(Incident.id))) or 0
        stats = ImportStats()
        touched: set[int] = set()
        bulk.read_block_ranges = counting  # type: ignore[assignment]
        try:
            with timed(ingest_batch, "link_claim", links), timed(bulk, "read_block_ranges", blocks):
                for start in range(0, len(posts), POLL):
                    call = posts[start:start + POLL]
                    found_now[:] = [0, 0]
                    claims_before = stats.claims
                    began = time.perf_counter()
                    touched |= ingest.ingest_posts(session, source, call, extractor, stats)
                    per_post.extend([(time.perf_counter() - began) / len(call)] * len(call))
                    new_claims = max(1, stats.claims - claims_before)
                    candidates.append(round(found_now[0] / new_claims))
                    loaded.append(round(found_now[1] / new_claims))
        finally:
            bulk.read_block_ranges = read  # type: ignore[assignment]
        start = time.perf_counter()
        ingest.refresh_incidents(session, touched)
        refresh = time.perf_counter() - start
        created = (session.scalar(select(func.max(Incident.id))) or 0) - before
        session.rollback()
    finally:
        session.close()
    return IngestResult(per_post, links, blocks, candidates, loaded, refresh, stats.claims, created)


def brute_force(evidences: list[str], queries_: Sequence[str]) -> list[float]:
    from rapidfuzz import fuzz, process, utils

    process.cdist(queries_[:1], evidences[:100], scorer=fuzz.token_set_ratio, processor=utils.default_process,
                  workers=1)  # warm-up
    out = []
    for query in queries_:
        start = time.perf_counter()
        process.cdist([query], evidences, scorer=fuzz.token_set_ratio, processor=utils.default_process, workers=1)
        out.append(time.perf_counter() - start)
    return out


def candidates_plan(engine: Engine, factory: sessionmaker[Session]) -> str:
    """How the database runs the candidates query of one dense block (indexes used or not)."""
    from sqlalchemy import event

    from bot.engine.linking import BLOCK_CLAIMS, block_dates
    from store import queries

    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with factory() as session:
            first, last = block_dates(date(2022, 6, 2))
            queries.list_block_claims(session, ("attack", "other"), ["UA63120270010096107"], date(2022, 6, 2),
                                      first, last, limit=BLOCK_CLAIMS)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    plan = "; ".join(str(r[-1]).strip() for r in rows)
    return plan if len(plan) <= 700 else plan[:700] + " …"


@contextlib.contextmanager
def database(url: str | None) -> Iterator[tuple[Engine, sessionmaker[Session], str]]:
    """A fresh migrated database: a SQLite file in a temp dir, or a dedicated PostgreSQL schema."""
    from store.db import open_database, scratch_schema

    if url is None:
        with tempfile.TemporaryDirectory(prefix="claimwatch-bench-") as tmp:
            engine, factory = open_database(f"sqlite:///{tmp}/bench.db")
            try:
                yield engine, factory, "SQLite (file in a temp dir, WAL)"
            finally:
                engine.dispose()
        return
    with scratch_schema(url, prefix="bench") as (schema_url, schema):
        engine, factory = open_database(schema_url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar()
            yield engine, factory, f"PostgreSQL {version} (schema {schema}, dropped after)"
        finally:
            engine.dispose()


def run(sizes: Sequence[int], url: str | None, posts_count: int, baseline_queries: int,
        say: Callable[[str], None] = print, repeat: int = 1) -> list[str]:
    from bot.engine.extract import Extractor

    extractor = Extractor.load()
    places, weights = store_places()
    gen = Generator(places, weights)
    fresh = new_posts(gen, posts_count)
    query_evidence = [c.evidence for p in fresh[:baseline_queries] for c in extractor.extract_claims(
        p.text, posted_at=p.posted_at)][:baseline_queries]
    rows: list[list[object]] = []
    base_rows: list[list[object]] = []
    with database(url) as (engine, factory, label):
        say(f"linking benchmark on {label}; {len(places)} places, {posts_count} new posts per size")
        insert_sources(engine)
        for size in sorted(sizes):
            seconds = grow(engine, gen, size)
            say(f"  store grown to {gen.claim_id:,} claims ({gen.incident_id:,} incidents) in {seconds:.1f} s")
            if size == max(sizes):
                say(f"  candidates query plan: {candidates_plan(engine, factory)}")
            measure_ingest(factory, fresh, extractor)  # untimed: warms extraction caches and statement caches
            results = [measure_ingest(factory, fresh, extractor) for _ in range(repeat)]
            post_ms = [s * 1000 for r in results for s in r.per_post]
            link_ms = [s * 1000 for r in results for s in r.per_link]
            block_ms = [s * 1000 for r in results for s in r.per_block_query]
            found = [n for r in results for n in r.candidates]
            loaded = [n for r in results for n in r.loaded]
            most_ms = [max(link_ms, default=0.0)]
            rows.append([gen.claim_id, len(fresh), results[0].claims, median(post_ms), percentile(post_ms, 95),
                         median(link_ms), percentile(link_ms, 95), median(most_ms), median(block_ms),
                         sum(found) / max(1, len(found)), sum(loaded) / max(1, len(loaded)),
                         median([r.refresh_s * 1000 / len(fresh) for r in results]), seconds])
            brute = [s * 1000 for s in brute_force(gen.evidences, query_evidence)]
            base_rows.append([gen.claim_id, len(brute), median(brute), max(brute)])
    first, last = rows[0], rows[-1]
    ratio_row = ["ratio largest/smallest", "", "", last[3] / first[3], last[4] / first[4], last[5] / first[5],
                 last[6] / first[6], last[7] / first[7], last[8] / first[8], "", "", last[11] / first[11], ""]
    passes = f"{repeat} timed passes pooled" if repeat > 1 else "one timed pass"
    tables = [print_table(
        f"Ingest and link per post ({label}; ingest_posts {POLL} posts a call, in one transaction, rolled back; "
        f"{passes})",
        ["claims stored", "new posts", "new claims", "post ms median", "post ms p95", "link_claim ms median",
         "link_claim ms p95", "link_claim ms max", "block read ms median (per call)",
         "candidate incidents / claim",
         "claims loaded / claim", "refresh ms / post", "insert s"],
        [*rows, ratio_row],
    )]
    base_ratio = ["ratio largest/smallest", "", base_rows[-1][2] / base_rows[0][2], base_rows[-1][3] / base_rows[0][3]]
    tables.append(print_table(
        "Brute-force baseline: rapidfuzz cdist(token_set_ratio, default_process, workers=1) of one evidence "
        "against all stored",
        ["claims stored", "queries", "ms / query median", "ms / query max"],
        [*base_rows, base_ratio],
    ))
    return tables


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_link", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated store sizes in claims (default: %(default)s)")
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp dir); "
                        "PostgreSQL runs in a dedicated schema that is dropped afterwards")
    parser.add_argument("--posts", type=int, default=200, help="new posts ingested at each size")
    parser.add_argument("--baseline-queries", type=int, default=10, help="brute-force queries at each size")
    parser.add_argument("--repeat", type=int, default=1,
                        help="timed ingest passes at each size, samples pooled (default: %(default)s)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    return run(sizes, args.db, args.posts, args.baseline_queries, repeat=max(1, args.repeat))


if __name__ == "__main__":
    main()
