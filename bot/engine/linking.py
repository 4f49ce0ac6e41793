"""Linking: which incident a new claim belongs to, and whether it merely repeats another report.

Candidates come from a blocking key (resolved place, event date within a day, kind group), so
the work per claim stays flat however large the store grows. However dense a block gets, at most
``CANDIDATE_INCIDENTS`` incidents are weighed, each through its ``CLAIMS_PER_INCIDENT`` claims
nearest in date (the store ranks and loads them). Among candidates, what identifies the
event decides: targets and landmarks must not contradict, then text similarity (rapidfuzz) and the
closeness of dates rank them. Numbers never split or drop a claim: different tolls of one event
are an update or a conflict, decided later.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Sequence

from rapidfuzz import fuzz, utils

from bot.engine.types import ClaimRecord, IncidentCandidate, KindGroup

DATE_WINDOW = timedelta(days=1)
COPY_SIMILARITY = 88.0
# Bounds on the work per new claim. Incidents of a block rank by a claim on the same day, then by
# their claims in the block; an incident's claims rank by date nearness, then age.
CANDIDATE_INCIDENTS = 32
CLAIMS_PER_INCIDENT = 20
# Copy detection looks past the loaded claims of a larger incident, at most this many of them.
COPY_CANDIDATES = 200


def block_dates(day: date) -> tuple[date, date]:
    """The event dates a claim of ``day`` may share an incident with."""
    return day - DATE_WINDOW, day + DATE_WINDOW


MILITARY_TARGETS = frozenset({"military"})


def _targets_clash(a: set[str], b: set[str]) -> bool:
    """Two different civilian targets mean two events; a civilian target against a claimed military
    one is the classic dispute about one event, so it does not split."""
    if not a or not b or a & b:
        return False
    return not (a <= MILITARY_TARGETS or b <= MILITARY_TARGETS)


def link_claim(record: ClaimRecord, candidates: Sequence[IncidentCandidate]) -> int | None:
    """The id of the incident ``record`` belongs to, or None for a new incident.

    Args:
        record: the new claim.
        candidates: incidents that share its block (place, date ± 1 day, kind group), each with
            its claims most relevant to ``record`` (up to ``CLAIMS_PER_INCIDENT``, nearest in date);
            on equal scores the earlier candidate wins.

    Returns:
        The best candidate's id; None when no candidate is compatible.
    """
    claim = record.claim
    best: tuple[float, int] | None = None
    for candidate in candidates:
        records = [r for r in candidate.records if r.id != record.id]
        if not records:
            continue
        if any(r.claim.kind.group != claim.kind.group or r.claim.place.key != claim.place.key for r in records):
            continue
        dates = [r.claim.date for r in records if r.claim.date]
        if claim.date and dates and min(abs((claim.date - d).days) for d in dates) > DATE_WINDOW.days:
            continue
        targets = {t for r in records for t in r.claim.targets}
        if claim.kind.group is KindGroup.ATTACK and _targets_clash(set(claim.targets), targets):
            continue
        score = 50.0
        score += 30.0 * bool(set(claim.targets) & targets)
        score += 0.2 * max(fuzz.token_set_ratio(claim.evidence, r.claim.evidence, processor=utils.default_process)
                           for r in records[:CLAIMS_PER_INCIDENT])
        if claim.date and dates:
            score -= 5.0 * min(abs((claim.date - d).days) for d in dates)
        if best is None or score > best[0]:
            best = (score, candidate.id)
    return best[1] if best else None


def find_copy(record: ClaimRecord, others: Sequence[ClaimRecord]) -> int | None:
    """The claim this one repeats (a repost, forward or aggregator copy), or None.

    A copy says the same thing in near-same words with the same figures, from another channel;
    it corroborates the original report but is not an independent source.
    """
    claim = record.claim
    for other in others:
        if other.id == record.id or other.source_ref == record.source_ref:
            continue
        o = other.claim
        if (o.killed, o.injured, o.controller) != (claim.killed, claim.injured, claim.controller):
            continue
        similarity = fuzz.token_sort_ratio(claim.evidence, o.evidence, processor=utils.default_process)
        if similarity >= COPY_SIMILARITY:
            return other.copy_of or other.id
    return None
