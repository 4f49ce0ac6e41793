"""The digest in the reader's language: places, regions and claimants named in Ukrainian, Russian
or English; counts with CLDR's plural forms; dated titles and /incidents lists."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services import subscriptions
from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.digest import render_digest, render_incidents
from bot.engine.gazetteer import Gazetteer
from bot.engine.names import Names, sort_key, table_names
from bot.engine.plurals import plural
from bot.engine.types import Claim, ClaimRecord, IncidentView, Kind, Place
from bot.services.subscriptions import InputError

KYIV = ZoneInfo("Europe/Kyiv")
_ids = iter(range(1, 10_000))


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@pytest.fixture(scope="module")
def names(gazetteer: Gazetteer) -> Names:
    return Names(gazetteer)


def place(gazetteer: Gazetteer, name: str) -> Place:
    return gazetteer.lookup(name)[0]


def view(*records: ClaimRecord) -> IncidentView:
    return IncidentView(next(_ids), summarize(records), records, tuple(detect_conflicts(records)))


def record(where: Place, *, killed: int | None = None, injured: int | None = None, children: int | None = None,
           claimant: str | None = None, day: date = date(2022, 3, 1), source: str = "Олег Синєгубов") -> ClaimRecord:
    n = next(_ids)
    claim = Claim(kind=Kind.SHELLING, place=where, date=day, evidence="…", killed=killed, injured=injured,
                  children_killed=children, claimant=claimant)
    posted = datetime(day.year, day.month, day.day, 9, tzinfo=KYIV)
    return ClaimRecord(n, claim, f"src{n}", source, n, posted, url=f"https://t.me/src/{n}")


@pytest.mark.parametrize(("name", "lang", "expected"), [
    ("Kharkiv", "uk", "Харків"), ("Kharkiv", "ru", "Харьков"), ("Kharkiv", "en", "Kharkiv"),
    ("Kherson", "uk", "Херсон"), ("Odesa", "ru", "Одесса"), ("Mykolaiv", "ru", "Николаев"),
    ("Belgorod", "uk", "Бєлгород"), ("Kryvyi Rih", "ru", "Кривой Рог"), ("Toretsk", "ru", "Торецк"),
])
def test_a_settlement_is_named_as_its_readers_write_it(gazetteer: Gazetteer, names: Names, name: str, lang: str,
                                                       expected: str) -> None:
    assert names.place(place(gazetteer, name), lang) == expected


def test_the_ukrainian_digest_names_places_regions_and_claimants_in_ukrainian(gazetteer: Gazetteer,
                                                                             names: Names) -> None:
    kharkiv, kherson = place(gazetteer, "Kharkiv"), place(gazetteer, "Kherson")
    views = [view(record(kharkiv, killed=3, claimant="Kharkiv regional governor (Synehubov)"),
                  record(kharkiv, killed=1, claimant="Russian MoD")),
             view(record(kherson, killed=2, claimant="Ukraine State Emergency Service"))]
    uk = "\n".join(render_digest(views, day=date(2022, 3, 1), lang="uk", html_mode=False, names=names))
    for shown in ("Харківська область", "Харків —", "Херсонська область", "Херсон —",
                  "Голова Харківської ОВА (Синєгубов)", "Міноборони Росії", "1 березня 2022"):
        assert shown in uk
    for english in ("Kharkiv", "Kherson", "Oblast", "Russian MoD", "governor"):
        assert english not in uk
    ru = "\n".join(render_digest(views, day=date(2022, 3, 1), lang="ru", html_mode=False, names=names))
    assert "Харьковская область" in ru and "Харьков —" in ru and "Минобороны России" in ru
    en = "\n".join(render_digest(views, day=date(2022, 3, 1), lang="en", html_mode=False, names=names))
    assert "Kharkiv Oblast" in en and "Kharkiv —" in en and "Russian MoD" in en


def test_a_disputed_control_line_names_place_and_region_in_the_readers_language(gazetteer: Gazetteer,
                                                                                names: Names) -> None:
    from bot.engine.types import Side

    kherson = place(gazetteer, "Kherson")
    posted = datetime(2022, 3, 2, 9, tzinfo=KYIV)
    records = tuple(
        ClaimRecord(next(_ids), Claim(kind=Kind.CONTROL, place=kherson, date=posted.date(), evidence="…",
                                      controller=side, claimant=who, claimant_side=side), ref, ref, 1, posted)
        for side, who, ref in ((Side.RUSSIA, "Russian MoD", "mod"),
                               (Side.UKRAINE, "Kherson mayor (Kolykhaiev)", "mayor")))
    text = "\n".join(render_digest([view(*records)], day=posted.date(), lang="uk", html_mode=False, names=names))
    assert "Херсон (Херсонська область)" in text
    assert "Міноборони Росії" in text and "Міський голова Херсона (Колихаєв)" in text


@pytest.mark.parametrize(("lang", "one", "two", "five"), [
    ("en", "1 incident · 1 killed · 1 injured · 1 source", "2 incidents", "5 incidents"),
    ("uk", "1 інцидент · 1 загиблий · 1 поранений · 1 джерело", "2 інциденти", "5 інцидентів"),
    ("ru", "1 инцидент · 1 погибший · 1 раненый · 1 источник", "2 инцидента", "5 инцидентов"),
])
def test_counts_take_the_plural_form_of_their_number(names: Names, lang: str, one: str, two: str,
                                                     five: str) -> None:
    where = Place("Izium", "Kharkiv Oblast", code="test-izium")
    single = render_digest([view(record(where, killed=1, injured=1))], day=date(2022, 3, 1), lang=lang,
                           html_mode=False, names=names)[0]
    assert one in single
    many = [view(record(where, killed=1)) for _ in range(5)]
    assert two in render_digest(many[:2], day=date(2022, 3, 1), lang=lang, html_mode=False, names=names)[0]
    assert five in render_digest(many, day=date(2022, 3, 1), lang=lang, html_mode=False, names=names)[0]


def test_children_and_sources_agree_with_their_number(names: Names) -> None:
    where = Place("Izium", "Kharkiv Oblast", code="test-izium")
    one_child = render_digest([view(record(where, killed=2, children=1))], day=date(2022, 3, 1), lang="en",
                              html_mode=False, names=names)[0]
    assert "incl. 1 child," in one_child and "1 children" not in one_child and "1 sources" not in one_child
    three = render_digest([view(record(where, killed=4, children=3), record(where, killed=4, children=3))],
                          day=date(2022, 3, 1), lang="uk", html_mode=False, names=names)[0]
    assert "з них 3 дитини" in three and "2 джерела" in three
    assert [plural({"one": "{n} дитина", "few": "{n} дитини", "many": "{n} дітей"}, n, "uk")
            for n in (1, 2, 5, 11, 21, 24)] == ["1 дитина", "2 дитини", "5 дітей", "11 дітей", "21 дитина", "24 дитини"]


def test_no_title_ever_ends_in_an_empty_date(names: Names) -> None:
    where = Place("Izium", "Kharkiv Oblast", code="test-izium")
    for lang in ("en", "uk", "ru"):
        for views in ([], [view(record(where, killed=1))]):
            first_line = render_digest(views, day=None, lang=lang, html_mode=False, names=names)[0].splitlines()[0]
            assert not first_line.rstrip().endswith(("·", "за", "for")), first_line
            assert "  " not in first_line


def test_incidents_have_a_title_a_range_and_a_date_each_newest_first(gazetteer: Gazetteer, names: Names) -> None:
    kharkiv = place(gazetteer, "Kharkiv")
    views = [view(record(kharkiv, killed=1, day=date(2022, 2, 28))),
             view(record(kharkiv, killed=2, day=date(2022, 3, 2))),
             view(record(kharkiv, killed=3, day=date(2022, 3, 1)))]
    text = "\n".join(render_incidents(views, lang="uk", place="Харків", html_mode=False, names=names))
    lines = text.replace("\u202f", " ").splitlines()  # Babel writes "2022 р." with a narrow no-break space
    assert lines[0] == "Останні інциденти: Харків"
    assert lines[1] == "28 лютого – 2 березня 2022 р."
    dated = [line for line in lines if line.startswith("• ")]
    assert [line.split(" · ")[0] for line in dated] == ["• 2 березня", "• 1 березня", "• 28 лютого"]
    assert all("Харків —" in line for line in dated)
    en = render_incidents(views, lang="en", html_mode=False, names=names)[0].splitlines()
    assert en[:2] == ["Latest incidents", "28 February – 2 March 2022"]


@pytest.mark.parametrize("typed", ["kharkiv", "Kharkiv Oblast", "Харківська", "харківська область", "Харківщина",
                                   "харьковская", "Харьковская область", "kharkov"])
def test_a_region_is_understood_in_any_of_the_three_languages(typed: str) -> None:
    assert subscriptions.parse_oblast(typed) == "Kharkiv Oblast"


def test_an_unknown_or_russian_region_is_refused() -> None:
    for typed in ("Atlantis", "Белгородская область"):
        with pytest.raises(InputError):
            subscriptions.parse_oblast(typed)


def test_region_labels_sort_in_the_readers_alphabet() -> None:
    labels = [table_names().oblast_short(o.name, "uk") for o in subscriptions.list_oblasts()]
    ordered = sorted(labels, key=lambda label: sort_key(label, "uk"))
    assert ordered.index("Запорізька") < ordered.index("Івано-Франківська") < ordered.index("Київська")
    assert ordered[0] == "Вінницька" and ordered[-1] == "Чернігівська"


def test_every_ukrainian_region_and_default_source_has_names_in_three_languages() -> None:
    from pathlib import Path

    from bot.services.ingest import read_seed_sources

    names = table_names()
    for oblast in subscriptions.list_oblasts():
        assert names.oblast(oblast.name, "uk") != oblast.name, oblast
        assert names.oblast(oblast.name, "ru") != oblast.name, oblast
    seeds = Path(__file__).resolve().parents[2] / "seeds" / "sources.tsv"
    for row in read_seed_sources(seeds):
        assert names.claimant(row["role"], "uk") != row["role"], row["role"]


def test_an_alert_looks_like_an_alert_in_the_readers_time_zone(gazetteer: Gazetteer, names: Names) -> None:
    from bot.engine.digest import render_alert

    kharkiv = place(gazetteer, "Kharkiv")
    alert = view(record(kharkiv, killed=3, injured=5, claimant="Kharkiv regional governor (Synehubov)"))
    text = render_alert(alert, lang="uk", zone=ZoneInfo("Europe/Kyiv"), html_mode=False, names=names)[0]
    lines = text.replace("\u202f", " ").splitlines()
    assert lines[0] == "🚨 Харків — обстріл, 3 загиблих, 5 поранених, 1 джерело"
    assert lines[1] == "Харківська область · 1 березня 2022 р., 09:00"
    london = render_alert(alert, lang="en", zone=ZoneInfo("Europe/London"), html_mode=False, names=names)[0]
    assert london.splitlines()[1] == "Kharkiv Oblast · 1 March 2022, 07:00"
    assert "<b>Харків</b>" in render_alert(alert, lang="uk", names=names)[0]
