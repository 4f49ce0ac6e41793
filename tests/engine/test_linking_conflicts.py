"""Linking, updates versus conflicts, and the digest, on constructed claims."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.digest import render_digest, split_messages, utf16_len
from bot.engine.linking import find_copy, link_claim
from bot.engine.types import (
    Claim,
    ClaimRecord,
    IncidentCandidate,
    IncidentView,
    Kind,
    Place,
    Qualifier,
    Side,
)

KYIV = ZoneInfo("Europe/Kyiv")
KHARKIV = Place("Kharkiv", "Kharkiv Oblast", code="UA63")
T0 = datetime(2022, 3, 1, 9, tzinfo=KYIV)
_ids = iter(range(1, 10_000))


def rec(hours: float = 0, *, source: str = "a", claimant: str | None = "governor", killed=None, q=Qualifier.EXACT,
        injured=None, kind=Kind.MISSILE, controller=None, perpetrator=None, targets=(), evidence="strike on Kharkiv",
        place=KHARKIV, day=date(2022, 3, 1), side=None) -> ClaimRecord:
    n = next(_ids)
    claim = Claim(kind=kind, place=place, date=day, evidence=evidence, killed=killed,
                  qualifier=q if killed is not None else None, injured=injured,
                  injured_qualifier=Qualifier.EXACT if injured is not None else None, controller=controller,
                  perpetrator=perpetrator, claimant=claimant, targets=tuple(targets), claimant_side=side)
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


def test_a_lower_count_from_another_claimant_at_about_the_same_time_is_a_conflict() -> None:
    assert fields([rec(0, source="a", claimant="police", killed=8),
                   rec(1, source="b", claimant="mayor", killed=5)]) == {"killed"}
    # the other way round it is a toll that rose between the two posts
    assert fields([rec(0, source="a", claimant="mayor", killed=5),
                   rec(1, source="b", claimant="police", killed=8)]) == set()


def test_copies_corroborate_and_are_not_independent() -> None:
    original = rec(0, source="wire", killed=5, evidence="Five people were killed in a missile strike on Kharkiv")
    copy = rec(2, source="aggregator", killed=5, evidence="Five people were killed in a missile strike on Kharkiv.")
    assert find_copy(copy, [original]) == original.id
    different = rec(2, source="aggregator", killed=6, evidence="Five people were killed in a missile strike on Kharkiv.")
    assert find_copy(different, [original]) is None


def test_opposite_control_and_perpetrator_claims_conflict() -> None:
    kherson = Place("Kherson", "Kherson Oblast", code="UA65")
    control = [rec(0, kind=Kind.CONTROL, controller=Side.RUSSIA, place=kherson, claimant="Russian MoD", side=Side.RUSSIA),
               rec(1, kind=Kind.CONTROL, controller=Side.UKRAINE, place=kherson, claimant="mayor", side=Side.UKRAINE)]
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


# ---------------------------------------------------------------- linking by event day, order-free

import random

from bot.engine.linking import cluster_block


def groups(records) -> list[set[int]]:  # type: ignore[no-untyped-def]
    return sorted(({r.id for r in c} for c in cluster_block(records)), key=min)


def test_daily_strikes_with_their_own_tolls_do_not_chain() -> None:
    daily = [rec(24 * n, killed=n + 2, day=date(2022, 3, 1) + timedelta(days=n), source=f"s{n}") for n in range(7)]
    assert len(groups(daily)) == 7


def test_a_toll_rising_over_days_stays_one_incident() -> None:
    first = rec(0, killed=10, evidence="Russian rockets hit Kharkiv, killing 10")
    later = [rec(24 * n, killed=10 + 8 * n, day=date(2022, 3, 1) + timedelta(days=n),
                 evidence=f"The death toll in Kharkiv rose to {10 + 8 * n}") for n in (1, 2, 3)]
    bodies = rec(24 * 9, killed=47, day=date(2022, 3, 10),
                 evidence="Rescuers recovered the bodies of two more victims from the rubble in Kharkiv")
    assert groups([first, *later, bodies]) == [{first.id, *(r.id for r in later), bodies.id}]


def test_a_next_day_report_without_a_toll_of_its_own_joins_the_strike() -> None:
    strike = rec(0, killed=4)
    reaction = rec(26, day=date(2022, 3, 2), perpetrator=Side.RUSSIA, claimant="president")
    same_toll = rec(27, killed=4, day=date(2022, 3, 2), source="b", claimant="police")
    own_toll = rec(28, killed=2, day=date(2022, 3, 2), source="c", claimant="mayor")
    assert groups([strike, reaction, same_toll, own_toll]) == [{strike.id, reaction.id, same_toll.id}, {own_toll.id}]


def test_a_contested_town_is_one_episode_until_the_change_of_hands_is_acknowledged() -> None:
    town = Place("Krasnohorivka", "Donetsk Oblast", code="UA14")

    def control(day: date, side: Side, said_by: Side, who: str) -> ClaimRecord:
        r = rec(0, kind=Kind.CONTROL, controller=side, place=town, claimant=who, day=day)
        claim = r.claim.__class__(**{**{f: getattr(r.claim, f) for f in r.claim.__slots__}, "claimant_side": said_by})
        return ClaimRecord(r.id, claim, r.source_ref, r.source_name, r.message_id,
                           datetime.combine(day, datetime.min.time(), KYIV), r.url)

    may = control(date(2024, 5, 6), Side.UKRAINE, Side.UKRAINE, "spokesman")
    september = control(date(2024, 9, 10), Side.RUSSIA, Side.RUSSIA, "Russian MoD")
    withdrawal = control(date(2024, 9, 12), Side.RUSSIA, Side.UKRAINE, "General Staff")
    after = control(date(2024, 9, 20), Side.RUSSIA, Side.RUSSIA, "Russian MoD")
    next_fight = control(date(2025, 2, 1), Side.UKRAINE, Side.UKRAINE, "spokesman")
    assert groups([may, september, withdrawal, after, next_fight]) == [
        {may.id, september.id, withdrawal.id, after.id}, {next_fight.id}]


def test_clusters_do_not_depend_on_arrival_order() -> None:
    records = [rec(3 * n, killed=(n % 4) or None, day=date(2022, 3, 1) + timedelta(days=n // 3), source=f"s{n % 5}",
                   evidence="The death toll rose" if n % 7 == 0 else "strike on Kharkiv") for n in range(30)]
    expected = groups(records)
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert groups(shuffled) == expected


# ---------------------------------------------------------------- conflicts by the shared policy


def test_one_claimant_never_conflicts_with_itself() -> None:
    assert fields([rec(0, killed=9, claimant="Kyiv mayor (Klitschko)"),
                   rec(20, killed=3, claimant="Kyiv mayor (Klitschko)", source="b")]) == set()


def test_a_lower_figure_a_day_later_is_not_about_the_same_time() -> None:
    assert fields([rec(0, killed=15, claimant="governor"), rec(14, killed=12, claimant="emergency ministry")]) == set()


def test_two_snapshots_of_a_rising_toll_at_the_same_time_are_updates() -> None:
    assert fields([rec(0, killed=14, injured=46, claimant="governor"),
                   rec(1, killed=16, injured=53, claimant="rescuers", source="b")]) == set()
    assert fields([rec(0, killed=16, injured=55, claimant="governor"),
                   rec(1, killed=16, injured=53, claimant="rescuers", source="b")]) == {"injured"}


def test_a_handover_in_sequence_is_not_a_control_conflict() -> None:
    town = Place("Kupiansk", "Kharkiv Oblast", code="UA63")
    holds = rec(0, kind=Kind.CONTROL, controller=Side.RUSSIA, place=town, claimant="Russian media", side=Side.RUSSIA)
    entry = rec(24, kind=Kind.CONTROL, controller=Side.UKRAINE, place=town, claimant="General Staff",
                day=date(2022, 3, 2), side=Side.UKRAINE)
    assert fields([holds, entry]) == set()
    denial = rec(30, kind=Kind.CONTROL, controller=Side.RUSSIA, place=town, claimant="Russian MoD",
                 day=date(2022, 3, 2), evidence="The MoD called the reports fake", side=Side.RUSSIA)
    assert fields([holds, entry, denial]) == {"controller"}
    same_day = rec(2, kind=Kind.CONTROL, controller=Side.UKRAINE, place=town, claimant="mayor", side=Side.UKRAINE)
    assert fields([holds, same_day]) == {"controller"}


def test_an_admitted_strike_on_military_sites_against_civilian_targets() -> None:
    mod = rec(2, claimant="Russian MoD", perpetrator=Side.RUSSIA, source="mod",
              evidence="The MoD said the high-precision strike targeted military-industrial sites")
    mod = ClaimRecord(mod.id, mod.claim.__class__(**{**{f: getattr(mod.claim, f) for f in mod.claim.__slots__},
                                                    "claimant_side": Side.RUSSIA}),
                      mod.source_ref, mod.source_name, mod.message_id, mod.posted_at, mod.url)
    homes = rec(0, claimant="mayor", targets=("residential",), killed=8)
    (finding,) = detect_conflicts([homes, mod])
    assert finding.field == "target"
    assert {v.value for v in finding.values} == {"residential", "military"}


def test_each_claimant_is_listed_once_on_the_side_it_took() -> None:
    blame = [rec(0, perpetrator=Side.RUSSIA, claimant="governor"),
             rec(1, perpetrator=Side.UKRAINE, claimant="Russian MoD", source="mod"),
             rec(2, perpetrator=Side.UKRAINE, claimant="governor", source="wire"),  # the governor reports the MoD
             rec(3, perpetrator=Side.RUSSIA, claimant="governor", source="tv")]
    (finding,) = detect_conflicts(blame)
    owners = {v.value: {r.claim.claimant for r in v.records} for v in finding.values}
    assert owners == {"russia": {"governor"}, "ukraine": {"Russian MoD"}}


# ---------------------------------------------------------------- the ledger

from bot.engine.ledger import build_ledger


def test_the_ledger_tells_updates_from_conflicts() -> None:
    rising = [rec(0, killed=2, claimant="DSNS"), rec(3, killed=5, claimant="DSNS"),
              rec(10.67, killed=9, claimant="DSNS")]
    ledger = build_ledger(rising, detect_conflicts(rising))
    assert [s.change for s in ledger.steps] == ["first", "update", "update"]
    assert ledger.lines == ("killed 2 → 5 → 9 (DSNS, 01.03 19:40)",)

    dispute = [rec(0, killed=8, claimant="police"), rec(1, killed=5, claimant="mayor", source="b")]
    ledger = build_ledger(dispute, detect_conflicts(dispute))
    assert [s.change for s in ledger.steps] == ["conflict", "conflict"]
    assert ledger.lines[-1] == "⚠️ killed 8 (police, 01.03 09:00) vs 5 (mayor, 01.03 10:00)"


def test_the_digest_shows_the_latest_figure_its_range_and_what_is_disputed() -> None:
    records = [rec(0, killed=2, claimant="DSNS"), rec(5, killed=9, claimant="DSNS"),
               rec(6, injured=30, claimant="police", source="b"), rec(6.5, injured=12, claimant="mayor", source="c")]
    findings = tuple(detect_conflicts(records))
    view = IncidentView(1, summarize(records), tuple(records), findings, build_ledger(records, findings))
    (message,) = render_digest([view], day=date(2022, 3, 1), lang="en", html_mode=False)
    assert "9 (2–9) killed" in message and "killed: 2 → 9 (DSNS" in message and ", 01.03 14:00)" in message
    assert "12 (12–30, ⚠️ disputed) injured" in message


# ---------------------------------------------------------------- one claimant under several labels


def test_one_official_under_two_spellings_or_a_title_is_one_claimant() -> None:
    # a rising toll from the governor, credited by name in two transliterations and by title
    for first, later in (("Oleh Syniehubov", "Synehubov"), ("Синєгубов", "Kharkiv RMA head"),
                         ("Тимура Ткаченко", "Tymur Tkachenko"), ("Timur Tkachenko", "Тимур Ткаченко")):
        assert fields([rec(0, killed=9, claimant=first, source="a"),
                       rec(1, killed=3, claimant=later, source="b")]) == set(), (first, later)
    # a joint statement shares each of its claimants
    assert fields([rec(0, killed=9, claimant="Kyiv mayor (Klitschko) and Тимур Ткаченко", source="a"),
                   rec(1, killed=12, claimant="Timur Tkachenko", source="b")]) == set()
    # different officials of one town still conflict
    assert fields([rec(0, killed=9, claimant="Oleh Syniehubov", source="a"),
                   rec(1, killed=3, claimant="Kharkiv mayor (Terekhov)", source="b")]) == {"killed"}


def test_a_channel_without_a_credited_claimant_is_the_body_its_name_says() -> None:
    # the channel "ГСЧС Украины" credits no one: its figure is the emergency service's own update
    dsns = rec(0, killed=19, claimant=None, source="ГСЧС Украины")
    assert fields([dsns, rec(1, killed=20, claimant="Ukraine State Emergency Service", source="b")]) == set()


def test_an_explosion_no_side_states_or_blames_is_not_a_cause_conflict() -> None:
    channel = rec(0, kind=Kind.EXPLOSION, claimant="Mash", source="mash")
    official = rec(1, kind=Kind.SHELLING, claimant="governor", source="gov")
    official = ClaimRecord(official.id, Claim(**{**{f: getattr(official.claim, f) for f in Claim.__slots__},
                                                "claimant_side": Side.RUSSIA}),
                           official.source_ref, official.source_name, official.message_id, official.posted_at)
    assert fields([channel, official]) == set()
    blamed = rec(2, kind=Kind.EXPLOSION, claimant="Centre for Countering Disinformation", source="cpd",
                 perpetrator=Side.RUSSIA)
    assert fields([blamed, official]) == {"cause"}


def test_a_side_calling_the_struck_building_a_militants_base_disputes_the_civilian_target() -> None:
    def russian(text: str) -> ClaimRecord:
        r = rec(3, claimant="Russian Foreign Ministry", source="mfa", kind=Kind.STRIKE, targets=("hospital",),
                evidence=text)
        return ClaimRecord(r.id, Claim(**{**{f: getattr(r.claim, f) for f in Claim.__slots__},
                                          "claimant_side": Side.RUSSIA}),
                           r.source_ref, r.source_name, r.message_id, r.posted_at)

    hospital = rec(0, claimant="mayor", targets=("hospital",), perpetrator=Side.RUSSIA, killed=2)
    for text in ("The minister said the hospital had long been used as a base by militants",
                 "По словам министра, больница давно использовалась как база боевиков"):
        assert fields([hospital, russian(text)]) == {"target"}, text
    # the same side naming the hospital without calling it military disputes nothing
    assert fields([hospital, russian("The minister said he had seen reports about the hospital")]) == set()


# ---------------------------------------------------------------- counts that are not conflicts


def test_a_toll_rising_across_officials_of_one_side_is_an_update() -> None:
    # the governor, then the emergency service minutes and hours later, then the police next day
    records = [rec(0, killed=7, claimant="Mykolaiv regional governor (Kim)", source="gov"),
               rec(0.2, killed=9, claimant="ДСНС", source="dsns"),
               rec(3, killed=15, injured=30, claimant="Ukraine State Emergency Service", source="dsns_en"),
               rec(26, killed=24, claimant="National Police of Ukraine", source="police", day=date(2022, 3, 2))]
    assert fields(records) == set()
    assert summarize(records).killed.best == 24


def test_one_organisation_under_two_names_is_one_claimant() -> None:
    for first, later in (("ДСНС", "State Emergency Service of Ukraine"), ("ГСЧС Украины", "ДСНС України"),
                         ("Національна поліція", "National Police of Ukraine")):
        assert fields([rec(0, killed=20, claimant=first, source="a"),
                       rec(1, killed=19, claimant=later, source="b")]) == set(), (first, later)


def test_a_share_of_the_toll_is_not_a_competing_count() -> None:
    total = rec(0, killed=12, claimant="mayor", source="a")
    for text in ("Twelve people were killed, of them 3 children, the police said",
                 "Загинули 12 людей, з них 3 дітей, повідомили в поліції",
                 "Погибли 12 человек, из них 3 ребенка, сообщили в полиции"):
        share = rec(1, killed=3, claimant="police", source="b", evidence=text)
        assert fields([total, share]) == set(), text
    # a lower figure that is no share still disputes the total
    assert fields([total, rec(1, killed=3, claimant="police", source="b", evidence="3 people were killed")]) == {"killed"}


def test_the_hospitalised_are_not_the_injured() -> None:
    injured = rec(0, injured=30, claimant="mayor", source="a", evidence="30 people were injured in Kharkiv")
    for text in ("12 people were hospitalized, the police said", "12 людей госпіталізовано, повідомили в поліції",
                 "12 человек госпитализированы, сообщили в полиции", "12 людей доставили до лікарень"):
        assert fields([injured, rec(1, injured=12, claimant="police", source="b", evidence=text)]) == set(), text
    assert fields([injured, rec(1, injured=12, claimant="police", source="b",
                                evidence="12 people were injured")]) == {"injured"}


def test_a_figure_is_placed_at_the_time_its_words_give() -> None:
    # the mayor's 8 at 11:00, the police's 5 posted at 15:00 but given "as of 09:00": a rise, not a dispute
    eight = rec(2, killed=8, claimant="mayor", source="a")
    for text in ("As of 09:00, 5 people were killed", "Станом на 09:00 загинули 5 людей",
                 "По состоянию на 09:00 погибли 5 человек"):
        assert fields([eight, rec(6, killed=5, claimant="police", source="b", evidence=text)]) == set(), text
    assert fields([eight, rec(6, killed=5, claimant="police", source="b", evidence="5 people were killed")]) == {
        "killed"}


def test_a_stale_republication_is_not_a_dispute() -> None:
    # the emergency service said 20, the governor then 21; an outlet later repeats the service's 20
    records = [rec(0, killed=20, claimant="ДСНС", source="dsns"),
               rec(1, killed=21, claimant="Odesa regional governor", source="gov"),
               rec(3, killed=20, claimant="Ukraine State Emergency Service", source="outlet")]
    assert fields(records) == set()


def test_pages_that_gave_only_the_day_are_not_ordered_against_each_other() -> None:
    noon = 3  # T0 is 09:00 Kyiv: a page with only the day is imported at 12:00
    assert fields([rec(noon, killed=16, injured=46, claimant="governor", source="a"),
                   rec(noon, killed=14, claimant="rescuers", source="b")]) == set()
    # one snapshot (the same death toll) with different injured counts still conflicts
    assert fields([rec(noon, killed=16, injured=55, claimant="governor", source="a"),
                   rec(noon, killed=16, injured=53, claimant="rescuers", source="b")]) == {"injured"}


# ---------------------------------------------------------------- control claims that are not disputes


def _control(hours: float, controller: Side, said_by: Side | None, who: str, *, day: date,
             evidence: str = "control of the town") -> ClaimRecord:
    return rec(hours, kind=Kind.CONTROL, controller=controller, place=Place("Kupiansk", "Kharkiv Oblast", code="UA63"),
               claimant=who, day=day, side=said_by, source=who.split()[0].lower(), evidence=evidence)


def test_one_side_telling_of_a_change_of_hands_is_no_dispute() -> None:
    # Ukrainian officials: the town was held, then the army withdrew (Russia holds it now)
    d = date(2022, 3, 1)
    assert fields([_control(0, Side.UKRAINE, Side.UKRAINE, "governor", day=d),
                   _control(5, Side.RUSSIA, Side.UKRAINE, "General Staff", day=d)]) == set()


def test_a_claimant_of_no_known_side_takes_no_side_in_a_control_dispute() -> None:
    # a wire's summary the same day as the MoD's capture claim, without the side of its source
    d = date(2022, 3, 1)
    assert fields([_control(0, Side.RUSSIA, Side.RUSSIA, "Russian MoD", day=d),
                   _control(2, Side.UKRAINE, None, "Reuters", day=d)]) == set()
    # the same words credited to the Ukrainian spokesman dispute the capture
    assert fields([_control(0, Side.RUSSIA, Side.RUSSIA, "Russian MoD", day=d),
                   _control(2, Side.UKRAINE, Side.UKRAINE, "Khortytsia spokesman", day=d)]) == {"controller"}


def test_a_claimant_who_reports_the_other_sides_claim_is_not_its_owner() -> None:
    # a Ukrainian outlet reports the Russian claim ("as reported") beside the Ukrainian denial
    d = date(2022, 3, 1)
    records = [_control(0, Side.RUSSIA, Side.RUSSIA, "Russian side (as reported)", day=d),
               _control(0.5, Side.UKRAINE, Side.UKRAINE, "Khortytsia spokesman", day=d,
                        evidence="The spokesman denied the capture: fighting continues")]
    (finding,) = detect_conflicts(records)
    owners = {v.value: {r.claim.claimant for r in v.records} for v in finding.values}
    assert owners == {"russia": {"Russian side (as reported)"}, "ukraine": {"Khortytsia spokesman"}}


def test_control_claims_days_apart_in_a_changing_episode_are_a_handover() -> None:
    # the Russian side holds the town; four days later the Ukrainian army enters and the Russian side
    # acknowledges the withdrawal the day after: a change of hands, not a dispute
    records = [_control(0, Side.RUSSIA, Side.RUSSIA, "Russian MoD", day=date(2022, 3, 1)),
               _control(96, Side.UKRAINE, Side.UKRAINE, "General Staff", day=date(2022, 3, 5)),
               _control(120, Side.UKRAINE, Side.RUSSIA, "Russian MoD", day=date(2022, 3, 6))]
    assert fields(records) == set()


def test_the_attackers_side_quoting_the_victims_count_is_not_a_competing_count() -> None:
    noon = 3
    dsns = rec(noon, killed=20, injured=38, claimant="ДСНС", source="dsns", side=Side.UKRAINE, perpetrator=Side.RUSSIA)
    for text in ("According to the agency, 19 people were killed and 38 injured",
                 "За даними відомства, загинули 19 людей, 38 поранені",
                 "По данным ведомства, погибли 19 человек, 38 ранены"):
        kremlin = rec(noon, killed=19, injured=38, claimant="Kremlin (Peskov)", source="kremlin", side=Side.RUSSIA,
                      evidence=text)
        assert fields([dsns, kremlin]) == set(), text
        # when the sides blame each other, each side's own count stands against the other's
        blamed = rec(noon, perpetrator=Side.UKRAINE, claimant="Russian MoD", source="mod", side=Side.RUSSIA)
        assert fields([dsns, kremlin, blamed]) == {"killed", "perpetrator"}, text


def test_the_ledger_reads_a_toll_from_pages_that_gave_only_the_day_in_order() -> None:
    noon = 3  # T0 is 09:00 Kyiv: a page with only the day is imported at 12:00
    records = [rec(noon, killed=20, claimant="ДСНС", source="a"),
               rec(noon, killed=17, claimant="ДСНС", source="b", evidence="Станом на 05:30 загинули 17 людей"),
               rec(noon, killed=21, claimant="Odesa regional governor", source="c"),
               rec(noon, killed=19, claimant="ДСНС", source="d")]
    ledger = build_ledger(records, detect_conflicts(records))
    assert ledger.lines == ("killed 17 → 19 → 20 → 21 (Odesa regional governor, 01.03)",)
    assert summarize(records).killed.best == 21
    # a figure timed after them is the latest, even when it is lower
    later = rec(4.5, killed=20, claimant="ДСНС", source="e", evidence="As of 13:30, 20 people were killed")
    assert summarize([*records, later]).killed.best == 20


def test_a_city_districts_share_is_not_a_competing_count() -> None:
    city = rec(0, killed=9, claimant="Kyiv mayor (Klitschko)", source="a")
    for text in ("In the Sviatoshynskyi district, 3 people were killed, the police said",
                 "3 people were killed in the Sviatoshynskyi district",
                 "У Святошинському районі 3 загиблих, повідомили в поліції",
                 "3 людини загинули у Святошинському районі",
                 "В Святошинском районе 3 погибших, сообщили в полиции",
                 "3 человека погибли в Святошинском районе"):
        assert fields([city, rec(1, killed=3, claimant="police", source="b", evidence=text)]) == set(), text
