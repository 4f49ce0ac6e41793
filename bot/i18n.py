"""The bot's UI strings in Ukrainian, English and Russian, read from ``bot/locales/<lang>.json``.

Strings are Telegram HTML; every value substituted into them is escaped here, so a channel
title with ``<b>`` or ``&`` cannot break a reply.
"""

from __future__ import annotations

import html
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.engine.plurals import plural_category

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("uk", "en", "ru")
FALLBACK = "en"


@lru_cache(maxsize=None)
def _catalog(lang: str) -> dict[str, Any]:
    return json.loads((LOCALES_DIR / f"{lang}.json").read_text(encoding="utf-8"))


class Raw(str):
    """A value that is already Telegram HTML and must not be escaped again."""


def _entry(lang: str, key: str, values: dict[str, object]) -> str | None:
    """The template of ``key``: a string, or the plural form a counted entry takes for its count.

    A counted entry is ``{"count": "<value name>", "one": ..., "few": ..., "many": ..., "other": ...}``
    (CLDR's categories, chosen by Babel's rules for ``lang``).
    """
    text = _catalog(lang).get(key)
    if isinstance(text, dict) and "other" in text:
        count = values.get(str(text.get("count", "n")))
        category = plural_category(count, lang) if isinstance(count, int) else "other"
        return str(text.get(category, text["other"]))
    return text if isinstance(text, str) else None


def t(lang: str, key: str, /, **values: object) -> str:
    """The string ``key`` in ``lang`` (English when missing) with escaped ``values`` filled in;
    a counted entry takes the plural form of its count ("1 claim", "2 заяви", "5 заявлений")."""
    lang = lang if lang in LANGUAGES else FALLBACK
    text = _entry(lang, key, values)
    if text is None:
        lang = FALLBACK
        text = _entry(lang, key, values)
    if text is None:
        logger.warning("missing UI string %r", key)
        return key
    if not values:
        return text
    safe = {k: v if isinstance(v, Raw) else html.escape(str(v), quote=False) for k, v in values.items()}
    return text.format(**safe)


def shorten(value: object, limit: int = 64) -> str:
    """A value a person typed, fit to quote in a one-line reply: whitespace runs (line breaks
    included) become one space, and anything past ``limit`` characters becomes "…".

    A person may send 4096 characters, and escaping can make them longer still: quoting them whole
    could make the reply too long for Telegram to send.
    """
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def command_descriptions(lang: str) -> dict[str, str]:
    """Command → menu description, for setMyCommands."""
    lang = lang if lang in LANGUAGES else FALLBACK
    return dict(_catalog(lang)["commands"])
