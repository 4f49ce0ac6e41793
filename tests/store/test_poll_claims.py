"""Claiming due sources (``polling.claim_due``) on SQLite and PostgreSQL: processes polling one
database at the same moment each get other sources, a claimed source is nobody's until its lease
runs out, and a claim given back (a poll cut short) makes the source due at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.services import polling
from store import queries
from store.db import open_database
from store.models import Source, Transport

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _follow(session_factory, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    refs = [f"chan_{n:02d}" for n in range(count)]
    with session_factory.begin() as session:
        for ref in refs:
            queries.upsert_source(session, ref, ref, transport=Transport.TME.value, handle=ref)
        queries.upsert_source(session, "export-1", "An export", transport=Transport.EXPORT.value)  # never polled
        paused = queries.upsert_source(session, "paused_one", "Paused", transport=Transport.TME.value,
                                       handle="paused_one")
        paused.active = False
    return refs


def test_concurrent_claims_split_the_due_sources_and_the_lease_holds(db_url: str) -> None:
    engine, session_factory = open_database(db_url)
    refs = _follow(session_factory, 30)
    with session_factory.begin() as session:  # one source is not due yet
        session.scalars(select(Source).where(Source.ref == refs[0])).one().next_poll_at = NOW + timedelta(hours=1)

    start = threading.Barrier(3)
    taken: list[list[str]] = [[], [], []]

    def claimant(index: int) -> None:
        start.wait()
        while True:
            got = polling.claim_due(session_factory, NOW, lease=LEASE, limit=2)
            if not got:
                return
            taken[index].extend(s.ref for s in got)

    threads = [threading.Thread(target=claimant, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    everything = [ref for part in taken for ref in part]
    assert sorted(everything) == sorted(refs[1:])  # each due source claimed exactly once, nothing else
    with session_factory() as session:  # the claim is the next due time, written with it
        due = {ref: when for ref, when in session.execute(select(Source.ref, Source.next_poll_at)
                                                         .where(Source.ref.in_(refs)))}
    assert {due[ref] for ref in refs[1:]} == {NOW + LEASE} and due[refs[0]] == NOW + timedelta(hours=1)

    # within the lease nobody gets them again; after it (the claimant died) they are due again
    assert polling.claim_due(session_factory, NOW + LEASE - timedelta(seconds=1), lease=LEASE) == []
    again = polling.claim_due(session_factory, NOW + LEASE, lease=LEASE, limit=5)
    assert len(again) == 5

    # a claim given back makes its source due at once; a stale one (claimed again since) changes nothing
    assert polling.release(session_factory, again[0], due=NOW)
    assert [s.ref for s in polling.claim_due(session_factory, NOW, lease=LEASE)] == [again[0].ref]
    assert not polling.release(session_factory, again[0], due=NOW)
    engine.dispose()
