"""Linking: which claims of one place tell of the same incident, and which merely repeat another report.

Claims are linked by when the event happened (``claim.date``, which the extractor reads from the
text: "14 січня", "накануне", "last night"), not by when they were posted, and always inside one
block: one resolved place and one kind of incident (an attack or a casualty event, or a town's
control). ``cluster_block`` partitions a block's claims; it looks at the claims in a canonical
order (event day, post time, channel, message), so the same claims give the same incidents
whatever order they arrived in. The service re-clusters the block around each new claim.

- Attacks: an incident is anchored on its own event day. Claims of that day join it (unless two
  distinct landmarks say two sites were hit); a claim of the next day joins it only when it brings
  no toll of its own or repeats the incident's figure; a follow-up (the toll rose, bodies were
  recovered, someone died in hospital, an earlier count) joins the latest incident of the place up
  to ``FOLLOW_UP_WINDOW`` back; a claim naming a struck site (a mall, a hospital) joins the latest
  strike on that site up to ``LANDMARK_WINDOW`` back when no incident of its own day takes it. Nothing chains: seven daily strikes, each with its own toll, stay
  seven incidents.
- Control: a contested town is one episode for as long as claims keep coming (gaps up to
  ``CONTROL_GAP``); a change of hands both sides state closes it, and statements in the
  ``CONTROL_TAIL`` after that still belong to it.

Numbers never split or drop a claim: different tolls of one event are an update or a conflict,
decided in ``bot.engine.conflicts``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, utils

from bot.engine.gazetteer import Gazetteer
from bot.engine.types import ClaimRecord, IncidentCandidate, KindGroup, Place, Side

DATA_FILE = Path(__file__).resolve().parent / "data" / "linking.json"
KYIV = ZoneInfo("Europe/Kyiv")

DATE_WINDOW = timedelta(days=1)
# How far back a claim naming a struck site (a mall, a hospital) finds the strike on that site.
LANDMARK_WINDOW = timedelta(days=7)
FOLLOW_UP_WINDOW = timedelta(days=30)
CONTROL_GAP = timedelta(days=183)
CONTROL_TAIL = timedelta(days=14)
COPY_SIMILARITY = 88.0
# Bounds on the work per new claim: the claims of a block loaded around its day (the nearest
# first), and, for the older streaming interface, the candidates weighed.
BLOCK_CLAIMS = 80
CANDIDATE_INCIDENTS = 32
CLAIMS_PER_INCIDENT = 20
# Copy detection looks at most at this many claims of one incident.
COPY_CANDIDATES = 200

# A settlement this populous and this many times the next of its name is the one its name means in
# a control claim (Avdiivka, Lyman, Krasnohorivka against villages of their names elsewhere).
NAMESAKE_TOWN = 5000
NAMESAKE_RATIO = 5

# Sites distinct enough that two of them named for one town and day are two attacks.
LANDMARK_TARGETS = frozenset({"tv_tower", "hospital", "school", "mall", "station", "theatre", "memorial",
                              "central_square"})
BROAD_TARGETS = frozenset({"residential"})


CUE_KEYS = ("follow_up", "denial", "military_target", "partial_count", "hospitalised", "as_of")


@lru_cache(maxsize=1)
def _cues() -> dict[str, re.Pattern[str]]:
    """The wording lists of ``data/linking.json`` (``CUE_KEYS``), each as one pattern."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    out = {}
    for key in CUE_KEYS:
        try:
            patterns = [p for lang in ("en", "uk", "ru") for p in data[key][lang]]
            out[key] = re.compile("|".join(f"(?:{p})" for p in patterns))
        except (KeyError, re.error) as exc:
            raise ValueError(f"{DATA_FILE}: bad '{key}' patterns: {exc}") from exc
    return out


@lru_cache(maxsize=1 << 16)
def _text_says(cue: str, text: str) -> bool:
    """Whether ``text`` matches the wording list ``cue`` (once per text: blocks are re-clustered)."""
    return bool(_cues()[cue].search(text.lower()))


@lru_cache(maxsize=1 << 14)
def _partial_counts(text: str) -> tuple[tuple[str | None, ...], ...]:
    return tuple(m.groups() for m in _cues()["partial_count"].finditer(text.lower()))


@lru_cache(maxsize=1 << 14)
def _stated_time(text: str) -> time | None:
    for match in _cues()["as_of"].finditer(text.lower()):
        hour, minute = (int(g) for g in match.groups() if g is not None)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    return None


def says(record: ClaimRecord, cue: str) -> bool:
    """Whether the claim's words match one of the wording lists (``CUE_KEYS``)."""
    return _text_says(cue, record.claim.evidence)


def is_follow_up(record: ClaimRecord) -> bool:
    """Whether the claim's words report on an earlier event (a risen toll, bodies recovered...)."""
    return says(record, "follow_up")


def is_denial(record: ClaimRecord) -> bool:
    """Whether the claim's words reject the other side's claim ("спростували", "fighting continues")."""
    return says(record, "denial")


def is_share(record: ClaimRecord, figure: int) -> bool:
    """Whether the claim's words give ``figure`` as a share of a larger count ("of them 3
    children", "з них 3", "из них 3"): a part, not a toll of its own."""
    return str(figure) in {g for groups in _partial_counts(record.claim.evidence) for g in groups}


def stated_time(record: ClaimRecord) -> time | None:
    """The time of day the claim's words give its figures for ("as of 13:30", "станом на
    05:30"), or None."""
    return _stated_time(record.claim.evidence)


def names_military_target(record: ClaimRecord) -> bool:
    """Whether the claim's words call what was struck military ("high-precision", "military-industrial")."""
    return says(record, "military_target")


def event_day(record: ClaimRecord) -> date:
    """The day the claim's event happened: the date read from the text, else the post's Kyiv day."""
    if record.claim.date is not None:
        return record.claim.date
    posted = record.posted_at
    return posted.astimezone(KYIV).date() if posted.tzinfo else posted.date()


def canonical(record: ClaimRecord) -> tuple[date, object, str, int, int]:
    """The order claims are weighed in: event day, post time, channel, message, then the claim's
    place in its post (ids of one post follow the post's order whenever it was imported)."""
    return (event_day(record), record.posted_at, record.source_ref, record.message_id, record.id)


def link_key(group: KindGroup) -> tuple[str, ...]:
    """The kind groups one block holds: control alone; attacks with casualty events (a queue fired on
    is one incident whether a post says "shelled" or "shot")."""
    return (KindGroup.CONTROL.value,) if group is KindGroup.CONTROL else (KindGroup.ATTACK.value,
                                                                          KindGroup.OTHER.value)


def block_span(group: KindGroup) -> timedelta:
    """How far from a claim's day the block that may change with it reaches."""
    return 2 * CONTROL_GAP if group is KindGroup.CONTROL else FOLLOW_UP_WINDOW + 2 * DATE_WINDOW


def block_dates(day: date, group: KindGroup = KindGroup.ATTACK) -> tuple[date, date]:
    """The event dates a claim of ``day`` may share an incident with, or change the incidents of."""
    span = block_span(group)
    return day - span, day + span


def near_dates(day: date) -> tuple[date, date]:
    """The days an attack claim of ``day`` is always weighed with: the day before to the day after.
    Farther days matter only to a follow-up (back) or to a claim that may anchor later follow-ups
    (forward); ``needs_far`` tells which."""
    return day - 2 * DATE_WINDOW, day + 2 * DATE_WINDOW


def is_follow_up_text(text: str) -> bool:
    return _text_says("follow_up", text)  # whether a post's words report on an earlier event


def needs_far(record: ClaimRecord, near: Sequence[ClaimRecord], follow_up: bool,
              clusters_out: list[tuple[ClaimRecord, ...]] | None = None) -> tuple[bool, bool]:
    """Whether the claims beyond the near days must be weighed too: before them when the claim's
    post is a follow-up (the event it reports on), after them when the claim comes first in its
    cluster of the near days (later follow-ups may belong to it) and no later incident of the near
    days stands between: a follow-up joins the latest incident of its place, and one anchored
    after the claim's day with no landmark (so no follow-up clashes with it) is later than the
    claim's for every follow-up beyond the near days, whatever they say (``clusters_out`` gets the clusters)."""
    # the claim may be among the near ones already (it is stored before it is linked); the block may
    # hold namesakes' attacks, which are other places' incidents (``clusters_out``: the claim's place only)
    clusters = cluster_block([*(r for r in near if r.id != record.id and r.claim.place.key == record.claim.place.key),
                              record])
    if clusters_out is not None:
        clusters_out.extend(clusters)
    own = next((c for c in clusters if record in c), (record,))
    # a claim naming a struck site may be a later word on the strike on that site
    back = follow_up or bool(set(record.claim.targets) & LANDMARK_TARGETS)
    if min(own, key=canonical).id != record.id:
        return back, False
    day = event_day(record)
    if any(set(r.claim.targets) & LANDMARK_TARGETS for r in own):
        return back, True
    shields = any(c is not own and event_day(c[0]) > day
                  and not any(set(r.claim.targets) & LANDMARK_TARGETS for r in c) for c in clusters)
    return back, not shields


def oblast_centre(place: Place) -> str | None:
    """The settlement an oblast is named after ("Zaporizhzhia Oblast" -> "Zaporizhzhia"), for a
    place that is that oblast or that settlement; None otherwise."""
    if not place.oblast or not place.oblast.endswith(" Oblast"):
        return None
    centre = place.oblast.removesuffix(" Oblast")
    if place.level == "oblast" and place.name == place.oblast:
        return centre
    return centre if place.level != "oblast" and place.name == centre else None


@lru_cache(maxsize=4096)
def _settlements_named(gazetteer: Gazetteer, name: str) -> tuple[Place, ...]:
    """The settlements of that name, the most populous first (asked once per name)."""
    return tuple(sorted((p for p in gazetteer.lookup(name) if p.level == "settlement" and p.name == name),
                  key=lambda p: (-p.population, p.key)))


def namesakes(place: Place, gazetteer: Gazetteer) -> list[Place]:
    """The settlements that share ``place``'s name when one of them is a town that dwarfs the others
    (``NAMESAKE_TOWN``, ``NAMESAKE_RATIO``): that town first, then the rest. A control claim
    resolved to one of its namesake villages speaks of the town. Just ``place`` otherwise (a name
    many villages share, which the resolver told apart by their context)."""
    if place.level != "settlement":
        return [place]
    same = _settlements_named(gazetteer, place.name)
    if len(same) < 2 or place.key not in {p.key for p in same}:
        return [place]
    town, second = same[0], same[1]
    if town.population < NAMESAKE_TOWN or town.population < NAMESAKE_RATIO * second.population:
        return [place]
    return list(same)


def block_keys(place: Place, gazetteer: Gazetteer | None) -> tuple[str, tuple[str, ...]]:
    """The blocking key a claim at ``place`` is weighed under, and every place key of that block:
    an oblast named after its centre and the centre share the centre's key, and settlements of one
    name share the key of the town among them (``namesakes``: a contested town's control claims are
    one episode however the resolver placed them; ``at_centre`` moves only control claims)."""
    if gazetteer is None:
        return place.key, (place.key,)
    centre = oblast_centre(place)
    if centre is None:
        same = namesakes(place, gazetteer)
        return same[0].key, tuple(p.key for p in same)
    if place.oblast is None:
        return place.key, (place.key,)
    if place.level == "oblast":
        town = next((p for p in gazetteer.lookup(centre) if p.oblast == place.oblast and p.level != "oblast"), None)
        return (town.key, (town.key, place.key)) if town else (place.key, (place.key,))
    region = next((p for p in gazetteer.lookup(place.oblast) if p.level == "oblast"), None)
    return place.key, ((place.key, region.key) if region else (place.key,))


def at_centre(record: ClaimRecord, key: str) -> ClaimRecord:
    """A claim weighed under blocking key ``key`` (``block_keys``): one made of a whole oblast as a
    claim at its centre, and a control claim at a namesake of the key's town as one at that town."""
    place = record.claim.place
    if place.key == key or place.level != "oblast" and record.claim.kind.group is not KindGroup.CONTROL:
        return record
    claim = replace(record.claim, place=replace(place, code=key))
    return replace(record, claim=claim)


# ---------------------------------------------------------------- clustering a block


@dataclass(slots=True)
class _Draft:
    anchor: date
    records: list[ClaimRecord] = field(default_factory=list)
    landmarks: set[str] = field(default_factory=set)
    broad: bool = False
    killed: set[int] = field(default_factory=set)
    injured: set[int] = field(default_factory=set)
    last: date | None = None
    closed_at: date | None = None

    def add(self, record: ClaimRecord) -> None:
        claim = record.claim
        self.records.append(record)
        self.landmarks |= set(claim.targets) & LANDMARK_TARGETS
        self.broad = self.broad or bool(set(claim.targets) & BROAD_TARGETS)
        if claim.killed is not None:
            self.killed.add(claim.killed)
        if claim.injured is not None:
            self.injured.add(claim.injured)
        day = event_day(record)
        self.last = day if self.last is None or day > self.last else self.last


def _clashes(draft: _Draft, record: ClaimRecord) -> bool:
    """Two different landmarks (a TV tower, a hospital) named for one town and day are two attacks;
    a claim that also names homes hit, or names no landmark, fits any."""
    targets = set(record.claim.targets)
    mine = targets & LANDMARK_TARGETS
    if not mine or not draft.landmarks or mine & draft.landmarks:
        return False
    return not (targets & BROAD_TARGETS or draft.broad)


def _repeats_figure(draft: _Draft, record: ClaimRecord) -> bool:
    claim = record.claim
    if claim.killed is None and claim.injured is None:
        return True
    return (claim.killed is not None and claim.killed in draft.killed) or (
        claim.injured is not None and claim.injured in draft.injured)


def _continues(draft: _Draft, record: ClaimRecord) -> bool:
    """Whether the claim's tolls can be the incident's later ones: none below its highest so far
    (a smaller toll days later on the same site is another strike)."""
    claim = record.claim
    return ((claim.killed is None or not draft.killed or claim.killed >= max(draft.killed))
            and (claim.injured is None or not draft.injured or claim.injured >= max(draft.injured)))


def _cluster_events(records: Sequence[ClaimRecord]) -> list[_Draft]:
    drafts: list[_Draft] = []
    # a post that reports on an earlier event does so in all its claims of the block ("a previous
    # count spoke of three dead" beside "at least four were killed")
    follow_ups = {r.post_key for r in records if is_follow_up(r)}
    for record in sorted(records, key=canonical):
        day = event_day(record)
        target = None
        if record.post_key in follow_ups:
            earlier = [d for d in drafts if day - FOLLOW_UP_WINDOW <= d.anchor <= day and not _clashes(d, record)]
            if earlier:
                target = max(earlier, key=lambda d: (d.anchor, -drafts.index(d)))
        if target is None:
            target = next((d for d in drafts if d.anchor == day and not _clashes(d, record)), None)
        if target is None:
            target = next((d for d in drafts if d.anchor == day - DATE_WINDOW and not _clashes(d, record)
                           and _repeats_figure(d, record)), None)
        if target is None and (mine := set(record.claim.targets) & LANDMARK_TARGETS):
            # a later word on the strike on the same site (a toll, the weapon), days after it
            earlier = [d for d in drafts if day - LANDMARK_WINDOW <= d.anchor < day and d.landmarks & mine
                       and _continues(d, record)]
            if earlier:
                target = max(earlier, key=lambda d: (d.anchor, -drafts.index(d)))
        if target is None:
            target = _Draft(anchor=day)
            drafts.append(target)
        target.add(record)
    return drafts


def _acknowledged(draft: _Draft) -> bool:
    """Whether both sides state the same controller in the episode after it was disputed: the
    winner's claim and the loser's acknowledgement (a withdrawal it announces)."""
    sides = {Side.UKRAINE, Side.RUSSIA}
    said: dict[Side, set[Side]] = {}
    for record in draft.records:
        claim = record.claim
        if claim.controller in sides and claim.claimant_side in sides:
            said.setdefault(claim.controller, set()).add(claim.claimant_side)
    controllers = {r.claim.controller for r in draft.records if r.claim.controller in sides}
    return len(controllers) > 1 and any(len(by) == 2 for by in said.values())


def _cluster_control(records: Sequence[ClaimRecord]) -> list[_Draft]:
    drafts: list[_Draft] = []
    for record in sorted(records, key=canonical):
        day = event_day(record)
        current = drafts[-1] if drafts else None
        if (current is None or current.last is None or day - current.last > CONTROL_GAP
                or (current.closed_at is not None and day > current.closed_at + CONTROL_TAIL)):
            current = _Draft(anchor=day)
            drafts.append(current)
        current.add(record)
        if current.closed_at is None and _acknowledged(current):
            current.closed_at = day
    return drafts


def cluster_block(records: Iterable[ClaimRecord]) -> list[tuple[ClaimRecord, ...]]:
    """The incidents of a block's claims, each as its claims in canonical order.

    Args:
        records: claims of one place (records of other places or kind groups are clustered
            apart); in any order.

    Returns:
        The incidents, ordered by their first claim; the same claims in any order give the same
        result.
    """
    blocks: dict[tuple[str, bool], list[ClaimRecord]] = {}
    for record in records:
        control = record.claim.kind.group is KindGroup.CONTROL
        blocks.setdefault((record.claim.place.key, control), []).append(record)
    out: list[tuple[ClaimRecord, ...]] = []
    for (_, control), members in blocks.items():
        drafts = _cluster_control(members) if control else _cluster_events(members)
        out.extend(tuple(d.records) for d in drafts)
    return sorted(out, key=lambda rs: canonical(rs[0]))


def assign_incidents(clusters: Sequence[Sequence[ClaimRecord]], current: dict[int, int | None]) -> list[int | None]:
    """Which existing incident each cluster keeps: the one most of its claims hold now (an incident
    goes to one cluster at most, the largest first); None where a new incident is needed.

    Args:
        clusters: the output of ``cluster_block``.
        current: claim id -> incident id now (None for a claim not linked yet).
    """
    order = sorted(range(len(clusters)), key=lambda i: (-len(clusters[i]), canonical(clusters[i][0])))
    taken: set[int] = set()
    out: list[int | None] = [None] * len(clusters)
    for i in order:
        votes: dict[int, int] = {}
        for record in clusters[i]:
            incident = current.get(record.id)
            if incident is not None and incident not in taken:
                votes[incident] = votes.get(incident, 0) + 1
        if votes:
            best = min(votes, key=lambda inc: (-votes[inc], inc))
            taken.add(best)
            out[i] = best
    return out


def find_copies(cluster: Sequence[ClaimRecord], *, limit: int = COPY_CANDIDATES) -> dict[int, int | None]:
    """Which claim of an incident each claim repeats (``copy_of``), independent of arrival order:
    the earliest report (in canonical order) it repeats, or None for an original."""
    ordered = sorted(cluster, key=canonical)[:limit]
    out: dict[int, int | None] = {r.id: None for r in cluster}
    by_figures: dict[tuple[object, ...], list[ClaimRecord]] = {}
    for record in ordered:
        claim = record.claim
        earlier = by_figures.setdefault((claim.killed, claim.injured, claim.controller), [])  # a copy's figures
        for other in earlier:
            if out[other.id] is None and _repeats(record, other):
                out[record.id] = other.id
                break
        earlier.append(record)
    return out


def _repeats(record: ClaimRecord, other: ClaimRecord) -> bool:
    if other.source_ref == record.source_ref:
        return False
    a, b = record.claim, other.claim
    if (a.killed, a.injured, a.controller) != (b.killed, b.injured, b.controller):
        return False
    return fuzz.token_sort_ratio(a.evidence, b.evidence, processor=utils.default_process) >= COPY_SIMILARITY


# ---------------------------------------------------------------- one claim against candidates


def link_claim(record: ClaimRecord, candidates: Sequence[IncidentCandidate]) -> int | None:
    """The id of the incident ``record`` belongs to, or None for a new incident (streaming form).

    Args:
        record: the new claim.
        candidates: incidents that share its block, each with its claims most relevant to
            ``record``; on equal scores the earlier candidate wins.

    Returns:
        The candidate whose claims ``cluster_block`` puts ``record`` with (the one with most of
        them on a tie); None when no candidate is compatible.
    """
    best: tuple[float, int] | None = None
    for candidate in candidates:
        records = [r for r in candidate.records if r.id != record.id]
        if not records:
            continue
        if any(r.claim.kind.group != record.claim.kind.group or r.claim.place.key != record.claim.place.key
               for r in records):
            continue
        together = next(c for c in cluster_block([*records, record]) if record in c)
        shared = sum(1 for r in together if r is not record)
        if not shared:
            continue
        score = shared + 0.01 * max(fuzz.token_set_ratio(record.claim.evidence, r.claim.evidence,
                                                           processor=utils.default_process) for r in records)
        if best is None or score > best[0]:
            best = (score, candidate.id)
    return best[1] if best else None


def find_copy(record: ClaimRecord, others: Sequence[ClaimRecord]) -> int | None:
    """The claim this one repeats (a repost, forward or aggregator copy), or None.

    A copy says the same thing in near-same words with the same figures, from another channel;
    it corroborates the original report but is not an independent source.
    """
    for other in others:
        if other.id != record.id and _repeats(record, other):
            return other.copy_of or other.id
    return None
