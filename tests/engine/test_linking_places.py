"""Which place keys one incident's claims may carry: a town's control claims resolved to a
namesake village elsewhere stay in the town's episode; attacks stay where they were placed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.engine.gazetteer import Gazetteer
from bot.engine.linking import at_centre, block_keys, cluster_block
from bot.engine.types import Claim, ClaimRecord, Kind, Place, Side

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _settlements(gazetteer: Gazetteer, name: str) -> list[Place]:
    return [p for p in gazetteer.lookup(name) if p.level == "settlement" and p.name == name]


def _record(n: int, place: Place, day: date, kind: Kind = Kind.CONTROL, controller: Side | None = Side.RUSSIA,
            killed: int | None = None) -> ClaimRecord:
    claim = Claim(kind=kind, place=place, date=day, evidence=f"{place.name} {n}", killed=killed,
                  controller=controller if kind is Kind.CONTROL else None, claimant=f"c{n}")
    return ClaimRecord(id=n, claim=claim, source_ref=f"s{n}", source_name=f"S{n}", message_id=n,
                       posted_at=datetime.combine(day, datetime.min.time(), KYIV), url=None)


def _incidents(gazetteer: Gazetteer, records: list[ClaimRecord]) -> list[set[int]]:
    """What the service does for the last claim: weigh the block under that claim's key."""
    key, keys = block_keys(records[-1].claim.place, gazetteer)
    assert {r.claim.place.key for r in records} <= set(keys)
    return [{r.id for r in c} for c in cluster_block([at_centre(r, key) for r in records])]


@pytest.mark.parametrize("name", ["Krasnohorivka", "Avdiivka", "Lyman", "Pokrovsk"])
def test_a_towns_control_claims_placed_at_its_namesakes_are_one_episode(gazetteer, name):  # type: ignore[no-untyped-def]
    town, *villages = _settlements(gazetteer, name)
    assert villages, name
    # every namesake is weighed under the town's key, whichever claim comes last
    assert {block_keys(p, gazetteer)[0] for p in (town, *villages)} == {town.key}
    records = [_record(1, town, date(2024, 5, 6), controller=Side.UKRAINE),
               *(_record(2 + n, v, date(2024, 6, 1 + n)) for n, v in enumerate(villages)),
               _record(9, town, date(2024, 9, 10))]
    for last in range(len(records)):  # any claim arriving last gives the same episode
        order = records[:last] + records[last + 1:] + [records[last]]
        assert _incidents(gazetteer, order) == [{r.id for r in records}]


def test_attacks_on_a_towns_namesakes_stay_apart(gazetteer):  # type: ignore[no-untyped-def]
    town, village, *_ = _settlements(gazetteer, "Krasnohorivka")
    records = [_record(1, town, date(2024, 5, 6), Kind.SHELLING, killed=2),
               _record(2, village, date(2024, 5, 6), Kind.SHELLING, killed=1)]
    assert sorted(map(sorted, _incidents(gazetteer, records))) == [[1], [2]]


@pytest.mark.parametrize("name", ["Novoselivka", "Andriivka", "Stepove"])
def test_a_name_many_villages_share_keeps_each_village_apart(gazetteer, name):  # type: ignore[no-untyped-def]
    first, second, *_ = _settlements(gazetteer, name)
    # each is weighed in a block of its own: control claims at one never join another's episode
    assert block_keys(first, gazetteer) == (first.key, (first.key,))
    assert block_keys(second, gazetteer) == (second.key, (second.key,))
