"""Linking a chunk's claims in memory: the blocks they fall in are read once per chunk, then each
claim is linked as if its block had been read from the database at its turn.

``ingest_posts`` used to read a claim's block (``queries.list_block_claims``) before linking each
claim, so the claims stored before it in the chunk, and the moves earlier claims made, were in
what it read. ``BlockMemory`` holds the same claims: those the chunk's ranges held before the
chunk (read once, ``store.queries.bulk.read_block_ranges``), plus the chunk's claims as their posts
arrive, minus the old claims of an edited post from its turn on; ``block_claims`` answers what
``list_block_claims`` would have answered then. ``link_claim`` is ``_link`` of the sequential path
on those answers, with the same engine functions, so the incidents are the same; new incidents get
provisional ids above every stored one, in creation order, replaced by their real ids when the
chunk's incidents are inserted.
"""

from __future__ import annotations

import sys
from bisect import bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from bot.engine.gazetteer import Gazetteer
from bot.engine.linking import (
    BLOCK_CLAIMS,
    assign_incidents,
    at_centre,
    block_dates,
    block_keys,
    canonical,
    cluster_block,
    event_day,
    find_copies,
    link_key,
    near_dates,
    needs_far,
)
from bot.engine.types import ClaimRecord, KindGroup
from store.queries.bulk import BlockRange

PROVISIONAL = 1 << 60  # new incidents' ids until they are inserted: above every stored id, in creation order
_LAST = sys.maxsize


def block_ranges(record: ClaimRecord, gazetteer: Gazetteer | None) -> list[BlockRange]:
    """Every range of the database ``link_claim`` may read for ``record`` (near and far days)."""
    group = record.claim.kind.group
    day = event_day(record)
    first, last = block_dates(day, group)
    _, keys = block_keys(record.claim.place, gazetteer)
    if group is KindGroup.CONTROL:
        spans = [(first, last)]
    else:
        near_first, near_last = near_dates(day)
        spans = [(near_first, near_last), (first, near_first - timedelta(days=1)), (near_last + timedelta(days=1), last)]
    out: list[BlockRange] = []
    for kind_group in link_key(group):
        for key in dict.fromkeys(keys):
            for lo, hi in spans:
                for before, (a, b) in _parts(day, lo, hi):
                    out.append(BlockRange(kind_group, key, a, b, before))
    return out


def _parts(day: date, first: date, last: date) -> list[tuple[bool, tuple[date, date]]]:
    """The ranges of ``list_block_claims`` for ``day`` in [first, last]: (before, (lo, hi))."""
    out = []
    if not first > day:
        out.append((True, (first, min(day, last))))
    if not last <= day:
        out.append((False, (max(day, first - timedelta(days=1)), last)))
    return out


@dataclass
class BlockMemory:
    """The claims of the chunk's blocks, kept as the database would hold them at each claim's turn."""

    records: dict[int, ClaimRecord] = field(default_factory=dict)
    incident: dict[int, int | None] = field(default_factory=dict)
    _index: dict[tuple[str, str], list[tuple[date, int]]] = field(default_factory=dict)
    _where: dict[int, tuple[str, str]] = field(default_factory=dict)

    def add(self, record: ClaimRecord, incident: int | None, kind_group: str, place_key: str) -> None:
        if record.id in self.records:
            return
        self.records[record.id] = record
        self.incident[record.id] = incident
        if record.claim.date is not None:  # a claim without a date is never in a block's ranges
            self._where[record.id] = (kind_group, place_key)
            insort(self._index.setdefault((kind_group, place_key), []), (record.claim.date, record.id))

    def remove(self, claim_id: int) -> None:
        record = self.records.pop(claim_id, None)
        self.incident.pop(claim_id, None)
        where = self._where.pop(claim_id, None)
        if record is not None and where is not None:
            keys = self._index[where]
            keys.pop(bisect_right(keys, (record.claim.date, claim_id)) - 1)

    def move(self, claim_id: int, incident: int | None, copy_of: int | None) -> None:
        self.incident[claim_id] = incident
        record = self.records[claim_id]
        if record.copy_of != copy_of:
            self.records[claim_id] = replace(record, copy_of=copy_of)

    def block_claims(self, kind_groups: Sequence[str], place_keys: Sequence[str], day: date, first: date,
                     last: date, *, limit: int) -> tuple[list[tuple[ClaimRecord, int | None]], bool]:
        """What ``queries.list_block_claims`` answers for the claims held now."""
        half = max(limit // 2, 1)
        out: list[tuple[ClaimRecord, int | None]] = []
        truncated = False
        for group in kind_groups:
            for key in dict.fromkeys(place_keys):
                keys = self._index.get((group, key), [])
                for before, (lo, hi) in _parts(day, first, last):
                    taken = 0
                    if before:
                        i = bisect_right(keys, (hi, _LAST)) - 1
                        while i >= 0 and taken < half and keys[i][0] >= lo:
                            out.append((self.records[keys[i][1]], self.incident[keys[i][1]]))
                            taken += 1
                            i -= 1
                    else:
                        i = bisect_right(keys, (lo, _LAST))
                        while i < len(keys) and taken < half and keys[i][0] <= hi:
                            out.append((self.records[keys[i][1]], self.incident[keys[i][1]]))
                            taken += 1
                            i += 1
                    truncated = truncated or taken >= half
        return out, truncated


@dataclass
class NewIncidents:
    """Incidents a chunk creates, with provisional ids, in creation order."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def create(self, first: ClaimRecord) -> int:
        claim = first.claim
        self.rows.append({"kind": claim.kind.value, "kind_group": claim.kind.group.value, "place_key": claim.place.key,
                              "place": claim.place.name, "oblast": claim.place.oblast, "country": claim.place.country,
                              "lat": claim.place.lat, "lon": claim.place.lon, "date": event_day(first)})
        return PROVISIONAL + len(self.rows) - 1


def link_claim(memory: BlockMemory, record: ClaimRecord, follow_up: bool, gazetteer: Gazetteer | None,
               incidents: NewIncidents, moved: set[int]) -> set[int]:
    """Link one claim of the chunk (``record`` in full, as stored) against ``memory``; the claims
    whose incident or copy changed are added to ``moved``. Returns the incidents touched.

    The same steps, bounds and engine calls as the sequential ``ingest._link``.
    """
    group = record.claim.kind.group
    day = event_day(record)
    first, last = block_dates(day, group)
    key, keys = block_keys(record.claim.place, gazetteer)
    near_clusters: list[tuple[ClaimRecord, ...]] | None = None  # cluster_block of the claim's place, near days
    if group is KindGroup.CONTROL:
        loaded, truncated = memory.block_claims(link_key(group), keys, day, first, last, limit=BLOCK_CLAIMS)
    else:
        near_first, near_last = near_dates(day)
        loaded, truncated = memory.block_claims(link_key(group), keys, day, near_first, near_last,
                                                limit=BLOCK_CLAIMS)
        near_clusters = []
        back, forward = needs_far(at_centre(record, key), [at_centre(r, key) for r, _ in loaded], follow_up,
                                  near_clusters)
        if back or forward:
            near_clusters = None
        for wanted, lo, hi in ((back, first, near_first - timedelta(days=1)),
                               (forward, near_last + timedelta(days=1), last)):
            if wanted:
                far, cut = memory.block_claims(link_key(group), keys, day, lo, hi, limit=BLOCK_CLAIMS)
                loaded += far
                truncated = truncated or cut
    current = {r.id: incident for r, incident in loaded}
    records = {r.id: at_centre(r, key) for r, _ in loaded}
    records[record.id] = at_centre(record, key)
    current.setdefault(record.id, None)
    if near_clusters is None:
        clusters = cluster_block(records.values())
    else:  # no far claims: the claim's place clusters as needs_far found; other places' apart
        place = records[record.id].claim.place.key
        clusters = sorted([*near_clusters, *cluster_block(r for r in records.values() if r.claim.place.key != place)],
                          key=lambda rs: canonical(rs[0]))
    own = next(c for c in clusters if any(r.id == record.id for r in c))
    affected = {current[r.id] for r in own} - {None}
    touched: set[int] = set()
    for cluster, incident_id in zip(clusters, assign_incidents(clusters, current)):
        mine = cluster is own
        near = mine or any(current.get(r.id) in affected for r in cluster)
        changed = incident_id is None or any(current.get(r.id) != incident_id for r in cluster)
        if not near or truncated and not mine or not changed:
            continue
        if incident_id is None:
            incident_id = incidents.create(cluster[0])
        touched.add(incident_id)
        copies = find_copies(cluster)
        for r in cluster:
            if r.id == record.id:
                _place(memory, record, incident_id, copies.get(r.id))
                moved.add(r.id)
            elif not truncated and (current.get(r.id) != incident_id or r.copy_of != copies.get(r.id)):
                if current.get(r.id) is not None:
                    touched.add(current[r.id])
                memory.move(r.id, incident_id, copies.get(r.id))
                moved.add(r.id)
    return touched


def _place(memory: BlockMemory, record: ClaimRecord, incident_id: int, copy_of: int | None) -> None:
    if record.id in memory.records:
        memory.move(record.id, incident_id, copy_of)
    else:  # a claim without a date: never read back by a range, but its link is written
        memory.records[record.id] = replace(record, copy_of=copy_of)
        memory.incident[record.id] = incident_id


def real_ids(ids: Iterable[int | None], inserted: Sequence[int]) -> list[int | None]:
    """Provisional incident ids replaced by the ids the inserted incidents got."""
    return [inserted[i - PROVISIONAL] if i is not None and i >= PROVISIONAL else i for i in ids]
