"""Extraction rules on constructed posts, one rule per case, in the three languages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.engine.types import Kind, Side

KYIV = ZoneInfo("Europe/Kyiv")
POSTED = datetime(2023, 7, 14, 9, 30, tzinfo=KYIV)


def one(extractor, text, lang=None, place=None):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(text, posted_at=POSTED, lang=lang)
    if place:
        claims = [c for c in claims if c.place.name == place]
    assert len(claims) == 1, [c.as_dict() for c in claims]
    return claims[0]


@pytest.mark.parametrize(("text", "killed", "q", "injured", "iq"), [
    ("Внаслідок ракетного удару по Дніпру загинули троє людей, ще 15 поранені.", 3, "exact", 15, "exact"),
    ("У Запоріжжі внаслідок обстрілу щонайменше п'ятеро людей загинули, понад 20 поранені.", 5, "at_least", 20, "at_least"),
    ("В результате удара по Одессе погибли шесть человек, около 30 ранены.", 6, "exact", 30, "approx"),
    ("A Russian drone attack on Odesa killed two people and injured at least nine.", 2, "exact", 9, "at_least"),
    ("About 40 people were wounded and 12 killed after a missile hit a mall in Kremenchuk.", 12, "exact", 40, "approx"),
    ("Russian shelling of Kherson killed more than 10 civilians, the governor said.", 10, "at_least", None, None),
])
def test_counts_and_qualifiers(extractor, text, killed, q, injured, iq):  # type: ignore[no-untyped-def]
    claim = one(extractor, text)
    assert (claim.killed, claim.qualifier and claim.qualifier.value) == (killed, q)
    assert (claim.injured, claim.injured_qualifier and claim.injured_qualifier.value) == (injured, iq)


def test_children_are_a_subset_of_the_dead(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "У Сумах через удар дрона загинули четверо людей, серед них дитина.")
    assert (claim.killed, claim.children_killed, claim.kind) == (4, 1, Kind.DRONE)
    claim = one(extractor, "В Белгороде при обстреле погибли 14 человек, в том числе двое детей.")
    assert (claim.killed, claim.children_killed, claim.place.country) == (14, 2, "RU")


def test_children_among_the_injured_are_not_dead(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "A missile struck Kharkiv, killing 3 people and injuring 11 others, including two children.")
    assert (claim.killed, claim.injured, claim.children_killed) == (3, 11, None)


def test_nobody_hurt_is_zero(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Вночі ворог атакував Миколаїв дронами. Ніхто не постраждав.")
    assert (claim.killed, claim.injured) == (0, 0)


def test_military_boasts_are_not_civilian_casualties(extractor):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(
        "Ударом по Краматорску уничтожено до 200 националистов и 12 единиц техники.", posted_at=POSTED)
    assert all(c.killed is None for c in claims)


@pytest.mark.parametrize(("text", "killed", "q", "injured", "iq"), [
    # tolls that rise or are stated as a total, the casualty word far before the number
    ("Кількість загиблих внаслідок ракетного удару по Дніпру зросла до 12 осіб.", 12, "exact", None, None),
    ("Количество пострадавших при обстреле Херсона увеличилось до 11 человек.", None, None, 11, "exact"),
    ("A man died in hospital, raising the death toll from the attack on Odesa to 13.", 13, "exact", None, None),
    ("Загальна кількість загиблих у Сумах становить 26 осіб.", 26, "exact", None, None),
    ("Жертвами удара по Краматорску стали 15 человек, еще 40 получили ранения.", 15, "exact", 40, "exact"),
    ("В Харькове подтверждена гибель 27 человек после ракетного удара.", 27, "exact", None, None),
    # counts as subjects, number words in every form
    ("Twenty-three people are dead after a missile strike on Dnipro.", 23, "exact", None, None),
    ("Після удару по Києву відомо про одну загиблу.", 1, "exact", None, None),
    ("Внаслідок обстрілу Херсона загинули восьмеро людей, поранені семеро.", 8, "exact", 7, "exact"),
    ("Внаслідок удару по Чернігову загинули, за попередніми даними, 7 людей.", 7, "exact", None, None),
    ("В Донецке погибли двадцать три человека, ранения получили около тридцати.", 23, "exact", 30, "approx"),
    ("The death toll in Kryvyi Rih stands at 7, and the number of injured rises to 52.", 7, "exact", 52, "exact"),
    ("Вночі ворог атакував Одесу. Без постраждалих.", 0, "exact", 0, "exact"),
    ("Russian missiles hit Kharkiv: 46 people, including 7 rescuers, suffered injuries.", None, None, 46, "exact"),
    # qualifiers: more than -> at_least, about/some/майже -> approx, up to -> not encoded
    ("В Одессе погибли около 15 человек, более 30 ранены.", 15, "approx", 30, "at_least"),
    ("Russian shelling of Kherson killed some 12 people.", 12, "approx", None, None),
    ("У Миколаєві внаслідок обстрілу загинули майже 30 людей.", 30, "approx", None, None),
    ("Up to 50 people were injured in the attack on Dnipro, five were killed.", 5, "exact", None, None),
    ("В Харькове при обстреле погибли два человека, пострадали до 20 человек.", 2, "exact", None, None),
    # explicit zero, hospitalised and sought help (the larger count)
    ("Ворог обстріляв Херсон, загиблих немає, поранені троє.", 0, "exact", 3, "exact"),
    ("В Белгороде после обстрела погибших пока не обнаружено, пострадали 19 человек.", 0, "exact", 19, "exact"),
    ("Russian drones hit Odesa: 8 people were hospitalised.", None, None, 8, "exact"),
    ("В Сумах внаслідок обстрілу госпіталізовано 10 людей, 25 звернулися по медичну допомогу.", None, None, 25, "exact"),
])
def test_counts_in_ordinary_phrasings(extractor, text, killed, q, injured, iq):  # type: ignore[no-untyped-def]
    claim = one(extractor, text)
    assert (claim.killed, claim.qualifier and claim.qualifier.value) == (killed, q)
    assert (claim.injured, claim.injured_qualifier and claim.injured_qualifier.value) == (injured, iq)


@pytest.mark.parametrize(("text", "killed", "children"), [
    ("Внаслідок обстрілу Херсона загинули восьмеро людей, серед них – троє дітей.", 8, 3),
    ("У Харкові загинули 17 людей, з них 1 дитина.", 17, 1),
    ("Seven people were killed in Zaporizhzhia; one of them is a child.", 7, 1),
    ("Среди погибших в Белгороде под завалами были двое детей, всего погибли 12 человек.", 12, 2),
    ("Внаслідок ракетного удару по Одесі загинув 12-річний хлопчик.", 1, 1),
    ("A 14-year-old girl was killed in the shelling of Kherson.", 1, 1),
    ("Внаслідок обстрілу Херсона поранено п'ятеро дітей, троє з них загинули.", 3, 3),
    ("One of those killed in the strike on Kharkiv was a 12-year-old boy; five people died in total.", 5, 1),
    ("Одним из погибших при обстреле Белгорода был несовершеннолетний.", None, 1),  # no toll given
    ("A 5-year-old child was among those killed in Odesa.", None, 1),
    ("У Харкові загинули двоє людей: чоловік та 10-річна дівчинка.", 2, 1),
    ("В Шебекино двое погибших – мужчина и 16-летний подросток.", 2, 1),
    ("Внаслідок удару по Кривому Рогу постраждали п'ятеро дітей, троє – загинули.", 3, 3),
    ("The toll from Monday's strike on Ternopil rose to 26, with 7 children among the dead.", 26, 7),
])
def test_children_inside_another_count(extractor, text, killed, children):  # type: ignore[no-untyped-def]
    claim = one(extractor, text)
    assert (claim.killed, claim.children_killed) == (killed, children)


def test_a_child_among_the_injured_is_not_dead(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Внаслідок обстрілу Харкова загинула одна жінка, поранено 12-річного хлопчика.")
    assert (claim.killed, claim.children_killed) == (1, None)


def test_ordinal_toll_and_a_toll_in_a_later_sentence(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "У Києві помер ще один потерпілий. Це третя людина, яка загинула внаслідок атаки.")
    assert (claim.killed, claim.qualifier.value, claim.injured) == (3, "exact", None)
    claim = one(extractor, "A drone hit a house in Kyiv overnight.\n\nThis is the fifth victim of the attack, the mayor said.")
    assert claim.killed == 5
    claim = one(extractor, "У Тернополі помер ще один поранений. Це 27-ма жертва ракетного удару.")
    assert claim.killed == 27
    claim = one(extractor, "In Kyiv, another woman died in hospital; she is the 13th victim of the attack.")
    assert claim.killed == 13
    claim = one(extractor, "Внаслідок обстрілу постраждало місто Херсон.\nЗа уточненими даними, загинули 4 людини.")
    assert (claim.place.name, claim.killed) == ("Kherson", 4)


def test_the_current_toll_wins_over_an_earlier_figure(extractor):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(
        "A missile hit Dnipro. Rescuers initially gave a death toll of six, but later said it has risen to 10.",
        posted_at=POSTED)
    assert sorted(c.killed for c in claims) == [6, 10]  # the earlier figure is a claim of its own
    claims = extractor.extract_claims("Ракета влучила в Дніпро, загинули 6 людей. Раніше повідомлялося про 4.",
                                      posted_at=POSTED)
    assert sorted(c.killed for c in claims) == [4, 6]
    claim = one(extractor, "Внаслідок удару по Одесі загинули 16 людей, повідомив Кіпер. Кількість загиблих зросла до 19.")
    assert claim.killed == 19  # the latest stated toll of one speaker
    claim = one(extractor, "У Харкові загинули 9 людей. Рятувальники дістали тіла ще двох загиблих.")
    assert claim.killed == 9  # "two more bodies" is a part of the toll, not a toll
    claim = one(extractor, "Doctors in Kyiv treat 16 injured after the missile attack. They hospitalized 15 of them.")
    assert claim.injured == 16


def test_soldiers_after_a_boast_are_not_counted(extractor):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims("ЗСУ знищили в районі Бахмута 200 окупантів, ще 300 поранені.", posted_at=POSTED)
    assert all(c.killed is None and c.injured is None for c in claims)
    claims = extractor.extract_claims(
        "Rescuers recovered the bodies of five people in Kyiv, but it is not yet clear whether the death toll has risen.",
        posted_at=POSTED)
    assert all(c.killed is None for c in claims)


def test_renamed_and_inflected_places(extractor):  # type: ignore[no-untyped-def]
    assert one(extractor, "Обстрел Артёмовска продолжается, погибли два человека.").place.name == "Bakhmut"
    assert one(extractor, "Ракетний удар по Кривому Рогу: загинули 4 людини.").place.name == "Kryvyi Rih"
    claim = one(extractor, "A missile strike on Dnipropetrovsk killed one person.")
    assert (claim.place.name, claim.place.oblast) == ("Dnipro", "Dnipropetrovsk Oblast")


def test_several_places_in_one_post(extractor):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(
        "Вранці ворог обстріляв Херсон: загинула одна людина. Також під ударом був Нікополь, там поранені двоє.",
        posted_at=POSTED)
    by_place = {c.place.name: c for c in claims}
    assert by_place["Kherson"].killed == 1
    assert by_place["Nikopol"].injured == 2


@pytest.mark.parametrize(("text", "controller"), [
    ("Вооружённые силы России полностью освободили Соледар.", Side.RUSSIA),
    ("Українські військові звільнили Снігурівку.", Side.UKRAINE),
    ("The mayor said the city of Bakhmut has not fallen and Ukrainian forces continue to hold it.", Side.UKRAINE),
    ("Russian troops have captured Lyman, the defence ministry in Moscow said.", Side.RUSSIA),
])
def test_control_claims(extractor, text, controller):  # type: ignore[no-untyped-def]
    claims = [c for c in extractor.extract_claims(text, posted_at=POSTED) if c.kind is Kind.CONTROL]
    assert {c.controller for c in claims} == {controller}, [c.as_dict() for c in claims]


def test_perpetrator_blamed_on_the_other_side(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Удар по торговому центру в Донецке нанесли украинские войска, погибли 5 человек.")
    assert claim.perpetrator is Side.UKRAINE
    assert "mall" in claim.targets


def test_relative_and_explicit_dates(extractor):  # type: ignore[no-untyped-def]
    assert one(extractor, "Вчора ввечері росіяни обстріляли Харків, поранено 3 людей.").date == date(2023, 7, 13)
    assert one(extractor, "В ночь на 12 июля дроны атаковали Курск, пострадавших нет.").date == date(2023, 7, 12)


def test_bad_input_gives_no_claim_and_no_error(extractor):  # type: ignore[no-untyped-def]
    for text in ("", "   ", "🔥🔥🔥", "https://t.me/somechannel/123", "<b>&amp;</b>", "x" * 100_000,
                 "Guten Morgen, heute ist ein schöner Tag.", "Слава Україні!"):
        assert extractor.extract_claims(text, posted_at=POSTED) == []


def test_markup_is_read_as_text(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "<b>Обстріл Харкова</b>: загинули <i>двоє</i> людей &amp; 7 поранені.")
    assert (claim.place.name, claim.killed, claim.injured) == ("Kharkiv", 2, 7)


def test_claimant_is_the_quoted_speaker(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Russian strikes on Mykolaiv killed two people, said Vitaliy Kim.")
    assert claim.claimant and "Kim" in claim.claimant


def test_a_toll_before_the_place_is_named_goes_to_the_incident(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Twelve people were killed and 50 injured overnight. Russia attacked Odesa with missiles.")
    assert (claim.place.name, claim.killed, claim.injured) == ("Odesa", 12, 50)
    claim = one(extractor, "Кількість загиблих зросла до 20. Ворог атакував Дніпро ракетами вранці.")
    assert (claim.place.name, claim.killed) == ("Dnipro", 20)


# ---------------------------------------------------------------- blame, claimants, places


def claims_of(extractor, text, lang=None):  # type: ignore[no-untyped-def]
    return extractor.extract_claims(text, posted_at=POSTED, lang=lang)


@pytest.mark.parametrize(("text", "perpetrator"), [
    ("Внаслідок російського удару по Дніпру загинули троє людей.", Side.RUSSIA),
    ("The enemy launched a missile attack on Odesa, killing two people.", Side.RUSSIA),
    ("Вибух у будинку в Бєлгороді схожий на провокацію росіян, заявив керівник центру Андрій Коваленко.", Side.RUSSIA),
    ("В результате обстрела со стороны ВСУ в Белгороде пострадали пять человек.", Side.UKRAINE),
    ("Войска киевского режима обстреляли Донецк, погибли двое мирных жителей.", Side.UKRAINE),
    ("Five people were injured in Belgorod by shelling by the Armed Forces of Ukraine, the governor said.", Side.UKRAINE),
    # blame that is denied, hedged or only a speaking body's name: nobody is blamed
    ("Авиаудар, который якобы нанесли российские самолеты по больнице в Мариуполе, — постановка.", None),
    ("Russia's Emergency Situations Ministry said three people were killed in Belgorod.", None),
])
def test_perpetrator_is_the_party_blamed(extractor, text, perpetrator):  # type: ignore[no-untyped-def]
    assert one(extractor, text).perpetrator is perpetrator


@pytest.mark.parametrize(("text", "name"), [
    ("Внаслідок обстрілу Сум загинули двоє людей. Про це повідомив голова Сумської ОВА Олег Петренко.", "Петренко"),
    ("Two people were killed in a Russian strike on Kherson, said Roman Mrochko, head of the city administration.",
     "Mrochko"),
    ("При обстреле Шебекино погибли два человека. Об этом сообщил в Telegram глава округа Владимир Жданов.",
     "Жданов"),
    # a body named inside the quote is what the speaker cites, not who speaks
    ("«За даними ДСНС, загинули двоє людей», — написав мер Харкова Ігор Терехов про удар по Харкову.", "Terekhov"),
])
def test_claimant_is_the_official_credited_not_a_name_in_the_text(extractor, text, name):  # type: ignore[no-untyped-def]
    claim = one(extractor, text)
    assert claim.claimant and name in claim.claimant


def test_one_claim_per_credited_claimant(extractor):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, "Russian missiles hit Dnipro, killing four people, regional governor Serhiy Lysak "
                                  "said. The State Emergency Service said 12 people were injured.")
    by_count = {(c.killed, c.injured): c.claimant for c in claims}
    assert set(by_count) == {(4, None), (None, 12)}, by_count
    assert "Lysak" in by_count[(4, None)]


def test_a_claimant_credited_without_figures_still_has_a_claim(extractor):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, "Удар по Дніпру. Загинули двоє людей, повідомив мер Борис Філатов. "
                                  "Голова ОВА Сергій Лисак додав, що пошкоджено школу.")
    assert sorted((c.killed or 0) for c in claims) == [0, 2]
    assert len({c.claimant for c in claims}) == 2


def test_a_joint_source_line_is_one_claim(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Унаслідок атаки на Київ загинули дев'ятеро людей.\n"
                           "Джерело: мер Києва Віталій Кличко, голова КМВА Тимур Ткаченко")
    assert claim.killed == 9 and "Klitschko" in (claim.claimant or "") and "(Tkachenko)" in (claim.claimant or "")


def test_an_earlier_figure_quoted_again_is_a_claim_of_its_own(extractor):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, "Ten people were killed in the strike on Kyiv, Mayor Vitali Klitschko said.\n\n"
                                  "Earlier reports had indicated that 14 people had been killed.")
    assert sorted(c.killed for c in claims) == [10, 14]


@pytest.mark.parametrize(("text", "accuser", "accused"), [
    ("The maternity hospital in Mariupol, which the Ukrainian side is accusing Russian troops of attacking, "
     "was a militants' base, Foreign Minister Sergei Lavrov said.", Side.UKRAINE, Side.RUSSIA),
    ("Будинок у Бєлгороді підірвали, а звинувачення росіян в обстрілі Силами оборони не відповідають "
     "дійсності, написав керівник центру Андрій Коваленко.", Side.RUSSIA, Side.UKRAINE),
    ("Конашенков разоблачил фейк о «российской бомбёжке роддома» в Мариуполе.", Side.UKRAINE, Side.RUSSIA),
])
def test_the_other_sides_reported_blame_is_its_claim(extractor, text, accuser, accused):  # type: ignore[no-untyped-def]
    reported = [c for c in claims_of(extractor, text) if c.claimant_side is accuser and c.perpetrator is accused
                and "as reported" in (c.claimant or "")]
    assert len(reported) == 1, [c.as_dict() for c in claims_of(extractor, text)]


@pytest.mark.parametrize(("text", "place"), [
    ("Тела двух погибших достали из-под завалов на улице Щорса в Белгороде.", "Belgorod"),
    ("Губернатор Белгородской области сообщил, что при обстреле Шебекино погибли два человека.", "Shebekino"),
    ("Губернатор, который находился в селе Муром, сообщил, что при обстреле Шебекино погибли двое.", "Shebekino"),
    ("Kyiv Mayor Vitali Klitschko said two people were killed in a drone attack on Odesa.", "Odesa"),
    ("Під час нічної атаки на столицю Росія вбила у Києві двох людей.", "Kyiv"),
])
def test_places_that_are_not_where_it_happened(extractor, text, place):  # type: ignore[no-untyped-def]
    assert [c.place.name for c in claims_of(extractor, text)] == [place]


def test_habitual_shelling_is_not_an_incident(extractor):  # type: ignore[no-untyped-def]
    assert claims_of(extractor, "Місто під постійними обстрілами, але евакуація триває, написав голова ОВА.") == []


@pytest.mark.parametrize(("text", "place"), [
    ("Генштаб повідомив про відхід з Сєвєродонецька після обстрілу, загинули двоє людей.", "Sievierodonetsk"),
    ("При обстреле Северодонецка погибли три человека.", "Sievierodonetsk"),
    ("Унаслідок вибуху в Шебекіно на території РФ загинули двоє людей.", "Shebekino"),
    ("Удар по Великой Новоселке: погибли два человека.", "Velyka Novosilka"),
])
def test_town_names_as_reports_write_them(extractor, text, place):  # type: ignore[no-untyped-def]
    assert place in [c.place.name for c in claims_of(extractor, text)]


def test_a_peoples_republic_is_not_its_capital(extractor):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, "The Russian MoD said its forces struck a depot near Lysychansk in the "
                                  "Lugansk (Luhansk) People's Republic, killing 20 soldiers.")
    assert "Luhansk" not in [c.place.name for c in claims]


def test_a_title_without_a_name_after_a_body_is_another_claimant(extractor):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, "Минобороны России заявило, что над Белгородом сбиты ракеты «Точка-У». "
                                  "В Белгороде пострадали 19 человек, заявил глава региона.")
    by_injured = {c.injured: c for c in claims}
    assert set(by_injured) == {None, 19}, [c.as_dict() for c in claims]
    assert by_injured[None].perpetrator is Side.UKRAINE and by_injured[19].claimant != by_injured[None].claimant


def test_a_quote_over_several_sentences_credits_no_one_inside(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Про удар по Харкову повідомив мер Ігор Терехов: «Загинули двоє людей. "
                           "Рятувальники працюють, повідомили у поліції. Ще 12 поранені», — написав він.")
    assert (claim.killed, claim.injured) == (2, 12) and "Terekhov" in (claim.claimant or "")


def test_drones_that_film_do_not_strike(extractor):  # type: ignore[no-untyped-def]
    assert claims_of(extractor, "Дроны засняли, как бойцы подняли флаг в центре Курахово.") == [] or all(
        c.kind is not Kind.DRONE for c in claims_of(extractor, "Дроны засняли, как бойцы подняли флаг в центре Курахово."))


def test_a_town_named_as_a_landmark_yields_to_the_town_it_happened_in(extractor):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, "Вибухи поряд із Бєлгородом.\nУ Шебекіно на території РФ пролунала серія вибухів, "
                                  "загинули двоє людей.")
    assert {c.place.name for c in claims} == {"Shebekino"}
    assert all(c.perpetrator is None for c in claims)  # "на території РФ" says where, not who


def test_the_speakers_own_accusation_blames(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Российские власти обвинили ВСУ в обстреле Горловки, погибли три человека.")
    assert claim.perpetrator is Side.UKRAINE


def test_a_village_written_in_english_from_its_russian_name(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "In the village of Sergeevka in the Odessa region, a missile hit a house; 19 people were killed.")
    assert (claim.place.name, claim.place.oblast) == ("Serhiivka", "Odesa Oblast")


def test_district_tallies_without_a_total_give_no_toll(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "Масована атака на Київ. У Шевченківському районі загинули 2 людини. "
                           "У Солом'янському районі загинула 1 людина.")
    assert claim.killed is None  # tallies by district with no single total (not encoded)
    claim = one(extractor, "Атака на Київ: загалом 3 загиблих. У Шевченківському районі загинули 2 людини.")
    assert claim.killed == 3
    claim = one(extractor, "Russia attacked Kyiv overnight. In the Shevchenkivskyi district, 2 people were killed.")
    assert claim.killed == 2


@pytest.mark.parametrize(("text", "controllers"), [
    # captures and liberations, in verbs, nouns and participles
    ("Міноборони РФ заявило про нібито «звільнення» Вугледара.", {Side.RUSSIA}),
    ("Глава ДНР приехал во взятый под контроль город Авдеевка.", {Side.RUSSIA}),
    ("Russian forces took control of Avdiivka, the Russian defence ministry said.", {Side.RUSSIA}),
    ("Місто Снігурівка повернулося під контроль України.", {Side.UKRAINE}),
    ("ВСУ вошли в Снигиревку, освобождая город.", {Side.UKRAINE}),
    ("Українські військові зайшли в Балаклію та підняли прапор України.", {Side.UKRAINE}),
    ("Аналітики DeepState позначили Вугледар як окупований.", {Side.RUSSIA}),
    # a withdrawal is a claim that the other side holds the town
    ("Russia's defence ministry announced the withdrawal of troops from Balakliia.", {Side.UKRAINE}),
    ("Генштаб ЗСУ повідомив, що Сили оборони відійшли з Соледара.", {Side.RUSSIA}),
    ("Гайдай сообщил, что наши военные отошли из Попасной на более подготовленные позиции.", {Side.RUSSIA}),
    ("В Минобороны России сообщили, что союзные войска были отведены из населенного пункта Балаклея.", {Side.UKRAINE}),
    # holding statements and denials: the denier's side
    ("Fighting in Bakhmut continues, the General Staff said.", {Side.UKRAINE}),
    ("Withdrawing from some positions does not mean we have completely left Avdiivka, the brigade said.", {Side.UKRAINE}),
    ("Гайдай заявив, що Попасна не оточена, бої тривають на околицях міста.", {Side.UKRAINE}),
    # a claim of the other side reported together with its denial: both
    ("Russia's MoD claimed it captured Avdiivka; the General Staff denied it.", {Side.RUSSIA, Side.UKRAINE}),
    ("Українські військові спростували російські повідомлення про захоплення Бахмута.", {Side.RUSSIA, Side.UKRAINE}),
    ("Заявления российских военных о захвате Авдеевки не соответствуют действительности, сообщили в Генштабе ВСУ.",
     {Side.RUSSIA, Side.UKRAINE}),
    ("Информация о захвате Соледара — ложь, заявили в ВСУ.", {Side.RUSSIA, Side.UKRAINE}),
    ("Russia claimed its forces had seized Soledar, but Kyiv said fighting was still raging there.",
     {Side.RUSSIA, Side.UKRAINE}),
    ("Министерство обороны России объявило о взятии Соледара.", {Side.RUSSIA}),
    ("Українські захисники відбили Кремінну.", {Side.UKRAINE}),
    ("Ukrainian flag raised over Kreminna.", {Side.UKRAINE}),
    ("ВСУ отрицают захват Великой Новоселки российскими войсками.", {Side.RUSSIA, Side.UKRAINE}),
    ("Российские СМИ утверждают, что российские войска по-прежнему контролируют Купянск.", {Side.RUSSIA}),
    ("Ukrainian troops entered Kherson on Friday, hours after Moscow announced its forces had left the city.",
     {Side.UKRAINE}),
    ("Российские войска завершили отход на левый берег Днепра, Херсон оставлен, сообщили в Минобороны.", {Side.UKRAINE}),
    ("Спикер Трегубов заявил, что ВСУ ушли только из южной части Великой Новоселки, а бои в городе продолжаются.",
     {Side.UKRAINE}),
    ("Russian media reported that Russian troops remained in control of Kupiansk.", {Side.RUSSIA}),
    # a share of the town is a claim to it
    ("Russian forces control about 90% of Avdiivka, the Russian defence ministry said.", {Side.RUSSIA}),
    # not control: silence, aspirations, advances, encirclement, evacuation, temporarily occupied land
    ("The General Staff did not confirm the capture of Soledar.", set()),
    ("Пушилин заявил, что пришло время освобождать Одессу.", set()),
    ("Российские войска продвигаются в Авдеевке дом за домом, освобождая город.", set()),
    ("Separatists claimed that Bakhmut was encircled.", set()),
    ("Жителі залишили Вугледар через постійні обстріли.", set()),
    ("Люди стояли в черзі для виїзду на тимчасово окуповану територію із Запоріжжя.", set()),
])
def test_control_classes(extractor, text, controllers):  # type: ignore[no-untyped-def]
    claims = [c for c in extractor.extract_claims(text, posted_at=POSTED) if c.kind is Kind.CONTROL]
    assert {c.controller for c in claims} == controllers, [c.as_dict() for c in claims]


def test_control_one_claim_per_credited_claimant(extractor):  # type: ignore[no-untyped-def]
    claims = [c for c in extractor.extract_claims(
        "В ВСУ признали потерю контроля над Авдеевкой, а российские силовики констатировали, "
        "что подразделения ВСУ полностью оставили город.", posted_at=POSTED) if c.kind is Kind.CONTROL]
    assert [c.controller for c in claims] == [Side.RUSSIA, Side.RUSSIA], [c.as_dict() for c in claims]
    assert len({c.claimant for c in claims}) == 2


@pytest.mark.parametrize(("text", "lang"), [
    ("Russia launched a massive missile attack on Ukraine overnight.\n\nIn Dnipro, the regional governor Serhiy Lysak "
     "said three people were killed.\n\nIn Kyiv, Mayor Vitali Klitschko said debris fell on a school; no one was hurt.", "en"),
    ("Росія вночі масовано атакувала Україну ракетами.\n\nУ Дніпрі, за словами голови ОВА Сергія Лисака, загинули троє "
     "людей.\n\nУ Києві, повідомив міський голова Віталій Кличко, уламки впали на школу, ніхто не постраждав.", "uk"),
])
def test_a_round_up_of_towns_gives_each_town_its_speaker_and_figures(extractor, text, lang):  # type: ignore[no-untyped-def]
    """A lead sentence naming no town is not given a town from another speaker's paragraph, and
    "In Kyiv, Mayor X said" names where it happened, not only the mayor's office."""
    claims = {c.place.name: c for c in extractor.extract_claims(text, posted_at=POSTED, lang=lang)}
    assert set(claims) == {"Dnipro", "Kyiv"}
    assert (claims["Dnipro"].killed, "Lysak" in (claims["Dnipro"].claimant or "")) == (3, True)
    assert (claims["Kyiv"].killed, claims["Kyiv"].injured, "Klitschko" in (claims["Kyiv"].claimant or "")) == (0, 0, True)


@pytest.mark.parametrize(("text", "lang", "place"), [
    ("Officials in Russian-occupied Donetsk said Ukrainian shelling of a market killed 27 people.", "en", "Donetsk"),
    ("Authorities in Kherson said Russian shelling killed two people.", "en", "Kherson"),
])
def test_officials_in_a_town_speak_of_it(extractor, text, lang, place):  # type: ignore[no-untyped-def]
    """'Officials in X said' is where they are and where it happened; 'Kyiv said' is a government."""
    claim = one(extractor, text, lang)
    assert claim.place.name == place and claim.killed is not None


@pytest.mark.parametrize(("text", "lang", "side"), [
    ("В Херсоне в результате обстрела со стороны ВСУ погибли четыре человека, сообщил Владимир Сальдо.", "ru", Side.RUSSIA),
    ("Противник обстрелял Донецк, погибли два человека, сообщил Денис Пушилин.", "ru", Side.RUSSIA),
    ("Ukrainian forces have withdrawn from the town to save lives, army chief Oleksandr Syrskyi said of Avdiivka.", "en",
     Side.UKRAINE),
])
def test_officials_of_either_side_are_known_claimants(extractor, text, lang, side):  # type: ignore[no-untyped-def]
    [claim] = extractor.extract_claims(text, posted_at=POSTED, lang=lang)
    assert claim.claimant_side is side and claim.claimant and "(" in claim.claimant


@pytest.mark.parametrize(("text", "killed", "q", "injured", "iq"), [
    # number words in cases the word list does not spell out: read by their lemma
    ("В Херсоне после обстрела известно об одном погибшем.", 1, "exact", None, None),
    ("Під час атаки на Суми загинули п'ятеро людей, ще двадцятьма пораненими опікуються лікарі.", 5, "exact", 20, "exact"),
    ("При обстреле Донецка погибли восьмеро, о семерых раненых сообщили медики.", 8, "exact", 7, "exact"),
    # "a hundred", "a dozen": the qualifier stands before the article
    ("About a hundred people were injured in the strike on Kyiv.", None, None, 100, "approx"),
    ("At least a dozen people were killed in the missile strike on Kharkiv.", 12, "at_least", None, None),
    ("Tens of people were injured in the strike on Kharkiv.", None, None, None, None),  # vague: not encoded
    # injured as taken to a hospital, the hospital word before or after the verb
    ("Після удару по Сумах до лікарні доставили 14 людей.", None, None, 14, "exact"),
    ("Росія атакувала Одесу. Рятувальники доставили до лікарні сімох людей.", None, None, 7, "exact"),
    ("После обстрела Горловки в больницу доставлены девять человек.", None, None, 9, "exact"),
    ("A Russian missile hit Lviv. Five people were taken to hospital.", None, None, 5, "exact"),
    ("Ракета влучила у Львів, гуманітарну допомогу доставили 20 людям.", None, None, None, None),
    # a figure after an inserted phrase does not lend its casualty word to the one before
    ("У Києві загинули 9 людей, в тому числі троє дітей, поранено 60 людей, серед яких 10 дітей.", 9, "exact", 60,
     "exact"),
    ("В Киеве погибли 9 человек, в том числе трое детей, ранены 60 человек.", 9, "exact", 60, "exact"),
    ("In Kyiv 9 people, including three children, were killed, and 60 were injured.", 9, "exact", 60, "exact"),
])
def test_number_words_hospitals_and_inserted_phrases(extractor, text, killed, q, injured, iq):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, text)
    assert len(claims) == 1, [c.as_dict() for c in claims]
    claim = claims[0]
    assert (claim.killed, claim.qualifier and claim.qualifier.value) == (killed, q)
    assert (claim.injured, claim.injured_qualifier and claim.injured_qualifier.value) == (injured, iq)


@pytest.mark.parametrize(("text", "perpetrator"), [
    ("В результате обстрела со стороны украинских формирований в Донецке пострадали двое.", Side.UKRAINE),
    ("Унаслідок обстрілу з боку російських формувань у Херсоні поранено двох людей.", Side.RUSSIA),
    ("Russia launched a missile attack on Kharkiv, killing three.", Side.RUSSIA),
    ("Ukraine fired rockets at Belgorod, injuring four people, the governor said.", Side.UKRAINE),
    ("Russian officials accused Ukraine of striking a market in Donetsk, killing 27.", Side.UKRAINE),
    # a country as an attack noun's genitive before its target, or after "by"; a capital's forces
    ("В результате удара Украины по Белгороду погибли двое.", Side.UKRAINE),
    ("Внаслідок удару Росії по Харкову загинули двоє.", Side.RUSSIA),
    ("Two people were killed in a strike by Russia on Kharkiv.", Side.RUSSIA),
    ("Kyiv's forces shelled Donetsk, killing two, the city's Russian-installed mayor said.", Side.UKRAINE),
    ("Обстрел Украины продолжается: в Киеве погибли двое, сообщил Кличко.", None),  # Ukraine as the target
    ("Russia said three people were killed in Belgorod.", None),  # a country that speaks does not strike
])
def test_the_party_named_as_subject_or_accused_is_the_perpetrator(extractor, text, perpetrator):  # type: ignore[no-untyped-def]
    claims = [c for c in claims_of(extractor, text) if "as reported" not in (c.claimant or "")]
    assert [c.perpetrator for c in claims] == [perpetrator], [c.as_dict() for c in claims_of(extractor, text)]


@pytest.mark.parametrize("text", [
    "“Russia does not strike civilian targets, — said Peskov.\n\nThe State Emergency Service reported on Telegram that "
    "a missile hit a house in Odesa. According to the service, 5 people were killed.",
    "«Росія не б'є по цивільних об'єктах, — заявив Пєсков.\n\nДСНС повідомила в Telegram, що ракета влучила в будинок "
    "в Одесі. За даними служби, загинули 5 людей.",
    "«Россия не наносит ударов по гражданским объектам, — сказал Песков.\n\nГСЧС Украины сообщила в Telegram, что "
    "ракета попала в дом в Одессе. По данным службы, погибли 5 человек.",
])
def test_a_quote_closed_by_a_dash_and_a_credit_leaves_the_next_paragraph_to_its_speaker(extractor, text):  # type: ignore[no-untyped-def]
    """The toll is the emergency service's; the Kremlin spokesman who only commented has a claim
    without figures."""
    by_claimant = {c.claimant: c for c in claims_of(extractor, text)}
    assert {(c.killed, "Peskov" in (c.claimant or "")) for c in by_claimant.values()} == {(5, False), (None, True)}, \
        [c.as_dict() for c in by_claimant.values()]


def test_a_quote_over_paragraphs_that_reopen_with_a_quote_mark_credits_no_one_inside(extractor):  # type: ignore[no-untyped-def]
    claim = one(extractor, "\"We are working at the site,\" the mayor of Kharkiv Ihor Terekhov wrote.\n\n"
                           "\"Two people were killed in Kharkiv, police said.\n\n\"Twelve more are injured,\" he added.")
    assert (claim.killed, claim.injured, "Terekhov" in (claim.claimant or "")) == (2, 12, True)


@pytest.mark.parametrize(("text", "place"), [
    # an institution named after a city stands in the town the sentence names
    ("Дрон влучив у Харківський національний університет у Сумах, поранені троє.", "Sumy"),
    ("Дрон попал в Харьковский университет в Сумах, ранены трое.", "Sumy"),
    # a city's adjective alone still places the event in that city
    ("Ракета влучила в Київську телевежу, загинули п'ятеро людей.", "Kyiv"),
    ("Ракета попала в Киевскую телевышку, погибли пять человек.", "Kyiv"),
])
def test_a_citys_adjective_yields_to_the_town_named(extractor, text, place):  # type: ignore[no-untyped-def]
    assert [c.place.name for c in claims_of(extractor, text)] == [place]


@pytest.mark.parametrize(("text", "name"), [
    ("За інформацією ДСНС, у Харкові поранено п'ятьох людей.", "Emergency Service"),
    ("По информации МЧС, в Белгороде пострадали пять человек.", "Emergencies Ministry"),
    ("За повідомленням Нацполіції, у Херсоні загинули двоє.", "Police"),
    ("According to the State Emergency Service, five people were injured in Kharkiv.", "Emergency Service"),
])
def test_according_to_a_body_credits_it(extractor, text, name):  # type: ignore[no-untyped-def]
    claim = one(extractor, text)
    assert name in (claim.claimant or ""), claim.as_dict()


def test_information_without_a_source_credits_no_one(extractor):  # type: ignore[no-untyped-def]
    assert one(extractor, "По предварительной информации, в Белгороде пострадали пять человек.").claimant is None


@pytest.mark.parametrize(("text", "injured"), [
    ("Five out of 13 victims of shelling in Shebekino are in intensive care in serious condition.", 13),
    ("Of the 20 victims of the strike on Kharkiv, seven are in hospital.", 20),
    ("The 20 victims of the strike on Kharkiv were remembered on Sunday.", None),  # no condition: not a count
])
def test_victims_in_hospital_are_injured(extractor, text, injured):  # type: ignore[no-untyped-def]
    claim = one(extractor, text)
    assert (claim.killed, claim.injured) == (None, injured)


@pytest.mark.parametrize("text", [
    "Кількість загиблих у Дніпрі зросла до 6 людей. Про це повідомив голова ОВА Сергій Лисак.\nВорог атакував місто "
    "ракетами.\nОновлено\nСтаном на 18:00 кількість загиблих у Дніпрі зросла до 9 людей.",
    "Число погибших в Днепре выросло до 6 человек. Об этом сообщил глава ОВА Сергей Лысак.\nВраг атаковал город "
    "ракетами.\nОбновлено\nПо состоянию на 18:00 число погибших в Днепре выросло до 9 человек.",
    "The death toll in Dnipro has risen to 6, regional governor Serhiy Lysak said.\nThe enemy attacked the city with "
    "missiles.\nUpdated\nAs of 18:00 the death toll in Dnipro has risen to 9.",
])
def test_an_update_after_the_officials_figures_is_the_outlets_claim(extractor, text):  # type: ignore[no-untyped-def]
    claims = claims_of(extractor, text)
    by_killed = {c.killed: c for c in claims}
    assert set(by_killed) == {6, 9}, [c.as_dict() for c in claims]
    assert "Lysak" in (by_killed[6].claimant or "") and "Lysak" not in (by_killed[9].claimant or "")
    assert (by_killed[6].perpetrator, by_killed[9].perpetrator) == (None, Side.RUSSIA)


@pytest.mark.parametrize(("text", "place"), [
    # a river's bank is not the city that shares the river's name
    ("Russia's Defence Ministry said it had completed the withdrawal of troops from the right bank of the Dnipro, "
     "including Kherson.", "Kherson"),
    ("Міноборони РФ заявило про завершення виведення військ з правого берега Дніпра, зокрема з Херсона.", "Kherson"),
    ("Минобороны РФ сообщило о завершении отвода войск с правого берега Днепра, в том числе из Херсона.", "Kherson"),
    # a region's bank stays the region; the city itself stays the city
    ("Russian forces shelled Kherson region's right bank, killing two people, the governor said.", "Kherson Oblast"),
    ("Russian troops shelled Dnipro, killing two people, the governor said.", "Dnipro"),
])
def test_a_rivers_bank_is_not_the_city_of_its_name(extractor, text, place):  # type: ignore[no-untyped-def]
    assert [c.place.name for c in claims_of(extractor, text)] == [place]


def test_only_a_rivers_bank_names_no_place(extractor):  # type: ignore[no-untyped-def]
    text = "Ukrainian forces may soon cross to the Dnipro's left bank, the governor said."
    assert claims_of(extractor, text) == []
