"""The bot's UI strings: counted entries take CLDR's plural forms, every language has every string,
and the profile texts fit Telegram's limits."""

from __future__ import annotations

import json
import re

import pytest

from bot.i18n import LANGUAGES, LOCALES_DIR, t


@pytest.mark.parametrize(("lang", "count", "expected"), [
    ("en", 1, "1 claim."), ("en", 2, "2 claims."),
    ("uk", 1, "1 заява."), ("uk", 3, "3 заяви."), ("uk", 5, "5 заяв."), ("uk", 21, "21 заява."),
    ("ru", 1, "1 заявление."), ("ru", 2, "2 заявления."), ("ru", 11, "11 заявлений."),
])
def test_a_counted_message_agrees_with_its_number(lang: str, count: int, expected: str) -> None:
    text = t(lang, "forward_ingested", name="<Kharkiv & Co>", claims=count)
    assert text.endswith(expected)
    assert "&lt;Kharkiv &amp; Co&gt;" in text  # the name is still escaped


def test_no_message_inflects_a_name() -> None:
    """"Допис від Олег Синєгубов" needs the genitive; no message puts a name where a case is needed."""
    for lang in ("uk", "ru"):
        catalog = json.loads((LOCALES_DIR / f"{lang}.json").read_text(encoding="utf-8"))
        for key, value in catalog.items():
            for text in (value.values() if isinstance(value, dict) else [value]):
                words = re.sub(r"<[^>]+>", "", str(text))
                for name in ("{name}", "{place}", "{oblasts}", "{who}", "{source}"):
                    for preposition in ("від", "от", "для", "у", "в", "з", "із", "о", "об", "про"):
                        assert f" {preposition} {name}" not in words, (lang, key)


def test_every_language_has_every_string_and_short_profile_texts() -> None:
    catalogs = {lang: json.loads((LOCALES_DIR / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}
    keys = set(catalogs["en"])
    for lang, catalog in catalogs.items():
        assert set(catalog) == keys, (lang, keys ^ set(catalog))
        assert set(catalog["commands"]) == set(catalogs["en"]["commands"]), lang
        assert len(catalog["description"]) <= 512 and len(catalog["short_description"]) <= 120, lang
