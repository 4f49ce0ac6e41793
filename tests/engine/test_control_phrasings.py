"""Control claims across the phrasing classes of issue #11, many variants per class, in English,
Ukrainian and Russian: tense, voice, word order, nominalisations, quotes, hedges ("allegedly",
"нібито", "якобы"), an outlet relaying an official. Each row gives, per claim, the town, the side
that holds it, and the side of the claimant (None: the post names nobody whose side we can tell).
The controller comes from what is claimed, not from who says it: a withdrawal is a claim that the
other side holds the town, a denial one that the denier's side holds it.

The sentences are written for these tests; the towns are real so that the gazetteer can place them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.engine.types import Kind, Side

POSTED = datetime(2024, 10, 2, 9, 30, tzinfo=ZoneInfo("Europe/Kyiv"))
R, U = Side.RUSSIA, Side.UKRAINE

# captures and "liberations": verbs, nouns, participles, gerunds, flags, hedged and quoted
CAPTURES = [
    ("Russia's Defence Ministry said its troops had completed the capture of Toretsk.", [("Toretsk", R, R)]),
    ("Russian forces took full control of Kurakhove, the Russian Defence Ministry said on Monday.",
     [("Kurakhove", R, R)]),
    ("Ukrainian troops have regained control of Robotyne, the General Staff said.", [("Robotyne", U, U)]),
    ('Russia claims to have "liberated" Selydove.', [("Selydove", R, R)]),
    ("Russian troops have allegedly captured Marinka, according to the Russian Defence Ministry.",
     [("Marinka", R, R)]),
    ("Avdiivka has come under full Russian control, Moscow said.", [("Avdiivka", R, R)]),
    ("The Russian flag now flies over Soledar, Prigozhin said.", [("Soledar", R, R)]),
    ("The Russian Defence Ministry announced the liberation of Krasnohorivka.", [("Krasnohorivka", R, R)]),
    ("Ukraine's military said its forces had recaptured the village of Robotyne.", [("Robotyne", U, U)]),
    ("Selydove was captured by Russian forces, Moscow said.", [("Selydove", R, R)]),
    ("Russian forces have seized control of Kurakhove, according to Russia's defence ministry.",
     [("Kurakhove", R, R)]),
    ("Russian soldiers raised the flag over Chasiv Yar, the Russian Defence Ministry said.", [("Chasiv Yar", R, R)]),
    ("Russian troops completed the capture of Avdiivka on Saturday, the Kremlin said.", [("Avdiivka", R, R)]),
    ("Russian war bloggers claimed that Russian troops had allegedly taken Chasiv Yar.", [("Chasiv Yar", R, R)]),
    ("Російські окупанти захопили Селидове, повідомили в Генштабі ЗСУ.", [("Selydove", R, U)]),
    ("Міноборони РФ заявило про нібито «звільнення» Торецька.", [("Toretsk", R, R)]),
    ("Курахове взято під контроль російськими військами, заявили в Міноборони РФ.", [("Kurakhove", R, R)]),
    ("Роботине повернулося під контроль України, повідомив Генштаб.", [("Robotyne", U, U)]),
    ("Сили оборони завершили звільнення Роботиного.", [("Robotyne", U, None)]),
    ("Росіяни заявили про захоплення Часового Яру.", [("Chasiv Yar", R, R)]),
    ("Окупанти заявляють, що нібито захопили Торецьк.", [("Toretsk", R, R)]),
    ("Звільнивши Роботине, українські військові просуваються далі.", [("Robotyne", U, None)]),
    ("Над Курахове піднято російський прапор, заявили в Міноборони Росії.", [("Kurakhove", R, R)]),
    ("Українські військові повернули під свій контроль Роботине.", [("Robotyne", U, None)]),
    ("Взятый под контроль город Курахово полностью зачищен, сообщили в Минобороны России.", [("Kurakhove", R, R)]),
    (("Освобождая Торецк, штурмовые подразделения группировки «Центр» уничтожили до 50 боевиков ВСУ, "
     "сообщили в Минобороны России."), [("Toretsk", R, R)]),
    ("Минобороны России сообщило о завершении освобождения Курахово.", [("Kurakhove", R, R)]),
    ("Российские войска полностью овладели Селидово.", [("Selydove", R, None)]),
    ("Над Курахово водружён российский флаг.", [("Kurakhove", R, None)]),
    ("Населенный пункт Красногоровка перешел под полный контроль российских войск.", [("Krasnohorivka", R, None)]),
    ("ВСУ вернули под свой контроль Работино, сообщил Генштаб ВСУ.", [("Robotyne", U, U)]),
    ("Российские штурмовики взяли Торецк, сообщили в Минобороны.", [("Toretsk", R, R)]),
    ("Курахово возвращено под контроль России, заявил Пушилин.", [("Kurakhove", R, R)]),
    ("Український прапор над Херсоном.", [("Kherson", U, None)]),
    ("Russian flag over Kurakhove, the Russian Defence Ministry said.", [("Kurakhove", R, R)]),
]

# denials and holding statements: the denier's side holds the town; the denied capture is the other side's
HOLDS = [
    ("Russian claims that Toretsk has fallen do not correspond to reality, the General Staff said.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Kyiv rejected Moscow's claim that Toretsk had fallen.", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Fighting continues on the outskirts of the city of Toretsk, the Ukrainian military said.", [("Toretsk", U, U)]),
    (("Our withdrawal from some positions does not mean that we have completely left Chasiv Yar, "
     "the brigade spokesman said."), [("Chasiv Yar", U, None)]),
    ("Toretsk remains Ukrainian, the Khortytsia spokesman Viktor Trehubov said.", [("Toretsk", U, U)]),
    ("Chasiv Yar is under our control, the Ukrainian brigade said.", [("Chasiv Yar", U, U)]),
    ("The town of Toretsk remains under the control of Ukrainian forces.", [("Toretsk", U, None)]),
    ("Ukraine's military denied Russian claims to have captured Chasiv Yar.",
     [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Ukrainian troops are holding the line in Toretsk, the General Staff said.", [("Toretsk", U, U)]),
    ("Ukrainian troops held their ground in Toretsk.", [("Toretsk", U, None)]),
    ("Russia's claims about the capture of Chasiv Yar are propaganda, a Ukrainian military spokesman said.",
     [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Moscow's claims that its troops captured Toretsk are false, Kyiv said.", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("The accusations of the capture of Toretsk do not correspond to reality, Ukraine's General Staff said.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Toretsk has not been captured, the Ukrainian military insisted.", [("Toretsk", U, U)]),
    ("Ukrainian forces still control Toretsk, Trehubov said.", [("Toretsk", U, U)]),
    ("Звинувачення російської сторони щодо захоплення Торецька не відповідають дійсності, заявив речник ЗСУ.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Бої тривають на околицях міста Торецьк, повідомили в Генштабі ЗСУ.", [("Toretsk", U, U)]),
    ("Відхід з окремих позицій не означає, що ми повністю вийшли з Часового Яру, сказав речник бригади.",
     [("Chasiv Yar", U, None)]),
    ("Торецьк під нашим контролем, заявив Трегубов.", [("Toretsk", U, U)]),
    ("Українські захисники продовжують тримати оборону Часового Яру.", [("Chasiv Yar", U, None)]),
    ("ЗСУ спростували інформацію про падіння Торецька.", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Заява Міноборони РФ про нібито «звільнення» Торецька — брехня, заявив Волошин.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Торецьк не захоплено, бої тривають, заявили в ЗСУ.", [("Toretsk", U, U)]),
    ("Заявления Минобороны РФ о взятии Торецка не соответствуют действительности, заявил спикер ВСУ.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Бои продолжаются на окраинах Торецка, сообщили в ВСУ.", [("Toretsk", U, U)]),
    ("Торецк остается украинским, заявил Волошин.", [("Toretsk", U, U)]),
    ("Часов Яр находится под нашим контролем, заявили в ВСУ.", [("Chasiv Yar", U, U)]),
    ("В ВСУ опровергли информацию о падении Торецка.", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Торецк не взят, бои в городе продолжаются, сообщили в Генштабе ВСУ.", [("Toretsk", U, U)]),
    ("Toretsk: Ukrainian forces deny the town has been taken", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Украинские подразделения остаются в Торецке и продолжают оборону.", [("Toretsk", U, U)]),
    ("Українські підрозділи досі залишаються в Торецьку, повідомив Волошин.", [("Toretsk", U, U)]),
    ("Our troops remain in the town and continue the defence, the Ukrainian brigade said of Toretsk.",
     [("Toretsk", U, U)]),
    ("The enemy claims to have captured Toretsk, which is not true.", [("Toretsk", R, R), ("Toretsk", U, None)]),
    ("Ворог заявляє про захоплення Торецька, але це не відповідає дійсності.", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Украинские военные покинули лишь часть Часова Яра и продолжают удерживать позиции в городе.",
     [("Chasiv Yar", U, None)]),
    ("Подразделения ВСУ отошли из южной части Торецка, бои продолжаются, сообщил Волошин.", [("Toretsk", U, U)]),
    ("Підрозділи залишили лише південну частину Торецька, бої тривають, повідомив Волошин.", [("Toretsk", U, U)]),
    ("Ukrainian units withdrew only from the southern part of Toretsk, fighting continues, the spokesman said.",
     [("Toretsk", U, None)]),
]

# withdrawals: the side that leaves says the other side holds the town
WITHDRAWALS = [
    ("The Ukrainian command announced the withdrawal of troops from Avdiivka.", [("Avdiivka", R, U)]),
    ("Our troops pulled back from Chasiv Yar, the Ukrainian brigade said.", [("Chasiv Yar", R, U)]),
    (("Ukrainian units were withdrawn from the settlement of Krasnohorivka to preserve personnel, "
     "the General Staff said."), [("Krasnohorivka", R, U)]),
    ("Russia's Defence Ministry announced the withdrawal of its troops from Lyman.", [("Lyman", U, R)]),
    ("Russian troops abandoned Izium, the Ukrainian military said.", [("Izium", U, U)]),
    ("Kyiv acknowledged that its troops had left Selydove.", [("Selydove", R, U)]),
    ("The Russian military said its units had been pulled back from Lyman to more advantageous lines.",
     [("Lyman", U, R)]),
    ("Генштаб ЗСУ оголосив про виведення військ з Авдіївки.", [("Avdiivka", R, U)]),
    ("Міноборони РФ повідомило про відведення військ з Лиману.", [("Lyman", U, R)]),
    ("Наші воїни вийшли з Торецька на більш вигідні позиції, заявив Волошин.", [("Toretsk", R, U)]),
    ("Українські військові залишили Селидове, щоб уникнути оточення, повідомили в Генштабі.", [("Selydove", R, U)]),
    ("У Генштабі ЗСУ визнали втрату Селидового.", [("Selydove", R, U)]),
    ("Наши военные отошли из Лимана, сообщили в Минобороны России.", [("Lyman", U, R)]),
    ("Подразделения ВСУ были отведены из населенного пункта Красногоровка, сообщил Генштаб ВСУ.",
     [("Krasnohorivka", R, U)]),
    ("Минобороны России объявило об отводе войск из Изюма.", [("Izium", U, R)]),
    ("Украинские войска покинули Авдеевку, сообщили в ВСУ.", [("Avdiivka", R, U)]),
    ("Российские подразделения отступили из Лимана на более выгодные рубежи, сообщили в Минобороны России.",
     [("Lyman", U, R)]),
    ("В ВСУ признали потерю Селидово.", [("Selydove", R, U)]),
]

# one side's claim reported by the other, answered or not: one claim per claimant
REPORTED = [
    ("Russia's Defence Ministry claimed it had captured Toretsk; Ukraine's General Staff denied it.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Moscow claimed the capture of Chasiv Yar, which Kyiv denied.", [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Ukraine's military said Russian forces had captured Selydove.", [("Selydove", R, U)]),
    ("Russian state media reported the capture of Chasiv Yar, but Kyiv said fighting was still going on there.",
     [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Moscow said its troops had captured Toretsk. Kyiv denied the claim.", [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Russia's Defence Ministry said on Friday it had taken Chasiv Yar. Ukraine's military dismissed the claim as false.",
     [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Russian media reported that the Russian army allegedly holds Toretsk.", [("Toretsk", R, R)]),
    ("Russian Telegram channels say Russian troops are still holding Toretsk.", [("Toretsk", R, R)]),
    ("Російські ЗМІ пишуть, що Торецьк залишається під контролем російських військ.", [("Toretsk", R, R)]),
    ("Российские СМИ: Купянск по-прежнему под контролем ВС РФ. В ВСУ ситуацию не комментируют.",
     [("Kupiansk", R, R)]),
    ("Міноборони Росії заявило про захоплення Торецька, проте Генштаб ЗСУ це спростував.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Російські пропагандисти стверджують, що окупанти захопили Часів Яр, однак у ЗСУ кажуть, що бої тривають.",
     [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Генштаб ЗСУ визнав, що ворог захопив Селидове.", [("Selydove", R, U)]),
    ("Минобороны России заявило о взятии Торецка, однако в ВСУ это опровергли.",
     [("Toretsk", R, R), ("Toretsk", U, U)]),
    ("Минобороны России заявило о якобы взятии Часова Яра, однако в ВСУ это опровергли.",
     [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    ("Украинские СМИ сообщили, что ВСУ оставили Селидово.", [("Selydove", R, U)]),
    ("Киев опроверг заявление Москвы о захвате Часова Яра.", [("Chasiv Yar", R, R), ("Chasiv Yar", U, U)]),
    # silence answering a claim adds nothing
    ("Міноборони Росії оголосило про нібито захоплення Торецька. У ЗСУ цю інформацію не підтвердили.",
     [("Toretsk", R, R)]),
    ("Минобороны РФ сообщило о якобы освобождении Торецка. В ВСУ эту информацию не подтвердили.",
     [("Toretsk", R, R)]),
]

# a bare "fall" names nobody it fell to: no claim unless a denial answers it; troops in hospital or captivity
NONE = [
    "Russian Telegram channels claim that occupied Toretsk has fallen.",
    "Uncertainty remains over whether Toretsk has fallen.",
    # troops "remaining" somewhere other than a town they hold
    "Three wounded soldiers remain in hospital in Kharkiv.",
    "Двоє поранених військових залишаються в лікарні в Харкові.",
    "Пятеро украинских военных остаются в плену в Донецке.",
]


def control_claims(extractor, text):  # type: ignore[no-untyped-def]
    return [c for c in extractor.extract_claims(text, posted_at=POSTED) if c.kind is Kind.CONTROL]


@pytest.mark.parametrize(("text", "expected"), CAPTURES + HOLDS + WITHDRAWALS + REPORTED)
def test_controller_and_claimant_side_per_phrasing(extractor, text, expected):  # type: ignore[no-untyped-def]
    claims = control_claims(extractor, text)
    got = sorted((c.place.name, c.controller.value) for c in claims)
    assert got == sorted((place, side.value) for place, side, _ in expected), [c.as_dict() for c in claims]
    for place, controller, claimant_side in expected:
        if claimant_side is not None:
            sides = [c.claimant_side for c in claims if c.place.name == place and c.controller is controller]
            assert claimant_side in sides, (place, controller, [c.as_dict() for c in claims])


@pytest.mark.parametrize("text", NONE)
def test_no_control_claim(extractor, text):  # type: ignore[no-untyped-def]
    assert control_claims(extractor, text) == []
