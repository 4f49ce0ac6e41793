"""Attack incidents across days on constructed claims: a later word on the strike on one site
(a toll, the weapon) joins that strike; strikes on other sites, or with a smaller toll, do not."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import permutations
from zoneinfo import ZoneInfo

from bot.engine.linking import cluster_block, needs_far
from bot.engine.types import Claim, ClaimRecord, Kind, Place

KYIV = ZoneInfo("Europe/Kyiv")
KHARKIV = Place("Kharkiv", "Kharkiv Oblast", code="UA63")
DAY0 = date(2024, 5, 25)


def strike(n: int, days: int, *, targets: tuple[str, ...] = (), killed: int | None = None,
           injured: int | None = None, evidence: str = "a strike on Kharkiv") -> ClaimRecord:
    day = DAY0 + timedelta(days=days)
    claim = Claim(kind=Kind.AIRSTRIKE, place=KHARKIV, date=day, evidence=evidence, killed=killed,
                  injured=injured, claimant=f"c{n}", targets=targets)
    return ClaimRecord(id=n, claim=claim, source_ref=f"s{n}", source_name=f"S{n}", message_id=n,
                       posted_at=datetime.combine(day, datetime.min.time(), KYIV) + timedelta(hours=12), url=None)


def groups(records: list[ClaimRecord]) -> list[set[int]]:
    return sorted(({r.id for r in c} for c in cluster_block(records)), key=min)


def test_a_toll_or_weapon_named_days_later_for_the_same_site_joins_its_strike() -> None:
    mall = strike(1, 0, targets=("mall",), killed=12, injured=40)
    other_day = strike(2, 1, killed=1)  # a strike elsewhere in the city the next day, its own toll
    toll = strike(3, 3, targets=("mall",), killed=16, injured=43)  # no "rose", no "the toll"
    weapon = strike(4, 5, targets=("mall",), evidence="guided aerial bombs hit the Kharkiv mall")
    records = [mall, other_day, toll, weapon]
    expected = [{1, 3, 4}, {2}]
    for order in permutations(records):
        assert groups(list(order)) == expected


def test_another_site_a_smaller_toll_or_a_later_week_is_another_strike() -> None:
    mall = strike(1, 0, targets=("mall",), killed=12)
    hospital = strike(2, 2, targets=("hospital",), killed=12)
    smaller = strike(3, 3, targets=("mall",), killed=2)
    week_later = strike(4, 11, targets=("mall",), killed=20)  # 8 days after the last strike there
    assert groups([mall, hospital, smaller, week_later]) == [{1}, {2}, {3}, {4}]


def test_a_site_claim_looks_back_and_its_strike_looks_ahead() -> None:
    """The service loads the days beyond the near ones for a claim that names a site (its strike
    may lie before them), and for the first claim of a strike on a site (later words may follow)."""
    mall = strike(1, 0, targets=("mall",), killed=12)
    later = strike(2, 4, targets=("mall",))
    plain = strike(3, 4, killed=3)
    assert needs_far(later, [], follow_up=False)[0]
    assert not needs_far(plain, [], follow_up=False)[0]
    assert needs_far(mall, [strike(4, 1, killed=1)], follow_up=False)[1]
