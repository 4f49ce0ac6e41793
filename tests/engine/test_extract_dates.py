"""Event dates on constructed posts: the day the strike happened, not the day it was reported."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

KYIV = ZoneInfo("Europe/Kyiv")
POSTED = datetime(2024, 5, 14, 10, 0, tzinfo=KYIV)  # a Tuesday


@pytest.mark.parametrize(("text", "lang", "day"), [
    ("Russian missiles hit Kharkiv on May 12, killing three people, the governor said on May 14.", "en", date(2024, 5, 12)),
    ("A drone hit a house in Sumy, killing two people, officials said Monday.", "en", date(2024, 5, 14)),
    ("Накануне ракета попала в жилой дом в Харькове, погибли два человека.", "ru", date(2024, 5, 13)),
    ("Напередодні внаслідок обстрілу Херсона загинули троє людей, повідомив 14 травня голова ОВА.", "uk", date(2024, 5, 13)),
    ("У неділю ворог атакував Одесу дронами, загинули двоє людей.", "uk", date(2024, 5, 12)),
])
def test_event_date_not_statement_date(extractor, text, lang, day):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(text, posted_at=POSTED, lang=lang)
    assert claims and {c.date for c in claims} == {day}, [c.as_dict() for c in claims]


def test_claims_about_one_place_share_the_event_date(extractor):  # type: ignore[no-untyped-def]
    text = ("A missile hit an apartment block in Dnipro on May 12, killing four people, the emergency service "
            "said. The regional governor Ivan Petrenko said 19 people were injured.")
    claims = extractor.extract_claims(text, posted_at=POSTED, lang="en")
    assert len({c.place.name for c in claims}) == 1
    assert {c.date for c in claims} == {date(2024, 5, 12)}, [c.as_dict() for c in claims]


MONDAY = datetime(2025, 3, 3, 10, 0, tzinfo=KYIV)


@pytest.mark.parametrize(("text", "lang", "posted", "day"), [
    # a day and month with an ordinal ending or an abbreviated month
    ("14-го січня ворог атакував Запоріжжя, загинули 13 людей.", "uk", datetime(2025, 1, 16, 10, tzinfo=KYIV), date(2025, 1, 14)),
    ("1-го марта в результате обстрела Донецка погибли 3 человека.", "ru", MONDAY, date(2025, 3, 1)),
    ("A Russian strike on Kharkiv on March 1st killed 3 people.", "en", MONDAY, date(2025, 3, 1)),
    # across the new year: the latest such date not after the post
    ("31 грудня ворог атакував Запоріжжя, загинули 13 людей.", "uk", datetime(2025, 1, 2, 10, tzinfo=KYIV), date(2024, 12, 31)),
    ("A strike on Kharkiv on Dec 31 killed 3 people.", "en", datetime(2025, 1, 2, 10, tzinfo=KYIV), date(2024, 12, 31)),
    # a stated year is kept, whether the day and month would fall before or after the post's
    ("Унаслідок удару по Харкову 28 лютого 2024 року загинули 3 людини.", "uk", MONDAY, date(2024, 2, 28)),
    ("A Russian strike on Kharkiv on 1 March 2024 killed 3 people.", "en", datetime(2025, 2, 27, 10, tzinfo=KYIV), date(2024, 3, 1)),
    ("A Russian strike on Kharkiv on March 1, 2024 killed 3 people.", "en", MONDAY, date(2024, 3, 1)),
    # a date shortly ahead of the post (a funeral) is no event date, and not last year's either
    ("Похорон загиблих унаслідок удару по Харкову відбудеться 16 травня, загинули 7 людей.", "uk", POSTED, date(2024, 5, 14)),
    ("Прощание с погибшими при обстреле Донецка пройдет 5 марта, погибли 3 человека.", "ru", MONDAY, date(2025, 3, 3)),
    # days counted back
    ("Two days ago a Russian drone attack on Kharkiv killed 3 people.", "en", MONDAY, date(2025, 3, 1)),
    ("Два дні тому внаслідок обстрілу Харкова загинули 3 людини.", "uk", MONDAY, date(2025, 3, 1)),
    ("Три дня назад в результате обстрела Донецка погибли 3 человека.", "ru", MONDAY, date(2025, 2, 28)),
    # weekdays in the genitive, and a night from one day to the next dated by its morning
    ("У ніч проти суботи внаслідок обстрілу Харкова загинули 3 людини.", "uk", MONDAY, date(2025, 3, 1)),
    ("В ночь с субботы на воскресенье в результате обстрела Донецка погибли 3 человека.", "ru", MONDAY, date(2025, 3, 2)),
    ("У ніч з суботи на неділю внаслідок обстрілу Харкова загинули 3 людини.", "uk", MONDAY, date(2025, 3, 2)),
    ("В ночь на субботу в результате обстрела Донецка погибли 3 человека.", "ru", MONDAY, date(2025, 3, 1)),
    # the start or end of a span is no event's day; the night from one date to the next is the second
    ("З 24 лютого внаслідок обстрілів Харкова загинули 1000 мирних жителів.", "uk", MONDAY, date(2025, 3, 3)),
    ("С 24 февраля в результате обстрелов Донецка погибли 1000 мирных жителей.", "ru", MONDAY, date(2025, 3, 3)),
    ("Since February 24, Russian strikes on Kharkiv have killed 50 civilians.", "en", MONDAY, date(2025, 3, 3)),
    ("Режим тиші діятиме до 5 березня, а 1 березня внаслідок обстрілу Харкова загинули 3 людини.", "uk", MONDAY,
     date(2025, 3, 1)),
    ("В ночь с 1 на 2 марта в результате обстрела Донецка погибли 3 человека.", "ru", MONDAY, date(2025, 3, 2)),
])
def test_day_month_year_and_days_back(extractor, text, lang, posted, day):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(text, posted_at=posted, lang=lang)
    assert claims and {c.date for c in claims} == {day}, [c.as_dict() for c in claims]
