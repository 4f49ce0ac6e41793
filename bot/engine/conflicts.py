"""Updates versus conflicts, and an incident's figures as low / best / high.

Following conflict-data practice (UCDP keeps low / best / high per event; ACLED records the
dispute and keeps the most conservative figure):

- a rising toll is an update, whoever gives it;
- a conflict is opposite claims of control or of who did it, disjoint civilian and military
  targets, exact counts from different claimants at about the same time that differ, or a later
  figure lower than an earlier one's lower bound.

Claims from one post never conflict with each other (a post that tells how a toll grew), and
copies of a report stand with their original.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import combinations
from typing import Iterable, Sequence

from bot.engine.types import (
    ClaimRecord,
    ConflictFinding,
    ConflictValue,
    IncidentSummary,
    Kind,
    Qualifier,
    Range,
    Side,
)

SAME_TIME = timedelta(hours=3)
CIVILIAN_TARGETS = frozenset(
    "tv_tower administration central_square residential hospital school mall station energy memorial theatre police".split()
)
MILITARY_TARGETS = frozenset({"military"})
SPECIFIC_KINDS = (Kind.MISSILE, Kind.DRONE, Kind.AIRSTRIKE, Kind.ASSASSINATION_ATTEMPT, Kind.EXPLOSION)


def _bounds(value: int, qualifier: Qualifier | None) -> tuple[float, float]:
    if qualifier is Qualifier.AT_LEAST:
        return value, float("inf")
    if qualifier is Qualifier.APPROX:
        return value * 0.8, value * 1.25
    return value, value


def _count(record: ClaimRecord, field: str) -> tuple[int, Qualifier | None] | None:
    claim = record.claim
    if field == "killed":
        return (claim.killed, claim.qualifier) if claim.killed is not None else None
    return (claim.injured, claim.injured_qualifier) if claim.injured is not None else None


def _speaker(record: ClaimRecord) -> str:
    return (record.claim.claimant or record.source_name).casefold()


def _count_conflict(records: Sequence[ClaimRecord], field: str) -> ConflictFinding | None:
    rows = [(r, c) for r in records if (c := _count(r, field)) is not None]
    involved: set[int] = set()
    reasons: list[str] = []
    for (a, ca), (b, cb) in combinations(sorted(rows, key=lambda x: x[0].posted_at), 2):
        if a.post_key == b.post_key or ca[0] == cb[0]:
            continue
        gap = b.posted_at - a.posted_at
        a_low, _ = _bounds(*ca)
        _, b_high = _bounds(*cb)
        if gap >= SAME_TIME and b_high < a_low:
            involved |= {a.id, b.id}
            reasons.append(f"{b.claim.claimant or b.source_name} later gave {cb[0]}, "
                           f"lower than {a.claim.claimant or a.source_name}'s {ca[0]}")
        elif gap < SAME_TIME and ca[1] in (None, Qualifier.EXACT) and cb[1] in (None, Qualifier.EXACT) \
                and _speaker(a) != _speaker(b):
            involved |= {a.id, b.id}
            reasons.append(f"{a.claim.claimant or a.source_name} said {ca[0]} while "
                           f"{b.claim.claimant or b.source_name} said {cb[0]}")
    if not involved:
        return None
    by_value: dict[tuple[int, str | None], list[ClaimRecord]] = {}
    for record, (value, qualifier) in rows:
        if record.id in involved:
            by_value.setdefault((value, qualifier.value if qualifier else None), []).append(record)
    values = tuple(ConflictValue(v, q, tuple(rs)) for (v, q), rs in sorted(by_value.items(), key=lambda kv: -kv[0][0]))
    return ConflictFinding(field, values, "; ".join(dict.fromkeys(reasons)))


def _side_conflict(records: Sequence[ClaimRecord], field: str) -> ConflictFinding | None:
    by_side: dict[Side, list[ClaimRecord]] = {}
    for record in records:
        side = getattr(record.claim, field)
        if side in (Side.UKRAINE, Side.RUSSIA):
            by_side.setdefault(side, []).append(record)
    if len(by_side) < 2:
        return None
    values = tuple(ConflictValue(side.value, None, tuple(rs)) for side, rs in sorted(by_side.items()))
    who = {side: sorted({r.claim.claimant or r.source_name for r in rs}) for side, rs in by_side.items()}
    what = "controls" if field == "controller" else "carried out the attack"
    note = "; ".join(f"{', '.join(names)}: {side.value} {what}" for side, names in sorted(who.items()))
    return ConflictFinding(field, values, note)


def _target_conflict(records: Sequence[ClaimRecord]) -> ConflictFinding | None:
    civilian = [r for r in records if r.claim.targets and set(r.claim.targets) <= CIVILIAN_TARGETS]
    military = [r for r in records if r.claim.targets and set(r.claim.targets) <= MILITARY_TARGETS]
    if not civilian or not military:
        return None
    values = (
        ConflictValue(", ".join(sorted({t for r in civilian for t in r.claim.targets})), None, tuple(civilian)),
        ConflictValue("military", None, tuple(military)),
    )
    return ConflictFinding("target", values, "civilian target against a claimed military one")


def detect_conflicts(records: Iterable[ClaimRecord]) -> list[ConflictFinding]:
    """The conflicts among an incident's claims (copies of a report are left out)."""
    originals = [r for r in records if r.copy_of is None]
    findings = [
        _count_conflict(originals, "killed"),
        _count_conflict(originals, "injured"),
        _side_conflict(originals, "controller"),
        _side_conflict(originals, "perpetrator"),
        _target_conflict(originals),
    ]
    return [f for f in findings if f is not None]


def _range(records: Sequence[ClaimRecord], field: str) -> Range:
    rows = [(r, c) for r in records if (c := _count(r, field)) is not None]
    if not rows:
        return Range()
    latest = max(rows, key=lambda x: (x[0].posted_at, x[1][0]))
    values = [c[0] for _, c in rows]
    return Range(low=min(values), best=latest[1][0], high=max(values))


def summarize(records: Sequence[ClaimRecord]) -> IncidentSummary:
    """The incident as a whole: kind, place, date, figures and number of independent sources."""
    kinds = Counter(r.claim.kind for r in records)
    specific = [k for k in SPECIFIC_KINDS if kinds[k]]
    kind = max(specific, key=lambda k: kinds[k]) if specific else kinds.most_common(1)[0][0]
    dates = Counter(r.claim.date for r in records if r.claim.date)
    day = min(dates, key=lambda d: (-dates[d], d)) if dates else records[0].posted_at.date()
    places = Counter(r.claim.place for r in records)
    controllers = [r for r in records if r.claim.controller]
    controller = max(controllers, key=lambda r: r.posted_at).claim.controller if controllers else None
    independent = {r.source_ref for r in records if r.copy_of is None}
    return IncidentSummary(
        kind=kind,
        place=places.most_common(1)[0][0],
        date=day,
        killed=_range(records, "killed"),
        injured=_range(records, "injured"),
        controller=controller,
        sources=len(independent),
    )
