"""The gazetteer on real data: inflected and old names, oblasts, ambiguity, and what is not a place.

The gazetteer is loaded once for the module from the shared cache (built on first use).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from bot.engine.gazetteer import (
    FORMAT_VERSION,
    Gazetteer,
    PlaceMention,
    _read_cache,
    _write_cache,
    romanize_uk,
)

_TOKEN = re.compile(r"\w+(?:['’ʼ]\w+)*|[^\w\s]")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def mentions(gazetteer: Gazetteer, text: str, lang: str) -> list[PlaceMention]:
    return gazetteer.find_mentions(_TOKEN.findall(text), lang)


def places(gazetteer: Gazetteer, text: str, lang: str) -> list[tuple[str, str | None]]:
    return [(m.place.name, m.place.oblast) for m in mentions(gazetteer, text, lang)]


# --------------------------------------------------------------------------- inflection


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Вибухи у Харкові.", "uk", ("Kharkiv", "Kharkiv Oblast")),
        ("Взрывы в Харькове.", "ru", ("Kharkiv", "Kharkiv Oblast")),
        ("Тривога в Києві.", "uk", ("Kyiv", None)),
        ("Тревога в Киеве.", "ru", ("Kyiv", None)),
        ("Обстріл Херсона.", "uk", ("Kherson", "Kherson Oblast")),
        ("Бої в Маріуполі.", "uk", ("Mariupol", "Donetsk Oblast")),
        ("Ракетний удар по Кривому Розі.", "uk", ("Kryvyi Rih", "Dnipropetrovsk Oblast")),
        ("Вибухи в Запоріжжі.", "uk", ("Zaporizhzhia", "Zaporizhzhia Oblast")),
        ("Взрывы в Белгороде.", "ru", ("Belgorod", "Belgorod Oblast")),
        ("Удар по Харькову.", "ru", ("Kharkiv", "Kharkiv Oblast")),
        ("Вибухи у Сімферополі та Севастополі.", "uk", ("Simferopol", "Autonomous Republic of Crimea")),
    ],
)
def test_inflected_names_resolve(gazetteer: Gazetteer, text: str, lang: str, expected: tuple) -> None:
    assert places(gazetteer, text, lang)[0] == expected


def test_oblast_in_russian_genitive(gazetteer: Gazetteer) -> None:
    [mention] = mentions(gazetteer, "В Курской области сбит беспилотник.", "ru")
    assert mention.via == "oblast"
    assert (mention.place.name, mention.place.level, mention.place.country) == ("Kursk Oblast", "oblast", "RU")


def test_sevastopol_and_kyiv_have_no_oblast(gazetteer: Gazetteer) -> None:
    found = places(gazetteer, "Вибухи у Севастополі і в Києві.", "uk")
    assert found == [("Sevastopol", None), ("Kyiv", None)]


def test_multiword_names_are_one_mention(gazetteer: Gazetteer) -> None:
    found = mentions(gazetteer, "Бої за Кривий Ріг, Нову Каховку, Білу Церкву і Велику Новосілку.", "uk")
    assert [(m.surface, m.place.name) for m in found] == [
        ("Кривий Ріг", "Kryvyi Rih"),
        ("Нову Каховку", "Nova Kakhovka"),
        ("Білу Церкву", "Bila Tserkva"),
        ("Велику Новосілку", "Velyka Novosilka"),
    ]
    assert places(gazetteer, "Удар по Старому Осколу.", "ru") == [("Staryy Oskol", "Belgorod Oblast")]


def test_all_caps_sentence_matches(gazetteer: Gazetteer) -> None:
    assert places(gazetteer, "ВИБУХИ У ХАРКОВІ", "uk") == [("Kharkiv", "Kharkiv Oblast")]


def test_lowercase_word_is_not_a_place(gazetteer: Gazetteer) -> None:
    assert places(gazetteer, "вибухи у харкові", "uk") == []


# --------------------------------------------------------------------------- English and old names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Kharkov", "Kharkiv"),
        ("Kiev", "Kyiv"),
        ("Nikolaev", "Mykolaiv"),
        ("Odessa", "Odesa"),
        ("Dnipropetrovsk", "Dnipro"),
        ("Artemivsk", "Bakhmut"),
        ("Kirovograd", "Kropyvnytskyi"),
        ("Zaporozhye", "Zaporizhzhia"),
        ("Pokrovsk", "Pokrovsk"),
    ],
)
def test_english_and_old_names(gazetteer: Gazetteer, name: str, expected: str) -> None:
    found = mentions(gazetteer, f"Explosions were heard in {name} on Monday.", "en")
    assert [m.place.name for m in found] == [expected]
    assert found[0].place.country == "UA"


def test_old_russian_names(gazetteer: Gazetteer) -> None:
    found = places(gazetteer, "Красноармейск, Артёмовск, Днепропетровск и Кировоград.", "ru")
    assert [name for name, _ in found] == ["Pokrovsk", "Bakhmut", "Dnipro", "Kropyvnytskyi"]


def test_snake_island(gazetteer: Gazetteer) -> None:
    for text, lang in [
        ("Snake Island was retaken.", "en"),
        ("Прапор над островом Зміїний.", "uk"),
        ("Удар по острову Змеиный.", "ru"),
    ]:
        [mention] = mentions(gazetteer, text, lang)
        assert (mention.place.name, mention.place.oblast) == ("Zmiinyi Island", "Odesa Oblast")


def test_landmarks(gazetteer: Gazetteer) -> None:
    found = mentions(gazetteer, "Росіяни атакували Азовсталь, ЗАЕС і Кримський міст.", "uk")
    assert [(m.place.name, m.via) for m in found] == [
        ("Mariupol", "landmark"),
        ("Enerhodar", "landmark"),
        ("Kerch", "landmark"),
    ]
    found = places(gazetteer, "Shelling near the Zaporizhzhia NPP and at Babyn Yar.", "en")
    assert [name for name, _ in found] == ["Enerhodar", "Kyiv"]


def test_russian_cities(gazetteer: Gazetteer) -> None:
    found = mentions(gazetteer, "Drones hit Moscow, Belgorod and Bryansk.", "en")
    assert [(m.place.name, m.place.country) for m in found] == [
        ("Moscow", "RU"),
        ("Belgorod", "RU"),
        ("Bryansk", "RU"),
    ]
    assert found[1].place.oblast == "Belgorod Oblast"
    assert found[1].place.code and found[1].place.code.startswith("gn:")


# --------------------------------------------------------------------------- oblasts, adjectives, capital


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("На Харківщині обстріли.", "uk"),
        ("У Харківській області обстріли.", "uk"),
        ("Обстрелы в Харьковской области.", "ru"),
        ("Shelling in the Kharkiv region.", "en"),
        ("Shelling in Kharkiv Oblast.", "en"),
        ("Shelling in Kharkiv province.", "en"),
    ],
)
def test_oblast_phrases(gazetteer: Gazetteer, text: str, lang: str) -> None:
    [mention] = mentions(gazetteer, text, lang)
    assert mention.via == "oblast"
    assert (mention.place.name, mention.place.oblast, mention.place.level) == (
        "Kharkiv Oblast",
        "Kharkiv Oblast",
        "oblast",
    )


@pytest.mark.parametrize(
    ("text", "lang", "city"),
    [
        ("Удар по зданию Харьковской обладминистрации.", "ru", "Kharkiv"),
        ("Ракета влучила в будівлю Миколаївської ОДА.", "uk", "Mykolaiv"),
        ("Голова Харківської ОВА повідомив.", "uk", "Kharkiv"),
        ("The Kharkiv Regional Military Administration said.", "en", "Kharkiv"),
        ("Ракета влучила в Київську телевежу.", "uk", "Kyiv"),
        ("Удар по Киевской телевышке.", "ru", "Kyiv"),
    ],
)
def test_region_adjective_before_a_noun_is_the_city(gazetteer: Gazetteer, text: str, lang: str, city: str) -> None:
    [mention] = mentions(gazetteer, text, lang)
    assert (mention.place.name, mention.place.level, mention.via) == (city, "settlement", "adjective")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Вибухи у столиці України.", "uk"),
        ("Українська столиця під атакою.", "uk"),
        ("Взрывы в столице Украины.", "ru"),
        ("Explosions in the capital of Ukraine.", "en"),
        ("Explosions in the Ukrainian capital.", "en"),
    ],
)
def test_capital_phrase_is_kyiv(gazetteer: Gazetteer, text: str, lang: str) -> None:
    [mention] = mentions(gazetteer, text, lang)
    assert (mention.place.name, mention.via) == ("Kyiv", "capital")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Харківська", "Kharkiv Oblast"),
        ("Kharkiv", "Kharkiv Oblast"),
        ("Харьковская область", "Kharkiv Oblast"),
        ("Kharkiv Oblast", "Kharkiv Oblast"),
        ("Київщина", "Kyiv Oblast"),
        ("Запорізькій області", "Zaporizhzhia Oblast"),
        ("Крим", "Autonomous Republic of Crimea"),
        ("Курская область", "Kursk Oblast"),
        ("Марс", None),
    ],
)
def test_oblast_names(gazetteer: Gazetteer, name: str, expected: str | None) -> None:
    assert gazetteer.oblast(name) == expected


# --------------------------------------------------------------------------- ambiguity and precision


def test_village_resolved_by_oblast_hint(gazetteer: Gazetteer) -> None:
    [mention] = mentions(gazetteer, "Обстріляли село Мирне.", "uk")
    oblasts = {place.oblast for place in mention.candidates}
    assert len(oblasts) > 5  # Myrne is a village in many oblasts
    assert gazetteer.resolve(mention, oblasts=["Запорізька"]).oblast == "Zaporizhzhia Oblast"
    assert gazetteer.resolve(mention, oblasts=["Kherson Oblast"]).oblast == "Kherson Oblast"
    assert gazetteer.resolve(mention, home_oblast="Донецька область").oblast == "Donetsk Oblast"


def test_oblast_named_in_the_sentence_ranks_first(gazetteer: Gazetteer) -> None:
    found = mentions(gazetteer, "Обстріл села Мирне Запорізької області.", "uk")
    assert [m.via for m in found] == ["name", "oblast"]
    assert found[0].place.oblast == "Zaporizhzhia Oblast"


def test_small_place_without_cue_needs_its_oblast_in_the_sentence(gazetteer: Gazetteer) -> None:
    assert places(gazetteer, "Обстріл Богоявленки.", "uk") == []
    assert places(gazetteer, "Бої біля Богоявленки.", "uk") == [("Bohoiavlenka", "Donetsk Oblast")]
    found = places(gazetteer, "Богоявленка, Донецька область: бої тривають.", "uk")
    assert found == [("Bohoiavlenka", "Donetsk Oblast"), ("Donetsk Oblast", "Donetsk Oblast")]


def test_ambiguity_falls_back_to_population(gazetteer: Gazetteer) -> None:
    [mention] = mentions(gazetteer, "Вибухи у Слобожанському.", "uk")
    populations = [place.population for place in mention.candidates]
    assert populations == sorted(populations, reverse=True)
    assert gazetteer.resolve(mention) == mention.candidates[0]
    assert mention.place.oblast == "Kharkiv Oblast"
    # Kyiv the capital before Kyiv the village in Mykolaiv Oblast
    assert gazetteer.lookup("Київ")[0].oblast is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Україна і Росія домовились.", "uk"),
        ("Украина, Россия и Беларусь.", "ru"),
        ("Ukraine and Russia; Ukrainian and Russian troops.", "en"),
        ("Український прапор і російський танк.", "uk"),
        ("Мітинг на площі Свободи.", "uk"),
        ("Митинг на площади Свободы.", "ru"),
        ("A rally on Freedom Square.", "en"),
        ("Вулиця Лесі Українки.", "uk"),
        ("Зеленський зустрівся з Шевченком.", "uk"),
        ("Щастя не буває без миру.", "uk"),
        ("Нова пошта відновила роботу.", "uk"),
    ],
)
def test_not_places(gazetteer: Gazetteer, text: str, lang: str) -> None:
    assert places(gazetteer, text, lang) == []


def test_common_word_town_needs_to_stand_mid_sentence(gazetteer: Gazetteer) -> None:
    assert places(gazetteer, "Бої біля Щастя.", "uk") == [("Shchastia", "Luhansk Oblast")]


def test_raion_is_not_the_town(gazetteer: Gazetteer) -> None:
    assert places(gazetteer, "Покровський район під обстрілом.", "uk") == []


def test_lookup_any_form(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Харкові", "uk")[0].name == "Kharkiv"
    assert gazetteer.lookup("Kharkov")[0].name == "Kharkiv"
    assert gazetteer.lookup("Днепропетровск", "ru")[0].name == "Dnipro"
    assert gazetteer.lookup("Неіснуючеселище") == []


# --------------------------------------------------------------------------- romanization and cache


@pytest.mark.parametrize(
    ("ukrainian", "latin"),
    [
        ("Згурівка", "Zghurivka"),
        ("Яготин", "Yahotyn"),
        ("Розсошанці", "Rozsoshantsi"),
        ("Знам'янка", "Znamianka"),
        ("Шостка", "Shostka"),
        ("Біла Церква", "Bila Tserkva"),
        ("Київ", "Kyiv"),
        ("Запоріжжя", "Zaporizhzhia"),
        ("Кропивницький", "Kropyvnytskyi"),
        ("Юрківка", "Yurkivka"),
        ("Їжакевич", "Yizhakevych"),
    ],
)
def test_kmu_romanization(ukrainian: str, latin: str) -> None:
    assert romanize_uk(ukrainian) == latin


def test_place_names_use_kmu_romanization(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Згурівка")[0].name == "Zghurivka"
    assert gazetteer.lookup("Біла Церква")[0].name == "Bila Tserkva"
    assert gazetteer.lookup("Біла Церква")[0].code.startswith("UA32")


def test_cache_write_is_atomic_and_drops_stale_files(tmp_path: Path) -> None:
    stale = tmp_path / "gazetteer-v0-old.pickle"
    stale.write_bytes(b"old")
    path = tmp_path / f"gazetteer-v{FORMAT_VERSION}-new.pickle"
    _write_cache(path, {"format": FORMAT_VERSION, "places": []})
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert _read_cache(path) == {"format": FORMAT_VERSION, "places": []}


def test_corrupt_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pickle"
    corrupt.write_bytes(b"\x80\x05not a pickle")
    assert _read_cache(corrupt) is None
    foreign = tmp_path / "foreign.pickle"
    foreign.write_bytes(pickle.dumps({"format": -1}))
    assert _read_cache(foreign) is None
    assert _read_cache(tmp_path / "missing.pickle") is None


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Russian forces claim to have captured Robotyne.", "en", ("Robotyne", "Zaporizhzhia Oblast")),
        ("Российские войска освободили Марьинку.", "ru", ("Marinka", "Donetsk Oblast")),
        ("Сили оборони відійшли з Очеретиного.", "uk", ("Ocheretyne", "Donetsk Oblast")),
        ("Бої за Кринки тривають.", "uk", ("Krynky", "Kherson Oblast")),
    ],
)
def test_villages_the_war_made_known_need_no_cue(gazetteer: Gazetteer, text: str, lang: str, expected: tuple) -> None:
    """data/frontline.tsv: a village fought over is read as a town is, without "село" or its oblast."""
    assert places(gazetteer, text, lang) == [expected]


def test_a_village_the_war_made_known_is_also_found_with_its_cue(gazetteer: Gazetteer) -> None:
    assert places(gazetteer, "Бої за Кліщіївку тривають.", "uk") == [("Klishchiivka", "Donetsk Oblast")]
    assert places(gazetteer, "Бої за село Кліщіївка тривають.", "uk") == [("Klishchiivka", "Donetsk Oblast")]
