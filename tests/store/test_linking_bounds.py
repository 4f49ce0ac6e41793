"""Linking loads a bounded, ranked part of a dense block and still picks the right incident."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.linking import CANDIDATE_INCIDENTS, CLAIMS_PER_INCIDENT
from bot.engine.types import Claim as ClaimValue
from bot.engine.types import ImportStats, PostIn
from bot.services.ingest import ingest_posts
from store.db import open_database
from store.models import Claim, Incident, Post, Source

DAY = date(2022, 6, 2)
NEW_POST = "A Russian missile hit a hospital in Kharkiv, killing 2 people, the governor said."


class Store:
    """Writes sources, posts, incidents and claims straight into the tables, as an older store holds them."""

    def __init__(self, session: Session, like: ClaimValue) -> None:
        self.session = session
        self.like = like
        self.sources: dict[str, Source] = {}
        self.message = 0

    def incident(self) -> Incident:
        place = self.like.place
        incident = Incident(kind=self.like.kind.value, kind_group=self.like.kind.group.value, place_key=place.key,
                            place=place.name, oblast=place.oblast, country=place.country, date=DAY)
        self.session.add(incident)
        self.session.flush()
        return incident

    def claim(self, incident: Incident, source_ref: str, day: date, evidence: str, *, killed: int | None = None,
              targets: tuple[str, ...] = ()) -> Claim:
        source = self.sources.get(source_ref)
        if source is None:
            source = self.sources[source_ref] = Source(ref=source_ref, name=source_ref.title())
            self.session.add(source)
            self.session.flush()
        self.message += 1
        post = Post(source_id=source.id, message_id=self.message, text=evidence,
                    posted_at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8))
        self.session.add(post)
        self.session.flush()
        place = self.like.place
        row = Claim(post_id=post.id, incident_id=incident.id, kind=self.like.kind.value,
                    kind_group=self.like.kind.group.value, place_key=place.key, place=place.name,
                    oblast=place.oblast, country=place.country, date=day, evidence=evidence, killed=killed,
                    qualifier="exact" if killed is not None else None, targets=list(targets), weapons=[])
        self.session.add(row)
        self.session.flush()
        return row


def _ingest(factory, extractor) -> Claim:  # type: ignore[no-untyped-def]
    """Ingest NEW_POST from a channel of its own; returns its stored claim."""
    with factory() as session, session.begin():
        source = Source(ref="aggregator", name="Aggregator")
        session.add(source)
        session.flush()
        post = PostIn(message_id=1, posted_at=datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=9),
                      text=NEW_POST)
        ingest_posts(session, source, [post], extractor, ImportStats())
    with factory() as session:
        return session.scalars(select(Claim).join(Post).where(Post.source_id == source.id)).one()


@pytest.fixture
def seeded(db_url, extractor):  # type: ignore[no-untyped-def]
    engine, factory = open_database(db_url)
    (like,) = extractor.extract_claims(NEW_POST, posted_at=datetime(2022, 6, 2, 9, tzinfo=UTC))
    assert like.date == DAY and like.targets == ("hospital",) and like.killed == 2
    yield factory, like
    engine.dispose()


def test_a_claim_links_to_its_incident_when_that_incident_holds_more_claims_than_are_loaded(  # type: ignore[no-untyped-def]
        seeded, extractor):
    factory, like = seeded
    with factory() as session, session.begin():
        store = Store(session, like)
        other = store.incident()
        store.claim(other, "mayor", DAY, "Russian missile strike on Kharkiv")
        hospital = store.incident()
        # the oldest claims of the hospital strike are from the day before and name no target ...
        for _ in range(CLAIMS_PER_INCIDENT + 1):
            store.claim(hospital, "mayor", DAY - timedelta(days=1), "Explosions were heard in Kharkiv overnight.")
        # ... one of them is the report the new post repeats word for word ...
        original = store.claim(hospital, "governor", DAY - timedelta(days=1), NEW_POST, killed=2,
                               targets=("hospital",))
        # ... and the ones of the new post's own day are the newest
        for _ in range(3):
            store.claim(hospital, "rescue", DAY, "Rescuers are still working at the hospital in Kharkiv.",
                        targets=("hospital",))
        other_id, hospital_id, original_id = other.id, hospital.id, original.id

    claim = _ingest(factory, extractor)
    assert claim.incident_id == hospital_id != other_id
    assert claim.copy_of == original_id


def test_the_same_day_incident_is_weighed_when_a_block_holds_more_incidents_than_the_cap(  # type: ignore[no-untyped-def]
        seeded, extractor):
    factory, like = seeded
    with factory() as session, session.begin():
        store = Store(session, like)
        for n in range(CANDIDATE_INCIDENTS + 2):
            day_before = store.incident()
            store.claim(day_before, f"channel{n}", DAY - timedelta(days=1), "A Russian missile hit Kharkiv.")
            store.claim(day_before, f"other{n}", DAY - timedelta(days=1), "Missile strike on Kharkiv.")
        same_day = store.incident()  # the newest incident, with a single claim in the block
        store.claim(same_day, "governor", DAY, "Two people were killed when a missile hit a hospital in Kharkiv.",
                    killed=2, targets=("hospital",))
        same_day_id = same_day.id

    assert _ingest(factory, extractor).incident_id == same_day_id
