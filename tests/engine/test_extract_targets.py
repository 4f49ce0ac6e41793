"""What was hit: a target the text denies ("there was no military target") is not claimed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

POSTED = datetime(2024, 5, 14, 10, 0, tzinfo=ZoneInfo("Europe/Kyiv"))


@pytest.mark.parametrize(("text", "lang", "military"), [
    ("A missile hit the central square of Sumy. There was no military target on the square.", "en", False),
    ("Ракета влучила в центр Сум, загинули двоє людей. Жодних військових об'єктів там не було.", "uk", False),
    ("Ракета попала в центр Сум. Никаких военных объектов там нет, погибли два человека.", "ru", False),
    ("Russia's defence ministry said it struck military facilities in Sumy.", "en", True),
    ("Минобороны России заявило, что удар нанесен по военным объектам в Сумах.", "ru", True),
])
def test_a_denied_military_target_is_not_claimed(extractor, text, lang, military):  # type: ignore[no-untyped-def]
    claims = extractor.extract_claims(text, posted_at=POSTED, lang=lang)
    assert claims, text
    assert any("military" in c.targets for c in claims) is military, [c.as_dict() for c in claims]
