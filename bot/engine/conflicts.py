"""Updates versus conflicts, and an incident's figures as low / best / high.

The policy is the shared one of the gold corpora (``corpus/*/NOTES.md``), in the spirit of
conflict-data practice (UCDP keeps low / best / high per event; ACLED records the dispute and keeps
the most conservative figure):

- a rising toll is an update, whoever gives it; one claimant is never in conflict with itself,
  and claims of one post never conflict with each other (a post that tells how a toll grew);
- a later figure higher than an earlier one is an update, whoever gives it (a toll only rises);
  counts conflict when a figure given up to ``ABOUT_SAME_TIME`` after another claimant's is
  lower than that one allows, unless it repeats what its own claimant had said by then (a stale
  republication). A figure is placed at the time its words give ("as of 13:30", "станом на
  05:30"), else at its post's time; pages that gave only the day (imported at noon, or a
  second later to keep a file's order) cannot be ordered against each other, so only different
  figures of one snapshot (they agree on the other count) conflict there. Never one side: an
  earlier figure quoted in a later post, a share of a larger count ("of them 3 children"), the
  hospitalised of one post against the injured of another, and, when every claim that names the
  attacker names one side, a figure credited to that side (it quotes the victims' count);
- opposite claims of control made within about two days by claimants of the two sides conflict,
  unless they record a handover in sequence (one side holds the town, then the other takes it
  and nobody denies it);
- opposite claims of who carried out the attack conflict;
- opposite causes: one side says blown up (an explosion), the other side struck (shelling, a
  missile, a bomb); an "explosion" that neither a side states nor blames on anyone is no
  side's account;
- a civilian target against a military one: a claim naming a military target, or the attacker
  admitting the strike, against the other side's civilian target.

Each side of a conflict lists each claimant once, on the side that claimant took; one official
under several labels (a transliteration, a title, a joint statement) is one claimant
(``bot.engine.speakers``). Copies of a report stand with their original.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.engine.linking import (
    canonical,
    event_day,
    is_denial,
    is_share,
    names_military_target,
    says,
    stated_time,
)
from bot.engine.speakers import group_by_claimant, identities, label
from bot.engine.types import (
    ClaimRecord,
    ConflictFinding,
    ConflictValue,
    IncidentSummary,
    Kind,
    KindGroup,
    Qualifier,
    Range,
    Side,
)

KYIV = ZoneInfo("Europe/Kyiv")
ABOUT_SAME_TIME = timedelta(hours=10)
# a time the words state may run a little past the post's own (a clock set by hand)
STATED_SLACK = timedelta(minutes=30)
NOON = 12
# a claimant label the extractor gives a figure a later post quotes ("(earlier figure)", "initial")
_QUOTED_EARLIER = re.compile(r"\b(?:earlier|initial|previous)\b", re.IGNORECASE)
CONTROL_WINDOW = timedelta(days=2)
CIVILIAN_TARGETS = frozenset(
    ["tv_tower", "administration", "central_square", "residential", "hospital", "school", "mall", "station", "energy", "memorial", "theatre", "police"]
)
MILITARY_TARGETS = frozenset({"military"})
SPECIFIC_KINDS = (Kind.MISSILE, Kind.DRONE, Kind.AIRSTRIKE, Kind.ASSASSINATION_ATTEMPT, Kind.EXPLOSION)
SIDES = (Side.UKRAINE, Side.RUSSIA)


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


def who(record: ClaimRecord) -> str:
    """The claimant as shown: the credited person or body, else the channel."""
    return label(record)


def _same_snapshot(a: ClaimRecord, b: ClaimRecord, field: str) -> bool:
    """Whether two claims give the figures of one moment: they agree on the other count. Without
    that, two differing figures published at about the same time are read as two stages of a
    rising toll (publication times are often only the day)."""
    other = "injured" if field == "killed" else "killed"
    oa, ob = _count(a, other), _count(b, other)
    return oa is not None and ob is not None and oa[0] == ob[0]


def _kyiv_day(record: ClaimRecord) -> object:
    return (record.posted_at.astimezone(KYIV) if record.posted_at.tzinfo else record.posted_at).date()


def _time_known(record: ClaimRecord) -> bool:
    """Whether the post's time of day is known: a page that gives only the day is imported at noon
    (12:00:00, or 12:00:01 to keep two posts of one day in order), Kyiv time."""
    posted = record.posted_at.astimezone(KYIV) if record.posted_at.tzinfo else record.posted_at
    return not (posted.hour == 12 and posted.minute == 0 and posted.second <= 1 and not posted.microsecond)


class _Claimants:
    """``speakers.same_claimant`` over one incident's claims, each claim's identities resolved once
    (pairs of claims grow with the square of an incident's claims)."""

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: dict[int, tuple[ClaimRecord, frozenset[str]]] = {}

    def ids(self, record: ClaimRecord) -> frozenset[str]:
        # keyed by the object (kept alive beside its identities, so the key is never reused)
        held = self._ids.get(id(record))
        if held is None:
            held = self._ids[id(record)] = (record, identities(record))
        return held[1]

    def same(self, a: ClaimRecord, b: ClaimRecord) -> bool:
        """Whether two claims come from one claimant (``speakers.same_claimant``)."""
        return bool(self.ids(a) & self.ids(b))


@dataclass(frozen=True, slots=True)
class _Figure:
    """One claim's figure as count conflicts weigh it (read once per claim)."""

    record: ClaimRecord
    value: int
    qualifier: Qualifier | None
    moment: datetime
    known: bool  # the moment is a time of day the post or its words give
    posted_known: bool  # the post itself carries a time of day
    share: bool  # given as a share of a larger count ("of them 3 children")
    hospitalised: bool
    claimant: frozenset[str]  # the identities of its claimant (``speakers.identities``)
    low: float  # the bounds its value and qualifier allow (``_bounds``)
    high: float


def figure_moment(record: ClaimRecord) -> tuple[datetime, bool]:
    """When the claim's figures were given, and whether that time is known: the time of day its
    words state ("as of 13:30") on the post's day, when the post gives no time or a later one;
    else the post's time."""
    posted = record.posted_at.astimezone(KYIV) if record.posted_at.tzinfo else record.posted_at.replace(tzinfo=KYIV)
    known = _time_known(record)
    stated = stated_time(record)
    if stated is not None:
        moment = datetime.combine(posted.date(), stated, KYIV)
        if not known or moment <= posted + STATED_SLACK:
            return moment, True
    return posted, known


def _figure(record: ClaimRecord, count: tuple[int, Qualifier | None]) -> _Figure:
    moment, known = figure_moment(record)
    return _Figure(record, count[0], count[1], moment, known, _time_known(record), is_share(record, count[0]),
                   says(record, "hospitalised"), identities(record), *_bounds(*count))


def _comparable(a: _Figure, b: _Figure, field: str) -> bool:
    """Whether two figures count the same people: not a share of a larger count ("of them 3
    children"), and not the hospitalised of one post against the injured of another."""
    return not (a.share or b.share) and (field != "injured" or a.hospitalised == b.hospitalised)


def _ordered(a: _Figure, b: _Figure) -> bool:
    """Whether two figures can be put in time order: not when both come from pages that gave only
    the day (imported at noon; a time one of them states does not place it against the other)."""
    return a.moment.date() != b.moment.date() or (a.known and b.known) or a.posted_known or b.posted_known


def _first_said(figures: Sequence[_Figure], b: _Figure) -> datetime | None:
    """When ``b``'s claimant first gave its figure in another claim, or None: ``b`` at a later moment
    that repeats it is a stale republication, not a new figure."""
    return min((f.moment for f in figures if f.record.id != b.record.id and f.value == b.value
                and f.claimant & b.claimant), default=None)


def _attacker(records: Sequence[ClaimRecord]) -> Side | None:
    """The side every claim that names the attacker names, or None (no one names it, or the
    claims blame different sides)."""
    named = {r.claim.perpetrator for r in records if r.claim.perpetrator in SIDES}
    return named.pop() if len(named) == 1 else None


def _exact(figure: _Figure) -> bool:
    return figure.qualifier in (None, Qualifier.EXACT)


def _count_conflict(records: Sequence[ClaimRecord], field: str) -> ConflictFinding | None:
    # the attacker's side does not count the victims of a strike nobody disputes: a figure credited
    # to it is the other side's count it quotes ("according to the agency, 19 were killed")
    attacker = _attacker(records)
    figures = sorted((_figure(r, c) for r in records if (c := _count(r, field)) is not None
                      and not _QUOTED_EARLIER.search(r.claim.claimant or "")
                      and (attacker is None or r.claim.claimant_side != attacker)),
                     key=lambda f: (f.moment, canonical(f.record)))
    involved: set[int] = set()
    reasons: list[str] = []
    first_said: dict[int, datetime | None] = {}  # figure index -> ``_first_said``, asked once per figure
    for i, a in enumerate(figures):
        for j in range(i + 1, len(figures)):
            b = figures[j]
            if b.moment - a.moment > ABOUT_SAME_TIME:
                break
            if (a.record.post_key == b.record.post_key or a.value == b.value or a.claimant & b.claimant
                    or not _comparable(a, b, field)):
                continue
            if not _ordered(a, b):
                # unordered figures conflict only when they are different figures of one snapshot
                # (they agree on the other count)
                if _exact(a) and _exact(b) and _same_snapshot(a.record, b.record, field):
                    involved |= {a.record.id, b.record.id}
                    reasons.append(f"{who(a.record)} said {a.value} while {who(b.record)} said {b.value}")
                continue
            # a toll only rises: a later, higher figure is an update whoever gives it; a later figure
            # lower than another claimant's earlier one disputes it, unless it only repeats what its
            # own claimant had said by then (a stale republication)
            if b.high < a.low:
                if j not in first_said:
                    first_said[j] = _first_said(figures, b)
                said = first_said[j]
                if said is not None and said <= a.moment:
                    continue
                involved |= {a.record.id, b.record.id}
                reasons.append(f"{who(b.record)} later gave {b.value}, lower than {who(a.record)}'s {a.value}")
    if not involved:
        return None
    by_value: dict[tuple[int, str | None], list[ClaimRecord]] = {}
    for f in figures:
        if f.record.id in involved:
            by_value.setdefault((f.value, f.qualifier.value if f.qualifier else None), []).append(f.record)
    values = tuple(ConflictValue(v, q, tuple(rs)) for (v, q), rs in sorted(by_value.items(), key=lambda kv: -kv[0][0]))
    return ConflictFinding(field, values, "; ".join(dict.fromkeys(reasons)))


def _sides_by_claimant(records: Sequence[ClaimRecord], field: str) -> dict[Side, list[ClaimRecord]]:
    """The claims behind each side, each claimant on one side only: the side it takes itself when
    it belongs to one, else the side most of its claims state, else its first claim's."""
    stating = [r for r in sorted(records, key=canonical) if getattr(r.claim, field) in SIDES]
    out: dict[Side, list[ClaimRecord]] = {}
    for claims in group_by_claimant(stating):
        stated = Counter(getattr(r.claim, field) for r in claims)
        own = claims[0].claim.claimant_side
        if own in stated:
            side = own
        else:
            side = max(stated, key=lambda s: (stated[s], -next(i for i, r in enumerate(claims)
                                                                if getattr(r.claim, field) == s)))
        out.setdefault(side, []).extend(r for r in claims if getattr(r.claim, field) == side)
    return out


def _side_finding(field: str, by_side: dict[Side, list[ClaimRecord]], what: str) -> ConflictFinding | None:
    if len(by_side) < 2:
        return None
    values = tuple(ConflictValue(side.value, None, tuple(rs)) for side, rs in sorted(by_side.items()))
    names = {side: sorted({who(r) for r in rs}) for side, rs in by_side.items()}
    note = "; ".join(f"{', '.join(n)}: {side.value} {what}" for side, n in sorted(names.items()))
    return ConflictFinding(field, values, note)


def _perpetrator_conflict(records: Sequence[ClaimRecord]) -> ConflictFinding | None:
    return _side_finding("perpetrator", _sides_by_claimant(records, "perpetrator"), "carried out the attack")


def _disputed_control(records: Sequence[ClaimRecord], claimants: _Claimants) -> set[int]:
    """The control claims that dispute each other: opposite controllers from claimants of the two
    sides (a claim reported from the other side counts as that side's; a claimant of no known
    side, a wire or an unnamed source, takes no side in a dispute about who holds a town) within
    ``CONTROL_WINDOW``, on the same day, or where the later one denies the earlier or restates a
    controller claimed before it (a handover in sequence is not a dispute)."""
    rows = sorted((r for r in records if r.claim.controller in SIDES), key=canonical)
    disputed: set[int] = set()
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if (b.claim.controller == a.claim.controller or claimants.same(a, b)
                    or a.claim.claimant_side not in SIDES or b.claim.claimant_side not in SIDES
                    or a.claim.claimant_side == b.claim.claimant_side):
                continue
            if event_day(b) - event_day(a) > CONTROL_WINDOW:
                break
            before = (r for r in rows[:i] if event_day(r) < event_day(a))
            if (event_day(a) == event_day(b) or is_denial(b)
                    or any(r.claim.controller == b.claim.controller for r in before)):
                disputed |= {a.id, b.id}
    return disputed


def _controller_conflict(records: Sequence[ClaimRecord], claimants: _Claimants) -> ConflictFinding | None:
    disputed = _disputed_control(records, claimants)
    if not disputed:
        return None
    return _side_finding("controller", _sides_by_claimant([r for r in records if r.id in disputed], "controller"),
                         "controls")


def _opposed(a: ClaimRecord, b: ClaimRecord, claimants: _Claimants) -> bool:
    """Two claimants who may dispute a target: different ones, not known to be of one side."""
    return not claimants.same(a, b) and (a.claim.claimant_side != b.claim.claimant_side or b.claim.claimant_side is None)


def _target_conflict(records: Sequence[ClaimRecord], claimants: _Claimants) -> ConflictFinding | None:
    """A civilian target against a military one: a claim naming a military target, or a side's
    words calling what was struck military (an admitted "high-precision" strike, "we do not strike
    civilian targets"), against a civilian target the other side names (for the same attacker,
    when the military claim names one)."""
    military = [r for r in records if set(r.claim.targets) & MILITARY_TARGETS
                or (r.claim.claimant_side in SIDES and r.claim.perpetrator in (None, r.claim.claimant_side)
                    and r.claim.kind.group is KindGroup.ATTACK and names_military_target(r))]
    if not military:
        return None
    called_military = {m.id for m in military}
    civilian = [
        c for c in records
        if set(c.claim.targets) & CIVILIAN_TARGETS and c.id not in called_military
        and any(_opposed(c, m, claimants) and (m.claim.perpetrator is None or c.claim.perpetrator in (None, m.claim.perpetrator))
                for m in military)
    ]
    if not civilian:
        return None
    military = [m for m in military if any(_opposed(c, m, claimants) for c in civilian)]
    values = (
        ConflictValue(", ".join(sorted({t for r in civilian for t in r.claim.targets} & CIVILIAN_TARGETS)), None,
                      tuple(civilian)),
        ConflictValue("military", None, tuple(military)),
    )
    note = (f"{', '.join(sorted({who(r) for r in civilian}))}: a civilian target; "
            f"{', '.join(sorted({who(r) for r in military}))}: a military one")
    return ConflictFinding("target", values, note)


def _cause_conflict(records: Sequence[ClaimRecord], claimants: _Claimants) -> ConflictFinding | None:
    """Opposite causes: one side says the building was blown up (an explosion), the other side that
    it was struck (shelling, a missile, a bomb, a drone)."""
    blown = [r for r in records if r.claim.kind is Kind.EXPLOSION
             and (r.claim.claimant_side in SIDES or r.claim.perpetrator in SIDES)]
    struck = [s for s in records if s.claim.kind not in (Kind.EXPLOSION, Kind.STRIKE, Kind.OTHER, Kind.CONTROL)
              and any(_opposed(s, b, claimants) and s.claim.claimant_side is not None for b in blown)]
    if not blown or not struck:
        return None
    blown = [b for b in blown if any(_opposed(s, b, claimants) for s in struck)]
    values = (ConflictValue("explosion", None, tuple(blown)),
              ConflictValue(", ".join(sorted({s.claim.kind.value for s in struck})), None, tuple(struck)))
    note = (f"{', '.join(sorted({who(r) for r in blown}))}: blown up; "
            f"{', '.join(sorted({who(r) for r in struck}))}: struck")
    return ConflictFinding("cause", values, note)


def detect_conflicts(records: Iterable[ClaimRecord]) -> list[ConflictFinding]:
    """The conflicts among an incident's claims (copies of a report are left out)."""
    originals = [r for r in records if r.copy_of is None]
    claimants = _Claimants()
    findings = [
        _count_conflict(originals, "killed"),
        _count_conflict(originals, "injured"),
        _controller_conflict(originals, claimants),
        _perpetrator_conflict(originals),
        _target_conflict(originals, claimants),
        _cause_conflict(originals, claimants),
    ]
    return [f for f in findings if f is not None]


def _range(records: Sequence[ClaimRecord], field: str) -> Range:
    rows = [(r, c) for r in records if (c := _count(r, field)) is not None]
    if not rows:
        return Range()
    latest = max(rows, key=lambda x: (figure_moment(x[0])[0], x[1][0]))  # the time it was given for
    values = [c[0] for _, c in rows]
    return Range(low=min(values), best=latest[1][0], high=max(values))


def summarize(records: Sequence[ClaimRecord]) -> IncidentSummary:
    """The incident as a whole: kind, place, date, figures and number of independent sources."""
    kinds = Counter(r.claim.kind for r in records)
    specific = [k for k in SPECIFIC_KINDS if kinds[k]]
    kind = max(specific, key=lambda k: kinds[k]) if specific else kinds.most_common(1)[0][0]
    day = min(event_day(r) for r in records)
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
