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
