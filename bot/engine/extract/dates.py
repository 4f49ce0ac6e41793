"""The event's date a sentence gives (component claimwatch_dates)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.engine.extract.facts import SentenceFacts, _closest_past, _span
from bot.engine.text import Token, parse_digits
from bot.engine.types import Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


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
            day, first = None, pos
            if pos > 0 and tokens[pos - 1].kind == "num":
                day, first = int(parse_digits(tokens[pos - 1].text) or 0), pos - 1
            elif pos + 1 < len(tokens) and tokens[pos + 1].kind == "num":
                day = int(parse_digits(tokens[pos + 1].text) or 0)
            if day and 1 <= day <= 31 and not self._dates_statement(tokens, first):
                found = _closest_past(post_day, month, day)
                if found is not None:
                    if why is not None:
                        why["date"] = Why("dates", "numbers.months: a day and month",
                                          _span(sentence, tokens, min(first, pos), max(first, pos + (first == pos))), index)
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
        for pos, tok in enumerate(tokens):
            weekday = self._weekdays.get(tok.lower.replace("’", "'").replace("ʼ", "'"))
            if weekday is not None and not self._dates_statement(tokens, pos):
                back = (post_day.weekday() - weekday) % 7
                if why is not None:
                    why["date"] = Why("dates", "numbers.weekdays: the last such day", tok.text, index)
                return post_day - timedelta(days=back)
        rel = self._relative.search(lower)
        if rel:
            if why is not None:
                why["date"] = Why("dates", "numbers.relative_days", sentence[rel.start():rel.end()], index)
            return post_day + timedelta(days=self._relative_days[rel.group()])
        return None

    def _dates_statement(self, tokens: list[Token], first: int) -> bool:
        """Whether the date starting at ``first`` follows a speech verb ("said on Sunday")."""
        for tok in reversed(tokens[max(0, first - 3):first]):
            if tok.is_word and self._attribution.fullmatch(tok.lower):
                return True
            if not tok.is_word or tok.lower not in self._date_links:
                return False
        return False
