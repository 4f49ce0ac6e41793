"""Questions typed to the bot in plain text: "Що сьогодні сталося в Харкові?" → a place and a day.

The place is found as in posts (the gazetteer reads inflected names: "в Харкові", "на
Харківщині"); the day from a short word list (``data/names/question_words.tsv``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.engine.gazetteer import Gazetteer
from bot.engine.text import guess_language, normalize, read_tsv_records, tokenize
from bot.engine.types import Place

WORDS_FILE = Path(__file__).resolve().parent / "data" / "names" / "question_words.tsv"
MAX_QUESTION = 300  # characters read of a message: a question is short, a pasted article is not one


@dataclass(frozen=True, slots=True)
class Question:
    """What a reader asked about: a place (a settlement or a region) and a day, either may be missing."""

    place: Place | None
    day: date | None

    @property
    def understood(self) -> bool:
        return self.place is not None or self.day is not None


@functools.lru_cache(maxsize=1)
def _day_words() -> dict[str, int]:
    back = {"today": 0, "yesterday": 1}
    words = {}
    for row in read_tsv_records(WORDS_FILE):
        if row.get("day") not in back:
            raise ValueError(f"{WORDS_FILE}: day must be today or yesterday, not {row.get('day')!r}")
        words[row["word"].strip().lower()] = back[row["day"]]
    return words


def parse_question(text: str, gazetteer: Gazetteer, today: date) -> Question:
    """The place and day a question names.

    Args:
        text: the message as typed.
        gazetteer: resolves place names in any of the three languages and their inflections.
        today: the reader's today (in their time zone), for "сьогодні" and "yesterday".

    Returns:
        A `Question`; ``understood`` is False when it names neither a place nor a day.
    """
    clean = normalize(text[:MAX_QUESTION])
    lang = guess_language(clean)
    tokens = tokenize(clean, lang)
    words = _day_words()
    back = next((words[t.lower] for t in tokens if t.is_word and t.lower in words), None)
    mentions = gazetteer.find_mentions([t.text for t in tokens], lang)
    place = mentions[0].candidates[0] if mentions and mentions[0].candidates else None
    return Question(place, today - timedelta(days=back) if back is not None else None)
