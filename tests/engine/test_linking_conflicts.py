"""Linking, updates versus conflicts, and the digest, on constructed claims."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.digest import render_digest, split_messages, utf16_len
from bot.engine.linking import find_copy, link_claim
from bot.engine.types import (
    Claim, ClaimRecord, IncidentCandidate, IncidentView, Kind, Place, Qualifier, Side,
)

KYIV = ZoneInfo("Europe/Kyiv")
KHARKIV = Place("Kharkiv", "Kharkiv Oblast", code="UA63")
T0 = datetime(2022, 3, 1, 9, tzinfo=KYIV)
_ids = iter(range(1, 10_000))


def rec(hours: float = 0, *, source: str = "a", claimant: str | None = "governor", killed=None, q=Qualifier.EXACT,
        injured=None, kind=Kind.MISSILE, controller=None, perpetrator=None, targets=(), evidence="strike on Kharkiv",
        place=KHARKIV, day=date(2022, 3, 1)) -> ClaimRecord:
    n = next(_ids)
    claim = Claim(kind=kind, place=place, date=day, evidence=evidence, killed=killed,
                  qualifier=q if killed is not None else None, injured=injured,
                  injured_qualifier=Qualifier.EXACT if injured is not None else None, controller=controller,
                  perpetrator=perpetrator, claimant=claimant, targets=tuple(targets))
    return ClaimRecord(id=n, claim=claim, source_ref=source, source_name=source.upper(), message_id=n,
                       posted_at=T0 + timedelta(hours=hours), url=f"https://t.me/{source}/{n}")


def fields(records) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.field for f in detect_conflicts(records)}


def test_a_rising_toll_is_an_update() -> None:
    records = [rec(0, killed=30), rec(5, killed=39), rec(20, killed=50), rec(30, killed=52)]
    assert fields(records) == set()
    assert summarize(records).killed.best == 52


def test_a_later_lower_official_figure_is_a_conflict() -> None:
    records = [rec(0, source="mvs", claimant="interior ministry", killed=10), rec(8, killed=7)]
    (finding,) = detect_conflicts(records)
    assert finding.field == "killed"
    assert {v.value for v in finding.values} == {10, 7}


def test_an_at_least_figure_does_not_conflict_with_a_higher_one() -> None:
    assert fields([rec(0, killed=2, q=Qualifier.AT_LEAST), rec(9, killed=7)]) == set()


def test_different_counts_at_the_same_time_from_different_claimants() -> None:
    assert fields([rec(0, source="a", claimant="mayor", killed=5),
                   rec(1, source="b", claimant="police", killed=8)]) == {"killed"}


def test_copies_corroborate_and_are_not_independent() -> None:
    original = rec(0, source="wire", killed=5, evidence="Five people were killed in a missile strike on Kharkiv")
    copy = rec(2, source="aggregator", killed=5, evidence="Five people were killed in a missile strike on Kharkiv.")
    assert find_copy(copy, [original]) == original.id
    different = rec(2, source="aggregator", killed=6, evidence="Five people were killed in a missile strike on Kharkiv.")
    assert find_copy(different, [original]) is None


def test_opposite_control_and_perpetrator_claims_conflict() -> None:
    kherson = Place("Kherson", "Kherson Oblast", code="UA65")
    control = [rec(0, kind=Kind.CONTROL, controller=Side.RUSSIA, place=kherson, claimant="Russian MoD"),
               rec(1, kind=Kind.CONTROL, controller=Side.UKRAINE, place=kherson, claimant="mayor")]
    assert fields(control) == {"controller"}
    blame = [rec(0, perpetrator=Side.RUSSIA), rec(2, perpetrator=Side.UKRAINE, claimant="Russian MoD")]
    assert fields(blame) == {"perpetrator"}


def test_mall_against_weapons_depot_is_one_incident_with_a_target_conflict() -> None:
    mall = rec(0, targets=("mall",), killed=18)
    depot = rec(3, targets=("military",), claimant="Russian MoD")
    assert link_claim(depot, [IncidentCandidate(1, (mall,))]) == 1
    assert "target" in fields([mall, depot])


def test_two_civilian_targets_in_one_town_on_one_day_are_two_incidents() -> None:
    tower = rec(0, targets=("tv_tower",), evidence="missile hit the TV tower in Kharkiv, 5 killed", killed=5)
    hospital = rec(1, targets=("hospital",), evidence="missile hit the TV tower in Kharkiv, 5 killed", killed=5)
    assert link_claim(hospital, [IncidentCandidate(1, (tower,))]) is None


def test_a_claim_is_never_dropped_for_looking_alike() -> None:
    first = rec(0, killed=2, evidence="2 killed in Kharkiv")
    second = rec(1, killed=5, evidence="5 killed in Kharkiv", source="b", claimant="police")
    assert link_claim(second, [IncidentCandidate(7, (first,))]) == 7
    assert find_copy(second, [first]) is None


def test_other_day_other_kind_or_other_place_start_a_new_incident() -> None:
    base = IncidentCandidate(1, (rec(0),))
    assert link_claim(rec(1, day=date(2022, 3, 4)), [base]) is None
    assert link_claim(rec(1, kind=Kind.CONTROL, controller=Side.RUSSIA), [base]) is None
    assert link_claim(rec(1, place=Place("Kyiv", None, code="UA80")), [base]) is None


def test_digest_escapes_post_text_and_flags_conflicts() -> None:
    a = rec(0, source="mvs", claimant="<b>Interior</b> & co", killed=10)
    b = rec(8, killed=7)
    view = IncidentView(1, summarize([a, b]), (a, b), tuple(detect_conflicts([a, b])))
    (message,) = render_digest([view], day=date(2022, 3, 1), lang="en")
    assert "&lt;b&gt;Interior&lt;/b&gt; &amp; co" in message
    assert "⚠️" in message and "https://t.me/mvs/" in message
    for lang in ("uk", "ru"):
        assert render_digest([view], day=date(2022, 3, 1), lang=lang)[0] != message


def test_long_digests_split_between_paragraphs_under_telegram_limit() -> None:
    paragraphs = [("Харків 🚀 " * 40).strip() for _ in range(60)]
    messages = split_messages(paragraphs)
    assert len(messages) > 1
    assert all(utf16_len(m) <= 4096 for m in messages)
    assert sum(m.count("Харків") for m in messages) == 60 * 40


def test_chart_is_a_png_of_the_day() -> None:
    from bot.engine.chart import render_chart

    a, b = rec(0, killed=10, injured=4), rec(8, killed=7)
    view = IncidentView(1, summarize([a, b]), (a, b), ())
    png = render_chart([view], day=date(2022, 3, 1), lang="uk")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
