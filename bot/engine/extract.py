"""Claim extraction: turns one post's text into the incident claims it asserts.

The extractor reads a post sentence by sentence. In each sentence it finds place mentions
(through the gazetteer), kind cues, casualty counts with their qualifiers, control statements,
the attacker named, targets, weapons, the speaker and a date. It then assembles claims per
place: attack claims gather kind, counts and targets; control claims carry one controller each.
All word lists live in ``data/lexicon.json``, ``data/numbers.json``, ``data/officials.tsv`` and
``data/institutions.tsv``.
"""

from __future__ import annotations

import bisect
import csv
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.engine.gazetteer import Gazetteer
from bot.engine.text import Token, guess_language, normalize, parse_digits, split_sentences, tokenize
from bot.engine.types import Claim, Kind, Lang, Place, Qualifier, Side, SourceInfo

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
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


def _words(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(patterns) + ")")


def _phrases(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)")


@dataclass(frozen=True, slots=True)
class Official:
    stems: tuple[str, ...]
    claimant: str
    side: Side | None
    place: str | None
    oblast: str | None


@dataclass(slots=True)
class Count:
    field: str  # killed | injured
    value: int
    qualifier: Qualifier
    pos: int


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
    zero_killed: bool = False
    zero_injured: bool = False
    control: list[tuple[int, Side]] = field(default_factory=list)
    control_guessed: set[int] = field(default_factory=set)  # indexes into control whose side was a default
    perpetrator: Side | None = None
    targets: set[str] = field(default_factory=set)
    weapons: set[str] = field(default_factory=set)
    claimant: str | None = None
    claimant_side: Side | None = None
    claimant_place: str | None = None
    actor_sides: list[Side] = field(default_factory=list)
    date: date | None = None

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

    def accepts_counts(self, facts: SentenceFacts) -> bool:
        """False when the sentence gives another value for a count this draft already holds."""
        for count in facts.counts:
            held = self.killed if count.field == "killed" else self.injured
            if held is not None and held.value != count.value and facts.index not in self.sentences:
                return False
        return True


class Extractor:
    """Reads claims out of posts; load once (``Extractor.load()``) and reuse."""

    def __init__(self, gazetteer: Gazetteer, lexicon: dict[str, Any], numbers: dict[str, Any],
                 officials: list[Official], institutions: list[tuple[re.Pattern[str], str, Side]]) -> None:
        self.gazetteer = gazetteer
        self.officials = officials
        self.institutions = institutions
        kinds = lexicon["kinds"]
        self._cue_words: list[tuple[re.Pattern[str], Kind, int]] = []
        for name, patterns in kinds["specific"].items():
            kind = Kind.EXPLOSION if name == "explosion_claimed" else Kind(name)
            self._cue_words.append((_words(patterns), kind, 0))
        for name, patterns in kinds["generic"].items():
            self._cue_words.append((_words(patterns), Kind(name), 1))
        self._kill = _words(lexicon["kill_words"])
        self._injure = _words(lexicon["injure_words"])
        self._military = _words(lexicon["military_people"])
        self._child = _words(lexicon["child_words"])
        self._include = _words(lexicon["include_words"])
        self._fillers = _words(lexicon["people_fillers"])
        self._left_fillers = _words(lexicon["left_fillers"])
        self._stop = _words(lexicon["stop_words"])
        quals = lexicon["qualifiers"]
        self._qualifiers = sorted(
            ((tuple(p.split()), Qualifier(q)) for q, ps in quals.items() for p in ps),
            key=lambda item: -len(item[0]),
        )
        self._zero_both = _phrases(lexicon["zero_phrases"]["both"])
        self._zero_killed = _phrases(lexicon["zero_phrases"]["killed"])
        ctl = lexicon["control"]
        self._capture = _phrases(ctl["capture_phrases"])
        self._denial = _phrases(ctl["denial_phrases"])
        actors = lexicon["actors"]
        self._ru_agent = _words(actors["russia_agents"])
        self._ua_agent = _words(actors["ukraine_agents"])
        self._ru_adj = _words(actors["russia_adjectives"])
        self._ua_adj = _words(actors["ukraine_adjectives"])
        self._force = _words(actors["force_nouns"])
        self._attribution = _words(lexicon["attribution_words"])
        self._river_words = RIVER_WORDS
        self._targets = [(name, _phrases(ps)) for name, ps in lexicon["targets"].items()]
        self._weapons = [(name, _words(ps)) for name, ps in lexicon["weapons"].items()]
        self._units: dict[str, int] = {k: v for k, v in numbers["units"].items()}
        self._tens: dict[str, int] = numbers["tens"]
        self._approx_words: dict[str, int] = numbers["approx_words"]
        self._scale: dict[str, int] = numbers["scale"]
        self._months: dict[str, int] = numbers["months"]
        self._weekdays: dict[str, int] = numbers["weekdays"]
        self._relative = _phrases(sorted(numbers["relative_days"], key=len, reverse=True))
        self._relative_days: dict[str, int] = numbers["relative_days"]

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, gazetteer: Gazetteer | None = None, data_dir: Path = DATA_DIR) -> Extractor:
        """Load the gazetteer (from its cache) and the word lists."""
        lexicon = json.loads((data_dir / "lexicon.json").read_text(encoding="utf-8"))
        numbers = json.loads((data_dir / "numbers.json").read_text(encoding="utf-8"))
        officials = [
            Official(tuple(s.strip() for s in row["names"].split("|") if s.strip()), row["claimant"],
                     Side(row["side"]) if row["side"] else None, row["place"] or None, row["oblast"] or None)
            for row in _read_tsv(data_dir / "officials.tsv")
        ]
        institutions = [
            (re.compile(row["pattern"]), row["claimant"], Side(row["side"]))
            for row in _read_tsv(data_dir / "institutions.tsv")
        ]
        return cls(gazetteer or Gazetteer.load(), lexicon, numbers, officials, institutions)

    # ------------------------------------------------------------------ public API

    def extract_claims(self, text: str, *, posted_at: datetime | None = None, source: SourceInfo | None = None,
                       lang: str | None = None) -> list[Claim]:
        """The claims one post asserts, in the order they appear.

        Args:
            text: the post's text (HTML or Markdown marks are tolerated).
            posted_at: when the post was published; relative dates resolve against it in Kyiv time.
            source: the channel, for its role, side and home region.
            lang: 'uk', 'ru' or 'en'; guessed from the letters when None.

        Returns:
            One claim per place and kind group (control claims: per controller), never raising on
            odd input: a post that asserts no incident gives an empty list.
        """
        clean = normalize(text or "")
        if len(clean) > MAX_TEXT:
            clean = _cut(clean, source, posted_at)
        if not any(ch.isalpha() for ch in clean):
            return []
        language = lang if lang in ("uk", "ru", "en") else guess_language(clean)
        post_day = _post_day(posted_at)
        sentences = split_sentences(clean)
        facts = [self._read_sentence(i, s, language, post_day) for i, s in enumerate(sentences)]
        return self._assemble(facts, language, post_day, source)

    # ------------------------------------------------------------------ one sentence

    def _read_sentence(self, index: int, sentence: str, lang: str, post_day: date) -> SentenceFacts:
        facts = SentenceFacts(index=index, text=sentence)
        tokens = tokenize(sentence, lang)
        if not tokens:
            return facts
        lower = sentence.lower().replace("’", "'").replace("ʼ", "'")
        starts = [t.start for t in tokens]

        def tok_at(char: int) -> int:
            return max(0, bisect.bisect_right(starts, char) - 1)

        self._find_places(facts, tokens, lang, index)
        for pos, tok in enumerate(tokens):
            if not tok.is_word:
                continue
            for pattern, kind, tier in self._cue_words:
                if pattern.fullmatch(tok.lower):
                    facts.cues.append((pos, kind, tier))
                    break
            for name, pattern in self._weapons:
                if pattern.fullmatch(tok.lower):
                    facts.weapons.add(name)
        for name, pattern in self._targets:
            if pattern.search(lower):
                facts.targets.add(name)
        self._find_counts(facts, tokens)
        if self._zero_both.search(lower):
            facts.zero_killed = facts.zero_injured = True
        elif self._zero_killed.search(lower):
            facts.zero_killed = True
        facts.actor_sides = self._actor_sides(tokens)
        self._find_control(facts, tokens, lower, tok_at)
        if facts.cues:
            facts.perpetrator = self._perpetrator(tokens, [p for p, _, _ in facts.cues])
        self._find_claimant(facts, tokens, lower)
        try:
            facts.date = self._find_date(tokens, lower, post_day)
        except (OverflowError, ValueError):  # a post dated at the very edge of the calendar
            facts.date = None
        return facts

    def _find_places(self, facts: SentenceFacts, tokens: list[Token], lang: str, index: int) -> None:
        words = [t.text for t in tokens]
        mentions = self.gazetteer.find_mentions(words, lang)
        for mention in mentions:
            if index == 0 and mention.start == 0 and tokens[0].text.isupper() and len(tokens) > 1 \
                    and tokens[1].text in ("—", "–", "-", ","):
                continue  # a dateline such as "LVIV — ..." names where the reporter is
            if self._speaker_location(tokens, mention.start, mention.end):
                continue  # "заявили в Москве", "Kyiv said": where a statement came from, not an event
            place = mention.place
            if place.level == "oblast":
                facts.oblast_places.append((mention.start, place))
            else:
                facts.places.append((mention.start, place))

    def _speaker_location(self, tokens: list[Token], start: int, end: int) -> bool:
        before = [t for t in tokens[max(0, start - 2):start]]
        if len(before) == 2 and before[1].lower in ("в", "у", "in", "from", "из", "з", "із") \
                and self._attribution.fullmatch(before[0].lower):
            return True
        after = tokens[end] if end < len(tokens) else None
        if after is not None and after.is_word and self._attribution.fullmatch(after.lower):
            return True
        if after is not None and after.is_capitalized and self._official(after) is not None:
            return True  # a first name before a known surname: "Volodymyr Zelensky"
        return after is not None and after.lower in self._river_words

    def _number_at(self, tokens: list[Token], pos: int) -> tuple[int, int] | None:
        """(value, last token index) of a number starting at ``pos``, or None."""
        tok = tokens[pos]
        if tok.kind == "num":
            # times (18:00), ranges (5-7), ordinals (72-го), dates and years are not counts
            nxt = tokens[pos + 1] if pos + 1 < len(tokens) else None
            prev = tokens[pos - 1] if pos > 0 else None
            if nxt is not None and nxt.text in (":", "−", "–", "-", "/", "%") and nxt.start == tok.end:
                return None
            if prev is not None and prev.text in (":", "−", "–", "-", "/", "№", "#") and prev.end == tok.start:
                return None
            if nxt is not None and nxt.lower in self._months:
                return None
            if prev is not None and prev.lower in self._months:
                return None
            value = parse_digits(tok.text)
            if value is None:
                return None
            end = pos
            if nxt is not None and nxt.lower.rstrip(".") in self._scale:
                value *= self._scale[nxt.lower.rstrip(".")]
                end = pos + 1
            elif value != int(value):
                return None
            if 1900 <= value <= 2100 and tok.kind == "num" and end == pos:
                return None
            return int(value), end
        if not tok.is_word:
            return None
        word = tok.lower
        if word in self._approx_words:
            return self._approx_words[word], pos
        if word in self._tens:
            value = self._tens[word]
            end = pos
            if pos + 1 < len(tokens) and tokens[pos + 1].lower in self._units and self._units[tokens[pos + 1].lower] < 10:
                value += self._units[tokens[pos + 1].lower]
                end = pos + 1
            return value, end
        if word in self._units:
            if word in ("one", "один", "одна", "одно", "одне") and pos + 1 < len(tokens) and tokens[pos + 1].lower in ("of",):
                return None
            return self._units[word], pos
        if word == "a" and pos + 1 < len(tokens) and tokens[pos + 1].lower == "dozen":
            return 12, pos + 1
        return None

    def _qualifier_before(self, tokens: list[Token], pos: int) -> tuple[Qualifier, int]:
        """The qualifier words right before a number, and where they start."""
        for words, qualifier in self._qualifiers:
            n = len(words)
            if pos - n < 0:
                continue
            if tuple(t.lower for t in tokens[pos - n:pos]) == words:
                return qualifier, pos - n
        return Qualifier.EXACT, pos

    def _field_of(self, tok: Token) -> str | None:
        if not tok.is_word:
            return None
        if self._kill.fullmatch(tok.lower):
            return "killed"
        if self._injure.fullmatch(tok.lower):
            return "injured"
        return None

    def _find_counts(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        bound_children: list[tuple[int, int]] = []
        pos = 0
        while pos < len(tokens):
            number = self._number_at(tokens, pos)
            if number is None:
                pos += 1
                continue
            value, last = number
            qualifier, qstart = self._qualifier_before(tokens, pos)
            if tokens[pos].lower in self._approx_words:
                qualifier = Qualifier.AT_LEAST
            field_, military, children = self._bind_right(tokens, last)
            if field_ is None and not children:
                field_, military = self._bind_left(tokens, qstart)
            if children:
                bound_children.append((value, pos))
            if field_ is not None and not military:
                if children and field_ == "killed":
                    facts.children_killed = value
                if not children or not any(c.field == field_ for c in facts.counts):
                    facts.counts.append(Count(field_, value, qualifier, pos))
            pos = last + 1
        self._find_children(facts, tokens)

    def _bind_right(self, tokens: list[Token], last: int) -> tuple[str | None, bool, bool]:
        """Field of a cue following the number (``5 people were killed``), military, children."""
        military = children = False
        skipped = 0
        for j in range(last + 1, min(len(tokens), last + 1 + COUNT_WINDOW + 2)):
            tok = tokens[j]
            field_ = self._field_of(tok)
            if field_:
                return field_, military, children
            if tok.kind == "punct":
                if tok.text in ("–", "—", "-"):
                    continue
                return None, military, children
            if tok.kind == "num" or self._stop.fullmatch(tok.lower):
                return None, military, children
            if self._military.fullmatch(tok.lower):
                military = True
            elif self._child.fullmatch(tok.lower):
                children = True
            elif not self._fillers.fullmatch(tok.lower):
                skipped += 1
                if skipped > 2:
                    return None, military, children
        return None, military, children

    def _bind_left(self, tokens: list[Token], start: int) -> tuple[str | None, bool]:
        """Field of a cue before the number (``загинули 10 людей``, ``death toll rose to 10``)."""
        for j in range(start - 1, max(-1, start - 1 - COUNT_WINDOW - 2), -1):
            tok = tokens[j]
            field_ = self._field_of(tok)
            if field_:
                # "killing 7 people ... injuring 24": the cue must not belong to an earlier number
                return field_, self._military_after(tokens, start)
            if tok.kind == "punct" and tok.text not in (",", "–", "—", "-", ":"):
                return None, False
            if tok.kind == "num":
                return None, False
            if tok.is_word and not (self._left_fillers.fullmatch(tok.lower) or self._fillers.fullmatch(tok.lower)):
                return None, False
        return None, False

    def _military_after(self, tokens: list[Token], start: int) -> bool:
        for tok in tokens[start + 1:start + 4]:
            if tok.is_word and self._military.fullmatch(tok.lower):
                return True
        return False

    def _find_children(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """'including two children' after a death count; 'the deaths included three children'."""
        for pos, tok in enumerate(tokens):
            if not (tok.is_word and self._include.fullmatch(tok.lower)):
                continue
            window = tokens[pos + 1:pos + 6]
            n_children = None
            for k, item in enumerate(window):
                if item.is_word and self._child.fullmatch(item.lower):
                    n_children = 1
                    for back in window[:k]:
                        parsed = self._number_at(tokens, tokens.index(back))
                        if parsed:
                            n_children = parsed[0]
                    break
            if n_children is None:
                continue
            # which count does the phrase qualify: a death word inside it, else the nearest count before
            phrase_field = next((self._field_of(t) for t in tokens[pos + 1:pos + 4] if self._field_of(t)), None)
            before = [c for c in facts.counts if c.pos < pos]
            earlier_death = any(self._field_of(t) == "killed" for t in tokens[:pos])
            target = phrase_field or (before[-1].field if before else ("killed" if earlier_death else None))
            if target == "killed":
                facts.children_killed = n_children

    def _actor_sides(self, tokens: list[Token]) -> list[Side]:
        sides = []
        for _, side in self._actors(tokens, agents_only=True):
            sides.append(side)
        return sides

    def _actors(self, tokens: list[Token], *, agents_only: bool) -> list[tuple[int, Side]]:
        """Positions of attacking or holding parties: 'Russian troops', 'окупанти', 'ЗСУ', 'Kremlin'.

        With ``agents_only`` False, bare country names count too (used for control statements).
        """
        found: list[tuple[int, Side]] = []
        for pos, tok in enumerate(tokens):
            if not tok.is_word:
                continue
            word = tok.lower
            if self._ru_agent.fullmatch(word):
                found.append((pos, Side.RUSSIA))
                continue
            if self._ua_agent.fullmatch(word):
                found.append((pos, Side.UKRAINE))
                continue
            side = Side.RUSSIA if self._ru_adj.fullmatch(word) else Side.UKRAINE if self._ua_adj.fullmatch(word) else None
            if side is None:
                continue
            nxt = [t for t in tokens[pos + 1:pos + 4] if t.is_word][:3]
            if any(self._force.fullmatch(t.lower) for t in nxt[:2]) or (nxt and nxt[0].lower in ("'s", "’s")
                                                                         and any(self._force.fullmatch(t.lower) for t in nxt[1:3])):
                found.append((pos, side))
            elif not agents_only and tok.is_capitalized and word in ("russia", "россия", "росія", "moscow", "москва",
                                                                      "москве", "москві", "kremlin", "ukraine"):
                found.append((pos, side))
        return found

    def _perpetrator(self, tokens: list[Token], cue_positions: list[int]) -> Side | None:
        actors = self._actors(tokens, agents_only=True)
        if not actors:
            return None
        best = min(actors, key=lambda a: min(abs(a[0] - c) for c in cue_positions))
        return best[1]

    def _find_control(self, facts: SentenceFacts, tokens: list[Token], lower: str, tok_at: Any) -> None:
        hits: list[tuple[int, int, str]] = []
        for m in self._denial.finditer(lower):
            hits.append((m.start(), m.end(), "deny"))
        for m in self._capture.finditer(lower):
            if any(s <= m.start() < e for s, e, _ in hits):
                continue
            # a negated capture ("had not captured", "не захоплено") is a denial
            before = lower[max(0, m.start() - 12):m.start()]
            kind = "deny" if re.search(r"(?:\bnot|\bне|n't)\s+(?:\w+\s+)?$", before) else "capture"
            hits.append((m.start(), m.end(), kind))
        if not hits:
            return
        actors = self._actors(tokens, agents_only=False)
        clause_marks = [i for i, t in enumerate(tokens)
                        if t.text in (",", ";", ":") or t.lower in ("but", "however", "але", "однак", "однако", "но", "while")]
        for start, end, kind in sorted(hits):
            pos = tok_at(start)
            phrase = lower[start:end]
            phrase_side = self._side_in_phrase(phrase, lower[end:end + 40])
            side = phrase_side or self._nearest_actor(actors, pos, clause_marks)
            if kind == "deny" and _NEGATED_CAPTURE.search(phrase):
                # "Russia has not captured X", "X has not fallen": the would-be captor does not hold it
                captor = phrase_side or self._nearest_actor([a for a in actors if a[0] < pos], pos, clause_marks)
                controller = Side.RUSSIA if captor is Side.UKRAINE else Side.UKRAINE
            elif kind == "deny":
                # "still Ukraine", "continues to defend", "loss not confirmed": the named holder, else Ukraine
                controller = side or Side.UKRAINE
            elif side is not None:
                controller = side
            else:
                # no party named: "звільнено" is Ukrainian wording; otherwise the speaker's side decides later
                controller = Side.UKRAINE if phrase.startswith("звільн") else Side.RUSSIA
                if not phrase.startswith("звільн"):
                    facts.control_guessed.add(len(facts.control))
            facts.control.append((pos, controller))

    def _side_in_phrase(self, phrase: str, after: str) -> Side | None:
        """A side named inside the control phrase ("under Russian control") or as the holder right
        after it ("под контролем украинских властей", "under control of Russian forces")."""
        holder = _HOLDER_RE.match(after)
        text = phrase + " " + (holder.group(1) if holder else "")
        if re.search(r"\b(?:russian|російськ|российск|рф\b)", text):
            return Side.RUSSIA
        if re.search(r"\b(?:ukrainian|українськ|украинск|зсу|всу)", text):
            return Side.UKRAINE
        return None

    @staticmethod
    def _nearest_actor(actors: list[tuple[int, Side]], pos: int, marks: list[int]) -> Side | None:
        """The actor in the same clause, before the cue first, then after it."""
        left = max((m for m in marks if m < pos), default=-1)
        right = min((m for m in marks if m > pos), default=10**9)
        before = [a for a in actors if left < a[0] < pos]
        if before:
            return before[-1][1]
        after = [a for a in actors if pos < a[0] < right]
        if after:
            return after[0][1]
        return None

    def _official(self, tok: Token) -> Official | None:
        """The official whose surname this capitalized token is (any case ending up to 3 letters)."""
        for off in self.officials:
            for stem in off.stems:
                if tok.lower.startswith(stem) and len(tok.lower) - len(stem) <= 3:
                    return off
        return None

    def _find_claimant(self, facts: SentenceFacts, tokens: list[Token], lower: str) -> None:
        for tok in tokens:
            if tok.is_capitalized:
                off = self._official(tok)
                if off is not None:
                    facts.claimant, facts.claimant_side, facts.claimant_place = off.claimant, off.side, off.place
                    return
        for pattern, claimant, side in self.institutions:
            if pattern.search(lower):
                facts.claimant, facts.claimant_side = claimant, side
                return

    def _find_date(self, tokens: list[Token], lower: str, post_day: date) -> date | None:
        for pos, tok in enumerate(tokens):
            month = self._months.get(tok.lower.rstrip("."))
            if month is None:
                continue
            day = None
            if pos > 0 and tokens[pos - 1].kind == "num":
                day = int(parse_digits(tokens[pos - 1].text) or 0)
            elif pos + 1 < len(tokens) and tokens[pos + 1].kind == "num":
                day = int(parse_digits(tokens[pos + 1].text) or 0)
            if day and 1 <= day <= 31:
                found = _closest_past(post_day, month, day)
                if found is not None:
                    return found
        numeric = re.search(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\b", lower)
        if numeric:
            d, m, y = (int(x) for x in numeric.groups())
            try:
                found_date = date(y + 2000 if y < 100 else y, m, d)
                if found_date <= post_day + timedelta(days=1):
                    return found_date
            except ValueError:
                pass
        for tok in tokens:
            weekday = self._weekdays.get(tok.lower)
            if weekday is not None:
                back = (post_day.weekday() - weekday) % 7
                return post_day - timedelta(days=back)
        rel = self._relative.search(lower)
        if rel:
            return post_day + timedelta(days=self._relative_days[rel.group()])
        return None

    # ------------------------------------------------------------------ assembling claims

    def _assemble(self, facts: list[SentenceFacts], lang: str, post_day: date, source: SourceInfo | None) -> list[Claim]:
        post_claimant = next((f.claimant for f in facts if f.claimant), None)
        post_claimant_side = next((f.claimant_side for f in facts if f.claimant_side), None)
        if post_claimant_side is None:
            sides = [s for f in facts for s in f.actor_sides]
            if sides and not any(f.claimant for f in facts):
                post_claimant_side = max(set(sides), key=sides.count)
        if post_claimant_side is None and source is not None and source.side in (Side.UKRAINE, Side.RUSSIA):
            post_claimant_side = source.side
        home_place = next((f.claimant_place for f in facts if f.claimant_place), None)
        current: Place | None = None
        targets_by_place: dict[str, set[str]] = {}
        attack: list[Draft] = []
        control: dict[tuple[str, Side], Draft] = {}
        speaker: tuple[str | None, Side | None] = (None, None)  # the last speaker named so far
        for f in facts:
            if f.claimant:
                speaker = (f.claimant, f.claimant_side)
            sentence_places = [p for _, p in f.places] or [p for _, p in f.oblast_places]
            anchor_positions = [p for p, _, _ in f.cues] + [c.pos for c in f.counts] + [p for p, _ in f.control]
            if f.has_attack:
                place = self._nearest(f.places or f.oblast_places, anchor_positions) or current
                if place is None and home_place:
                    place = self._home(home_place)
                if place is not None:
                    draft = self._draft_for(attack, place, f, speaker)
                    self._merge_attack(draft, f)
            for index, (pos, controller) in enumerate(f.control):
                place = self._nearest(f.places, [pos], prefer_after=True) or current
                if place is None and home_place:
                    place = self._home(home_place)
                if place is None:
                    continue
                if index in f.control_guessed:
                    controller = f.claimant_side or post_claimant_side or controller
                key = (place.key, controller)
                draft = control.get(key)
                if draft is None:
                    draft = control[key] = Draft(place=place, kind=Kind.CONTROL, controller=controller)
                self._note(draft, f)
            if sentence_places:
                current = sentence_places[0] if not f.places else self._nearest(f.places, anchor_positions) or f.places[0][1]
            if current is not None and f.targets:
                # what was hit may be named in a sentence without a cue ("the TV tower was put out of action")
                targets_by_place.setdefault(current.key, set()).update(f.targets)
        claims: list[Claim] = []
        for draft in attack:
            if draft.kind is None and draft.killed is None and draft.injured is None:
                continue
            draft.targets |= targets_by_place.get(draft.place.key, set())
            claims.append(self._to_claim(draft, lang, post_day, source, post_claimant, post_claimant_side))
        for draft in control.values():
            claims.append(self._to_claim(draft, lang, post_day, source, post_claimant, post_claimant_side))
        return claims

    def _home(self, name: str) -> Place | None:
        found = self.gazetteer.lookup(name)
        return found[0] if found else None

    @staticmethod
    def _nearest(places: Sequence[tuple[int, Place]], anchors: Sequence[int], prefer_after: bool = False) -> Place | None:
        if not places:
            return None
        if not anchors:
            return places[0][1]

        def distance(item: tuple[int, Place]) -> tuple[int, int]:
            d = min(abs(item[0] - a) for a in anchors)
            after = any(item[0] > a for a in anchors)
            return d, 0 if (after == prefer_after) else 1

        return min(places, key=distance)[1]

    def _draft_for(self, drafts: list[Draft], place: Place, facts: SentenceFacts, speaker: tuple[str | None, Side | None]) -> Draft:
        """The claim a sentence adds to: the last one for its place, unless the sentence gives other
        figures for it or another speaker reports (then it is a claim of its own)."""
        for draft in reversed(drafts):
            if draft.place.key == place.key:
                other_speaker = facts.claimant is not None and draft.claimant not in (None, facts.claimant)
                if draft.accepts_counts(facts) and not other_speaker:
                    return draft
                break
        draft = Draft(place=place)
        if facts.claimant is None:
            draft.claimant, draft.claimant_side = speaker
        drafts.append(draft)
        return draft

    def _merge_attack(self, draft: Draft, f: SentenceFacts) -> None:
        for pos, kind, tier in f.cues:
            if tier < draft.kind_tier:
                draft.kind, draft.kind_tier = kind, tier
        for count in f.counts:
            if count.field == "killed" and draft.killed is None:
                draft.killed = count
            elif count.field == "injured" and draft.injured is None:
                draft.injured = count
        if f.zero_killed and draft.killed is None:
            draft.killed = Count("killed", 0, Qualifier.EXACT, 0)
        if f.zero_injured and draft.injured is None:
            draft.injured = Count("injured", 0, Qualifier.EXACT, 0)
        if f.children_killed is not None and draft.children_killed is None:
            draft.children_killed = f.children_killed
            if draft.killed is None:
                draft.killed = Count("killed", f.children_killed, Qualifier.EXACT, 0)
        if f.perpetrator is not None and draft.perpetrator is None:
            draft.perpetrator = f.perpetrator
        draft.targets |= f.targets
        draft.weapons |= f.weapons
        self._note(draft, f)

    @staticmethod
    def _note(draft: Draft, f: SentenceFacts) -> None:
        if f.index not in draft.sentences:
            draft.sentences.add(f.index)
            draft.evidence.append(f.text)
        if f.claimant and draft.claimant is None:
            draft.claimant, draft.claimant_side = f.claimant, f.claimant_side
        if f.date and draft.date is None:
            draft.date = f.date

    def _to_claim(self, d: Draft, lang: str, post_day: date, source: SourceInfo | None,
                  post_claimant: str | None, post_side: Side | None) -> Claim:
        claimant = d.claimant or post_claimant or (source.role or source.name if source else None)
        side = d.claimant_side or (post_side if not d.claimant else None)
        if d.kind is None:
            d.kind = Kind.STRIKE
        evidence = " ".join(d.evidence)
        if len(evidence) > 600:
            evidence = evidence[:597] + "..."
        return Claim(
            kind=d.kind,
            place=d.place,
            date=d.date or post_day,
            evidence=evidence,
            killed=d.killed.value if d.killed else None,
            injured=d.injured.value if d.injured else None,
            children_killed=d.children_killed,
            qualifier=d.killed.qualifier if d.killed else None,
            injured_qualifier=d.injured.qualifier if d.injured else None,
            controller=d.controller,
            perpetrator=d.perpetrator,
            claimant=claimant,
            claimant_side=side,
            targets=tuple(sorted(d.targets)),
            weapons=tuple(sorted(d.weapons)),
            lang=Lang(lang),
        )


_HOLDER_RE = re.compile(
    r"\s*(?:of\s+(?:the\s+)?)?((?:russian|ukrainian|российск\w*|украинск\w*|російськ\w*|українськ\w*)\s+"
    r"(?:\w+\s+)?(?:forces|troops|army|military|authorities|властей|влади|сил\w*|войск\w*|військ\w*|арм\w*))"
)
_NEGATED_CAPTURE = re.compile(r"captured|taken|fallen|\bfall\b|захоплен|захвачен|впа|сдан|здал|\bпал\b")
RIVER_WORDS = frozenset({"river", "river's", "river’s", "річка", "річки", "ріки", "річці", "река", "реки", "реке"})


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


def _read_tsv(path: Path) -> list[dict[str, str]]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
