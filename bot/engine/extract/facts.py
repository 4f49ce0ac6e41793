"""What extraction reads from a sentence and builds of a claim (``SentenceFacts``, ``Count``,
``Draft``), the officials it knows, and the helpers the components share."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.engine.control import ControlHit
from bot.engine.text import Token
from bot.engine.types import Kind, Place, Qualifier, Side, SourceInfo, Why

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


KYIV = ZoneInfo("Europe/Kyiv")


MAX_TEXT = 20_000  # characters read per post; longer posts are cut at a sentence boundary, with a warning


COUNT_WINDOW = 4


def cut_point(clean: str) -> int:
    """Where a normalized text longer than ``MAX_TEXT`` is cut: after the last sentence end (or
    line break) in its last 2,000 characters before the limit, else at the limit."""
    head = clean[:MAX_TEXT]
    ends = [m.end() for m in re.finditer(r"[.!?…]\s|\n", head[MAX_TEXT - 2000:])]
    return MAX_TEXT - 2000 + ends[-1] if ends else MAX_TEXT


def _cut(clean: str, source: SourceInfo | None, posted_at: datetime | None) -> str:
    """The first ``MAX_TEXT`` characters (to a sentence end) of a long post, said in the log."""
    at = cut_point(clean)
    logger.warning("a post%s%s is %d characters long: only the first %d were read for claims (cut at character %d)",
                   f" of {source.ref}" if source else "", f" at {posted_at:%Y-%m-%d %H:%M}" if posted_at else "",
                   len(clean), at, at)
    return clean[:at]


def _phrases(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)")


@dataclass(slots=True)
class Count:
    field: str  # killed | injured
    value: int
    qualifier: Qualifier
    pos: int
    earlier: bool = False  # marked as an earlier figure ("initially gave a death toll of six")
    rise: bool = False  # stated as a toll or its rise ("зросла до 20", "the death toll rose to 13")
    implied: bool = False  # only implied by the children named among the dead
    children: int | None = None  # children among these dead, when they belong to this figure only
    quoted_earlier: bool = False  # its sentence reports an earlier statement ("Ранее ГСЧС сообщила, что …")
    subarea: bool = False  # its clause names a district ("у Шевченківському районі загинули 2")
    part: bool = False  # "ще двоє", "two more bodies", "15 of them": a part of another figure, not a toll
    why: Why | None = None  # the rule and words that read it (--explain)
    qualifier_why: Why | None = None


@dataclass(slots=True)
class SentenceFacts:
    """Everything read from one sentence."""

    index: int
    text: str
    places: list[tuple[int, Place]] = field(default_factory=list)
    oblast_places: list[tuple[int, Place]] = field(default_factory=list)
    cues: list[tuple[int, Kind, int]] = field(default_factory=list)  # (pos, kind, tier)
    counts: list[Count] = field(default_factory=list)
    children_killed: int | None = None
    children_pos: int = 0
    children_only: bool = False  # children named among the dead of a toll not given here
    zero_killed: bool = False
    zero_injured: bool = False
    control: list[tuple[int, Side]] = field(default_factory=list)
    control_guessed: set[int] = field(default_factory=set)  # indexes into control whose side was a default
    control_hits: list[ControlHit] = field(default_factory=list)  # the control statements, with what they name
    control_places: list[tuple[int, Place, bool]] = field(default_factory=list)  # towns they may be about (named "місто X")
    perpetrator: Side | None = None
    targets: set[str] = field(default_factory=set)
    weapons: set[str] = field(default_factory=set)
    claimant: str | None = None
    claimant_side: Side | None = None
    claimant_place: str | None = None
    actor_sides: list[Side] = field(default_factory=list)
    pending: list[Count] = field(default_factory=list)  # "it has risen to 10": the field is in an earlier sentence
    fields_named: list[str] = field(default_factory=list)  # casualty fields named, in order
    date: date | None = None
    source_line: bool = False  # a "Source: X" / "Джерело: X" line
    credited: bool = False  # the sentence attributes what it says ("said X", "написав він", "Source: X")
    back_credit: bool = False  # "Про це повідомив X", "Source: X": the credit covers the sentences before
    earlier: bool = False  # "initially", "ранее": an earlier figure quoted again
    paragraph: int = 0
    owner: tuple[str, Side | None] | None = None  # whose claim the sentence is (None: the outlet's)
    mention: tuple[str, Side | None] | None = None  # a claimant named without an attribution
    role_credit: str | None = None  # "заявил глава региона", "the governor said": a title without a name
    person: bool = False  # the claimant is a person (an official), not a body
    role_places: list[tuple[int, Place]] = field(default_factory=list)  # "мер Києва": the office's place
    near_keys: set[str] = field(default_factory=set)  # places named as a landmark: "вибухи поряд із Бєлгородом"
    reported: list[tuple[Side, Side, Kind]] = field(default_factory=list)  # (accuser, accused, kind) of a blame reported
    blamed: bool = False  # blame laid for deaths or in so many words ("жертвы террора", "провокація росіян")
    why: dict[Any, Why] = field(default_factory=dict)  # what read each fact, for --explain: ("cue", pos), "claimant", ...

    @property
    def has_attack(self) -> bool:
        return bool(self.cues or self.counts or self.zero_killed or self.children_killed is not None)


@dataclass(slots=True)
class Draft:
    """A claim being assembled from the sentences of one post."""

    place: Place
    kind: Kind | None = None
    kind_tier: int = 9
    controller: Side | None = None
    killed: Count | None = None
    injured: Count | None = None
    children_killed: int | None = None
    perpetrator: Side | None = None
    claimant: str | None = None
    claimant_side: Side | None = None
    targets: set[str] = field(default_factory=set)
    weapons: set[str] = field(default_factory=set)
    date: date | None = None
    evidence: list[str] = field(default_factory=list)
    sentences: set[int] = field(default_factory=set)
    credited_only: bool = False  # a claimant credited with no figure of its own
    why: dict[str, Any] = field(default_factory=dict)  # "controller": (facts, hit) of the statement that made it

    def accepts_counts(self, facts: SentenceFacts) -> bool:
        """False when the sentence gives another value for a count this draft already holds."""
        for count in _current_counts(facts.counts)[0].values():
            held = self.killed if count.field == "killed" else self.injured
            if held is None or held.implied or held.value == count.value or facts.index in self.sentences:
                continue
            if count.value < held.value and not (count.earlier or count.quoted_earlier or count.rise):
                continue  # a smaller figure after the toll is a part of it ("в жилом доме погибли 16")
            return False
        return True


RIVER_WORDS = frozenset({"river", "river's", "river’s", "річка", "річки", "ріки", "річці", "река", "реки", "реке"})


def _current_counts(counts: Sequence[Count]) -> tuple[dict[str, Count], list[Count]]:
    """The count a sentence gives per field, and the earlier figures it quotes beside them.

    A stated toll or its rise ("has risen to 10") wins over a plain figure, and any figure over one
    marked as earlier ("initially gave … six"); of equals, the larger (the "sought help" count over
    the hospitalised). Other values are earlier
    figures when marked so or when the chosen one is a rise; otherwise they are dropped.
    """
    current: dict[str, Count] = {}
    earlier: list[Count] = []
    for name in ("killed", "injured"):
        found = [c for c in counts if c.field == name]
        if not found:
            continue
        best = min(found, key=lambda c: (c.earlier, not c.rise, c.part, -c.value))
        current[name] = best
        seen = {best.value}
        for c in found:
            if c.value not in seen and (c.earlier or best.rise):
                earlier.append(c)
                seen.add(c.value)
    return current, earlier


_PATRONYMIC = ("ович", "евич", "івна", "ївна", "овна", "евна", "йович")


_QUOTES = {"«": "»", "“": "”", "„": "“", '"': '"'}


def _quoted_tokens(tokens: Sequence[Token], is_attribution: Any) -> set[int]:
    """Indexes of the tokens inside quotation marks (a quote's words do not credit anyone). A quoted
    name of one to three words («Известий») is not a quote; a dash before "said" ends one."""
    inside: set[int] = set()
    closing: str | None = None
    opened: list[int] = []
    for i, tok in enumerate(tokens):
        if closing is not None:
            dash_said = tok.text in ("—", "–", "-") and any(
                t.is_word and is_attribution(t.lower) for t in tokens[i + 1:i + 3])
            if tok.text == closing or (closing == "“" and tok.text == "”") or dash_said:
                if len(opened) > 3:
                    inside.update(opened)
                closing, opened = None, []
            else:
                opened.append(i)
        elif tok.text in _QUOTES:
            closing = _QUOTES[tok.text]
        elif tok.text in ("»", "”"):  # the end of a quote begun in an earlier sentence
            inside.update(range(i))
    inside.update(opened)  # an unclosed quote runs on into the next sentence
    return inside


def _span(sentence: str, tokens: Sequence[Token], first: int, last: int) -> str:
    """The sentence's text from token ``first`` to token ``last`` (inclusive), as written."""
    if not tokens:
        return ""
    first, last = max(0, min(first, len(tokens) - 1)), max(0, min(last, len(tokens) - 1))
    return sentence[tokens[first].start:tokens[max(first, last)].end]


def _claimant_key(label: str) -> str:
    """One claimant's identity in a post: its surname's stem ("Коваленко", "Коваленка" → "ковал")."""
    return label.split()[-1].strip("()").lower()[:5]


def _paragraphs(text: str, sentences: Sequence[str]) -> list[int]:
    """The paragraph (blank-line separated block) each sentence starts in."""
    out: list[int] = []
    at, paragraph = 0, 0
    for sentence in sentences:
        found = text.find(sentence, at)
        if found < 0:
            out.append(paragraph)
            continue
        if out and re.search(r"\n[ \t]*\n", text[at:found]):
            paragraph += 1
        out.append(paragraph)
        at = found + len(sentence)
    return out


def _share_event_dates(drafts: Sequence[Draft]) -> None:
    """A post tells of one event per place: its claims about a place that give no date of their own
    take the one event date the post gives for that place ("collapsed on May 12 …; the governor
    said 27 were injured")."""
    dates: dict[str, set[date]] = {}
    for draft in drafts:
        if draft.date is not None:
            dates.setdefault(draft.place.key, set()).add(draft.date)
    for draft in drafts:
        known = dates.get(draft.place.key, set())
        if draft.date is None and len(known) == 1:
            draft.date = next(iter(known))


def _post_day(posted_at: datetime | None) -> date:
    """The post's day in Kyiv (its own day when it is too close to the calendar's edge to move)."""
    if posted_at is None:
        return datetime.now(KYIV).date()
    if posted_at.tzinfo is None:
        return posted_at.date()
    try:
        return posted_at.astimezone(KYIV).date()
    except OverflowError:
        return posted_at.date()


def _closest_past(post_day: date, month: int, day: int) -> date | None:
    """The date with that month and day nearest before (or on, or one day after) the post."""
    for year in (post_day.year, post_day.year - 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate <= post_day + timedelta(days=1):
            return candidate
    return None

