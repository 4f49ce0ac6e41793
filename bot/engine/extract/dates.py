"""The event's date a sentence gives (component claimwatch_dates)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.engine.extract.facts import SentenceFacts, _span
from bot.engine.text import Token, parse_digits
from bot.engine.types import Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


# A day and month up to this far after the post is a date ahead (a funeral, a day of mourning, a
# deadline), not the event's; farther ahead it is last year's ("31 грудня" posted on 2 January).
AHEAD = timedelta(days=60)
MAX_DAYS_AGO = 31
# Words that make a date the start or end of a span ("since 24 February 2022", "з 24 лютого", "с 1
# марта", "до 1 березня") rather than the day of an event.
SPAN_ENDS = frozenset({"since", "until", "з", "із", "зі", "від", "до", "с", "со", "от"})
# "в ночь с субботы на воскресенье", "у ніч з суботи на неділю", "overnight from Saturday to Sunday"
NIGHT_FROM = frozenset({"с", "со", "з", "із", "зі", "from"})
# What may follow a day's figure before its month: "14-го січня", "1-го марта", "January 14th".
DAY_SUFFIXES = frozenset({"го", "е", "th", "st", "nd", "rd"})


def _day_of(tokens: list[Token], pos: int) -> tuple[int | None, int, int]:
    """The day of month given with the month word at ``pos`` ("14 січня", "14-го січня", "Jan. 14",
    "January 14th"), the position of its figure and the last position of the date."""
    back = pos - 1
    if back >= 1 and tokens[back].lower in DAY_SUFFIXES:
        back -= 2 if back >= 2 and tokens[back - 1].text == "-" else 1
    if back >= 0 and back != pos - 1 and tokens[back].kind != "num":
        back = pos - 1
    if back >= 0 and tokens[back].kind == "num":
        return int(parse_digits(tokens[back].text) or 0), back, pos
    ahead = pos + 1
    if ahead < len(tokens) and tokens[ahead].text == ".":  # an abbreviation: "Jan. 14"
        ahead += 1
    if ahead < len(tokens) and tokens[ahead].kind == "num":
        end = ahead + 1 if ahead + 1 < len(tokens) and tokens[ahead + 1].lower in DAY_SUFFIXES else ahead
        return int(parse_digits(tokens[ahead].text) or 0), pos, end
    return None, pos, pos


def _year_after(tokens: list[Token], last: int) -> int | None:
    """A year stated right after a date ("14 січня 2024 року", "January 14, 2024")."""
    for tok in tokens[last + 1:last + 3]:
        if tok.kind == "num" and len(tok.text) == 4 and tok.text.isdigit():
            return int(tok.text)
        if tok.text != ",":
            return None
    return None


def _resolve(post_day: date, month: int, day: int, year: int | None) -> date | None:
    """The date a day and month (and perhaps a year) name for a post of ``post_day``: the stated
    year's when it is not after the post; else the latest such date not after the post (a day of
    grace for a post just after midnight). None for a date shortly ahead of the post or one
    that does not exist."""
    try:
        if year is not None and 1900 < year <= post_day.year:
            return date(year, month, day)
        this_year = date(post_day.year, month, day)
        if this_year <= post_day + timedelta(days=1):
            return this_year
        if this_year <= post_day + AHEAD:
            return None
        return date(post_day.year - 1, month, day)
    except ValueError:  # 29 February of another year, 31 April
        return None


@lru_cache(maxsize=4)
def _days_ago_pattern(units: tuple[str, ...]) -> re.Pattern[str]:
    count = "|".join([r"\d{1,2}", *(re.escape(u) for u in sorted(units, key=len, reverse=True))])
    return re.compile(rf"(?<!\w)({count}) (?:days? ago|дн(?:і|ів|я) тому|дн(?:я|ей) назад)(?!\w)")


class DateRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def read_date(self, view: SentenceView, facts: SentenceFacts, post_day: date) -> None:
        try:
            facts.date = self._find_date(view.tokens, view.lower, post_day, facts.why, view.text, view.index)
        except (OverflowError, ValueError):  # a post dated at the very edge of the calendar
            facts.date = None

    def _find_date(self, tokens: list[Token], lower: str, post_day: date, why: dict[Any, Why] | None = None,
                   sentence: str = "", index: int = 0) -> date | None:
        """The event date a sentence gives: a day and month, a numeric date, a weekday or a relative
        day. A date right after a speech verb ("officials said Sunday", "claimed on May 14") dates the
        statement, not the event, and is passed over."""
        for pos, tok in enumerate(tokens):
            month = self._months.get(tok.lower.rstrip("."))
            if month is None:
                continue
            day, first, last = _day_of(tokens, pos)
            if not day or not 1 <= day <= 31 or self._dates_statement(tokens, first):
                continue
            if first > 0 and tokens[first - 1].lower in SPAN_ENDS:
                continue  # "since 24 February", "з 24 лютого", "до 1 березня": a span's end, no event's day
            found = _resolve(post_day, month, day, _year_after(tokens, max(first, last)))
            if found is None:
                continue  # a date ahead of the post (a funeral, a day of mourning) dates no event
            if why is not None:
                why["date"] = Why("dates", "numbers.months: a day and month",
                                  _span(sentence, tokens, min(first, pos), max(first, last)), index)
            return found
        numeric = re.search(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\b", lower)
        if numeric:
            d, m, y = (int(x) for x in numeric.groups())
            try:
                found_date = date(y + 2000 if y < 100 else y, m, d)
                if found_date <= post_day + timedelta(days=1):
                    if why is not None:
                        why["date"] = Why("dates", "a numeric date (dd.mm.yyyy)", sentence[numeric.start():numeric.end()], index)
                    return found_date
            except ValueError:
                pass
        weekdays = [(pos, self._weekdays[word]) for pos, tok in enumerate(tokens)
                    if (word := tok.lower.replace("’", "'").replace("ʼ", "'")) in self._weekdays]
        for n, (pos, weekday) in enumerate(weekdays):
            tok = tokens[pos]
            if n + 1 < len(weekdays) and pos > 0 and tokens[pos - 1].lower in NIGHT_FROM:
                continue  # the night from Saturday to Sunday is dated by its morning
            if not self._dates_statement(tokens, pos):
                back = (post_day.weekday() - weekday) % 7
                if why is not None:
                    why["date"] = Why("dates", "numbers.weekdays: the last such day", tok.text, index)
                return post_day - timedelta(days=back)
        ago = self._days_ago().search(lower)
        if ago:
            count = int(ago.group(1)) if ago.group(1).isdigit() else self._units.get(ago.group(1), 0)
            if 0 < count <= MAX_DAYS_AGO:
                if why is not None:
                    why["date"] = Why("dates", "a count of days back ('two days ago', 'три дні тому')",
                                      sentence[ago.start():ago.end()], index)
                return post_day - timedelta(days=count)
        rel = self._relative.search(lower)
        if rel:
            if why is not None:
                why["date"] = Why("dates", "numbers.relative_days", sentence[rel.start():rel.end()], index)
            return post_day + timedelta(days=self._relative_days[rel.group()])
        return None

    def _days_ago(self) -> re.Pattern[str]:
        """"two days ago", "три дні тому", "3 дня назад": the count is group 1."""
        return _days_ago_pattern(tuple(self._units))

    def _dates_statement(self, tokens: list[Token], first: int) -> bool:
        """Whether the date starting at ``first`` follows a speech verb ("said on Sunday")."""
        for tok in reversed(tokens[max(0, first - 3):first]):
            if tok.is_word and self._attribution.fullmatch(tok.lower):
                return True
            if not tok.is_word or tok.lower not in self._date_links:
                return False
        return False
