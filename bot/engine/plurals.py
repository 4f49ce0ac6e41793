"""Plural forms from CLDR's rules (through Babel): "1 incident", "2 інциденти", "5 инцидентов".

A phrase with a count is stored as a mapping of CLDR plural categories to templates, e.g.
``{"one": "{n} джерело", "few": "{n} джерела", "many": "{n} джерел"}``; a plain string is a
phrase that does not change with the count.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from babel import Locale


@functools.lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in ("en", "uk", "ru") else "en")


def plural_category(count: int, lang: str) -> str:
    """CLDR's category of ``count`` in ``lang``: "one", "few", "many" or "other"."""
    return _locale(lang).plural_form(abs(count))


def plural(forms: str | Mapping[str, str], count: int, lang: str, **values: object) -> str:
    """The template for ``count`` filled with ``values`` (``n`` defaults to ``count``).

    Raises:
        KeyError: ``forms`` has neither the category of ``count`` nor "other".
    """
    if isinstance(forms, str):
        template = forms
    else:
        category = plural_category(count, lang)
        template = forms[category] if category in forms else forms["other"]
    values.setdefault("n", count)
    return template.format(**values)
