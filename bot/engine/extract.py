"""Claim extraction: turns one post's text into the incident claims it asserts.

The extractor reads a post sentence by sentence. In each sentence it finds place mentions
(through the gazetteer), kind cues, casualty counts with their qualifiers, control statements,
the attacker named, targets, weapons, the speaker and a date. It then assembles claims per
place: attack claims gather kind, counts and targets; control claims carry one controller each.
Each sentence belongs to a claimant: the one its attribution credits ("said X", "Про це повідомив
X", "Source: X"), else the last one credited; an attack post gives one claim per credited claimant
(an earlier differing figure apart), and blame a post reports of the other side ("accusing Russian
troops of attacking") is that side's claim.
All word lists live in ``data/lexicon.json``, ``data/numbers.json``, ``data/officials.tsv`` and
``data/institutions.tsv``.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.engine.control import ControlHit, ControlReader, is_side_label, opposite, resolve_controller, side_label
from bot.engine.gazetteer import Gazetteer, PlaceMention
from bot.engine.text import (
    Token,
    any_of,
    guess_language,
    normalize,
    parse_digits,
    read_tsv_records,
)
from bot.engine.types import Claim, Kind, Lang, Place, Qualifier, Side, SourceInfo, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import PostContext, SentenceView

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


class Extractor:
    """Reads claims out of posts; load once (``Extractor.load()``) and reuse."""

    def __init__(self, gazetteer: Gazetteer, lexicon: dict[str, Any], numbers: dict[str, Any],
                 officials: list[Official], institutions: list[tuple[re.Pattern[str], str, Side | None]]) -> None:
        self.gazetteer = gazetteer
        self.officials = officials
        self.institutions = institutions
        kinds = lexicon["kinds"]
        self._cue_words: list[tuple[re.Pattern[str], Kind, int]] = []
        self._cue_keys: list[str] = []  # each cue list's lexicon key, for --explain
        for name, patterns in kinds["specific"].items():
            kind = Kind.EXPLOSION if name == "explosion_claimed" else Kind(name)
            self._cue_words.append((any_of(patterns), kind, 0))
            self._cue_keys.append(f"lexicon.kinds.specific.{name}")
        for name, patterns in kinds["generic"].items():
            self._cue_words.append((any_of(patterns), Kind(name), 1))
            self._cue_keys.append(f"lexicon.kinds.generic.{name}")
        self._kill = any_of(lexicon["kill_words"])
        self._injure = any_of(lexicon["injure_words"])
        self._military = any_of(lexicon["military_people"])
        self._child = any_of(lexicon["child_words"])
        self._include = any_of(lexicon["include_words"])
        self._fillers = any_of(lexicon["people_fillers"])
        self._left_fillers = any_of(lexicon["left_fillers"])
        self._stop = any_of(lexicon["stop_words"])
        quals = lexicon["qualifiers"]
        self._qualifiers = sorted(
            ((tuple(p.split()), Qualifier(q)) for q, ps in quals.items() for p in ps),
            key=lambda item: -len(item[0]),
        )
        self._zero_both = _phrases(lexicon["zero_phrases"]["both"])
        self._zero_killed = _phrases(lexicon["zero_phrases"]["killed"])
        self._zero_injured = _phrases(lexicon["zero_phrases"].get("injured", ["(?!)"]))
        self._upper = sorted((tuple(p.split()) for p in lexicon["upper_bounds"]), key=lambda w: -len(w))
        self._toll_verbs = any_of(lexicon["toll_verbs"])
        self._toll_preps = frozenset(lexicon["toll_prepositions"])
        self._earlier = any_of(lexicon["earlier_words"])
        self._die = any_of(lexicon["die_verbs"])
        self._increment = frozenset(lexicon["increment_words"])
        self._person = any_of(lexicon["person_words"])
        self._victim = any_of(lexicon["victim_words"])
        self._parentheticals = sorted((tuple(p.split()) for p in lexicon["parentheticals"]), key=lambda w: -len(w))
        self._parentheticals_by_end: dict[str, list[tuple[str, ...]]] = {}  # by last word, longest first
        for words in self._parentheticals:
            self._parentheticals_by_end.setdefault(words[-1], []).append(words)
        self._vague = frozenset(lexicon["vague_words"])
        self._civilian = any_of(lexicon["civilian_words"])
        self._subarea = any_of(lexicon["subarea_words"])
        self._death_toll = frozenset(lexicon["death_toll_words"])
        self._child_links = frozenset(lexicon["child_links"])
        self._of_words = frozenset(lexicon["one_of_words"])
        self._age_word = any_of(lexicon["age_words"])
        self._more_words = frozenset(lexicon["more_words"])
        self._part_before = [tuple(p.split()) for p in lexicon["part_before"]]
        self._part_after = [tuple(p.split()) for p in lexicon["part_after"]]
        self._unclear_toll = _phrases(lexicon["unclear_toll_phrases"])
        self._toll_subjects = frozenset(lexicon["toll_subjects"])
        self._child_singular = frozenset(lexicon["child_singular"])
        self._control = ControlReader(lexicon["control"])
        actors = lexicon["actors"]
        self._ru_agent = any_of(actors["russia_agents"])
        self._ua_agent = any_of(actors["ukraine_agents"])
        self._ru_adj = any_of(actors["russia_adjectives"])
        self._ua_adj = any_of(actors["ukraine_adjectives"])
        self._force = any_of(actors["force_nouns"])
        self._negations = any_of(actors["negations"])
        self._hedges = any_of(actors["hedge_words"])
        self._blame = any_of(actors["blame_nouns"])
        self._speaker_nouns = any_of(actors["speaker_nouns"])
        self._side_phrases = [(_phrases(actors["russia_phrases"]), Side.RUSSIA),
                              (_phrases(actors["ukraine_phrases"]), Side.UKRAINE)]
        self._weapon_side: dict[str, Side] = {
            name: Side(side) for side, names in actors["weapon_sides"].items() for name in names}
        self._attribution = any_of(lexicon["attribution_words"])
        self._attribution_back = _phrases(lexicon["attribution_back"])
        self._source_label = any_of(lexicon["source_labels"])
        self._role = any_of(lexicon["role_words"])
        self._joint = any_of(lexicon["joint_words"])
        self._earlier = any_of(lexicon["earlier_words"])
        self._not_names = any_of(lexicon["not_names"])
        self._pronouns = any_of(lexicon["pronouns"])
        self._relay = any_of(lexicon["relay_words"])
        self._near_regions = frozenset(lexicon["russian_regions_near_ukraine"])
        self._footage = any_of(lexicon["footage_words"])
        self._near = any_of(lexicon["near_words"])
        self._latin_ru: list[tuple[str, str]] = [(a, b) for a, b in lexicon["latin_to_russian"]]
        self._settlement_en = frozenset(lexicon["settlement_words_en"])
        self._street = any_of(lexicon["street_words"])
        self._presence = any_of(lexicon["presence_words"])
        self._habitual = any_of(lexicon["habitual_words"])
        self._blame_verbs = any_of(actors["blame_verbs"])
        self._accusation = any_of(actors["accusation_words"])
        self._location_words = any_of(actors["location_words"])
        self._river_words = RIVER_WORDS
        self._targets = [(name, _phrases(ps)) for name, ps in lexicon["targets"].items()]
        self._target_denied = re.compile(r"(?<!\w)(?:" + "|".join(lexicon["target_negations"]) + r")(?:\W+\w+){0,2}\W+$")
        self._weapons = [(name, any_of(ps)) for name, ps in lexicon["weapons"].items()]
        self._units: dict[str, int] = {k: v for k, v in numbers["units"].items()}
        self._tens: dict[str, int] = numbers["tens"]
        self._approx_words: dict[str, int] = numbers["approx_words"]
        self._ordinals: dict[str, int] = numbers["ordinals"]
        self._ordinal_suffixes = frozenset(numbers["ordinal_suffixes"])
        self._scale: dict[str, int] = numbers["scale"]
        self._months: dict[str, int] = numbers["months"]
        self._weekdays: dict[str, int] = numbers["weekdays"]
        self._relative = _phrases(sorted(numbers["relative_days"], key=len, reverse=True))
        self._relative_days: dict[str, int] = numbers["relative_days"]
        self._date_links = frozenset(numbers["date_links"])
        self._cues_seen: dict[str, tuple[int, Kind, int] | None] = {}  # word -> its cue list (or None)
        self._officials_seen: dict[str, Official | None] = {}  # word -> the official it names
        self._actor_words_seen: dict[str, bool] = {}
        self._weapons_seen: dict[str, tuple[str, ...]] = {}
        self._full_names_seen: dict[tuple[str, ...], Official | None] = {}
        # what the rules ask several times of one sentence: kept for the last few hundred sentences
        self._institutions_seen: dict[str, list[tuple[str, Side | None, list[re.Match[str]]]]] = {}
        self._actors_seen: dict[int, tuple[list[Token], dict[bool, list[tuple[int, Side]]]]] = {}
        self._pipelines: dict[str, Any] = {}

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, gazetteer: Gazetteer | None = None, data_dir: Path = DATA_DIR) -> Extractor:
        """Load the gazetteer (from its cache) and the word lists."""
        lexicon = json.loads((data_dir / "lexicon.json").read_text(encoding="utf-8"))
        numbers = json.loads((data_dir / "numbers.json").read_text(encoding="utf-8"))
        officials = [
            Official(tuple(s.strip() for s in row["names"].split("|") if s.strip()), row["claimant"],
                     Side(row["side"]) if row["side"] else None, row["place"] or None, row["oblast"] or None)
            for row in read_tsv_records(data_dir / "officials.tsv")
        ]
        institutions = [
            (re.compile(row["pattern"]), row["claimant"], Side(row["side"]) if row["side"] else None)
            for row in read_tsv_records(data_dir / "institutions.tsv")
        ]
        extractor = cls(gazetteer or Gazetteer.load(), lexicon, numbers, officials, institutions)
        # The index and word lists live as long as the process and hold no cycles to collect: keep the
        # cyclic collector from walking their millions of objects at each full collection (~10 % of
        # extraction time otherwise).
        gc.freeze()
        return extractor

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
        return self._extract(text, posted_at, source, lang, None)

    def explain_claims(self, text: str, *, posted_at: datetime | None = None, source: SourceInfo | None = None,
                       lang: str | None = None) -> list[tuple[Claim, dict[str, Why]]]:
        """The claims of ``extract_claims`` (the same ones), each with where its fields came from:
        field name → ``Why`` (component, rule or word list, the words as written, sentence index)
        for each of place, kind, killed, injured, children_killed, qualifier, controller,
        perpetrator, claimant and date that has a value."""
        traces: list[dict[str, Why]] = []
        claims = self._extract(text, posted_at, source, lang, traces)
        return list(zip(claims, traces))

    def extract_many(self, posts: Iterable[tuple[str, datetime | None, SourceInfo | None, str | None]], *,
                     batch_size: int = 64) -> list[list[Claim]]:
        """``extract_claims`` of many posts, (text, posted_at, source, lang) each, through
        ``nlp.pipe`` per language; the result lists follow the posts' order."""
        docs = [self.make_doc(text, posted_at, source, lang) for text, posted_at, source, lang in posts]
        out: list[list[Claim]] = [[] for _ in docs]
        for language in ("uk", "ru", "en"):
            batch = [(i, doc) for i, doc in enumerate(docs) if doc is not None and doc._.claimwatch_post.lang == language]
            if batch:
                for (i, _), doc in zip(batch, self.nlp(language).pipe((d for _, d in batch), batch_size=batch_size)):
                    out[i] = doc._.claims
        return out

    def nlp(self, lang: str) -> Any:
        """The spaCy pipeline for ``lang`` (``bot.engine.pipeline``), built on first use."""
        nlp = self._pipelines.get(lang)
        if nlp is None:
            from bot.engine.pipeline import build

            nlp = self._pipelines[lang] = build(lang, self)
            gc.freeze()  # its lemmatizer's dictionaries, as the index (see load)
        return nlp

    def make_doc(self, text: str, posted_at: datetime | None = None, source: SourceInfo | None = None,
                 lang: str | None = None, *, explain: bool = False) -> Any:
        """The tokenized Doc of a post, ready for its pipeline (``self.nlp(doc._.claimwatch_post.lang)``),
        or None when the text has no letters. The text is cleaned first (``text.normalize``) and
        cut to ``MAX_TEXT`` characters."""
        from bot.engine.pipeline import PostContext

        clean = normalize(text or "")
        if len(clean) > MAX_TEXT:
            clean = _cut(clean, source, posted_at)
        if not any(ch.isalpha() for ch in clean):
            return None
        language = lang if lang in ("uk", "ru", "en") else guess_language(clean)
        doc = self.nlp(language).make_doc(clean)
        doc._.claimwatch_post = PostContext(clean, language, _post_day(posted_at), source, explain)
        return doc

    def _extract(self, text: str, posted_at: datetime | None, source: SourceInfo | None, lang: str | None,
                 traces: list[dict[str, Why]] | None) -> list[Claim]:
        doc = self.make_doc(text, posted_at, source, lang, explain=traces is not None)
        if doc is None:
            return []
        doc = self.nlp(doc._.claimwatch_post.lang)(doc)
        if traces is not None:
            traces.extend(doc._.claim_traces)
        return doc._.claims

    # ------------------------------------------------------------------ one sentence (the pipeline's components)

    @staticmethod
    def new_facts(view: SentenceView) -> SentenceFacts:
        return SentenceFacts(index=view.index, text=view.text)

    def read_places(self, view: SentenceView, facts: SentenceFacts, lang: str) -> None:
        self._find_places(facts, view.tokens, lang, view.index)

    def read_kinds(self, view: SentenceView, facts: SentenceFacts) -> None:
        """Attack words (with their tier), weapons and targets the sentence names."""
        for pos, tok in enumerate(view.tokens):
            if not tok.is_word:
                continue
            cue = self._cue_of(tok.lower)
            if cue is not None:
                facts.cues.append((pos, cue[1], cue[2]))
                facts.why[("cue", pos)] = Why("kinds", self._cue_keys[cue[0]], tok.text, view.index)
            facts.weapons.update(self._weapons_of(tok.lower))
        lower = view.lower
        for name, pattern in self._targets:
            if any(not self._target_denied.search(lower[max(0, m.start() - 40):m.start()])
                   for m in pattern.finditer(lower)):
                facts.targets.add(name)  # "there was no military target on the square" names none

    def _cue_of(self, word: str) -> tuple[int, Kind, int] | None:
        """The first cue list that reads ``word`` or one of its hyphenated parts ("дронами-камікадзе"):
        (its index, kind, tier)."""
        try:
            return self._cues_seen[word]
        except KeyError:
            pass
        parts = [word] + (word.split("-") if "-" in word else [])
        found = next(((k, kind, tier) for k, (pattern, kind, tier) in enumerate(self._cue_words)
                      if any(pattern.fullmatch(part) for part in parts)), None)
        _bound(self._cues_seen)
        self._cues_seen[word] = found
        return found

    def _weapons_of(self, word: str) -> tuple[str, ...]:
        known = self._weapons_seen.get(word)
        if known is None:
            _bound(self._weapons_seen)
            known = self._weapons_seen[word] = tuple(name for name, pattern in self._weapons if pattern.fullmatch(word))
        return known

    def read_counts(self, view: SentenceView, facts: SentenceFacts) -> None:
        tokens = view.tokens
        self._find_counts(facts, tokens, view.lower)
        if facts.cues and not facts.counts and any(t.is_word and self._habitual.fullmatch(t.lower) for t in tokens):
            facts.cues.clear()  # "місто під постійними обстрілами": a state of things, not an incident
        if any(k is Kind.DRONE for _, k, _ in facts.cues) and any(
                t.is_word and self._footage.fullmatch(t.lower) for t in tokens):
            facts.cues = [c for c in facts.cues if c[1] is not Kind.DRONE]  # "дроны засняли", "video taken from a drone"

    def read_control(self, view: SentenceView, facts: SentenceFacts) -> None:
        self._find_control(facts, view.tokens, view.lower, view.tok_at)

    def read_blame(self, view: SentenceView, facts: SentenceFacts) -> None:
        """The attacker the sentence names (nearest an attack, kill or blame word), else the side
        of the weapons named; blame reported of a party."""
        tokens = view.tokens
        facts.actor_sides = self._actor_sides(tokens)
        kills = [i for i, t in enumerate(tokens) if t.is_word and self._kill.fullmatch(t.lower)]
        blamed = self._perpetrator_at(tokens, [p for p, _, _ in facts.cues] + kills)
        facts.perpetrator = blamed[1] if blamed else None
        if blamed:
            facts.why["perpetrator"] = Why("blame", "lexicon.actors: the party nearest an attack or blame word",
                                           _span(view.text, tokens, blamed[0], blamed[0] + (
                                               blamed[0] + 1 < len(tokens) and tokens[blamed[0] + 1].is_word)),
                                           view.index)
        facts.blamed = facts.perpetrator is not None and any(t.is_word and self._blame.fullmatch(t.lower) for t in tokens)
        if facts.perpetrator is None and facts.cues:
            sides = {self._weapon_side[w] for w in facts.weapons if w in self._weapon_side}
            if len(sides) == 1:
                facts.perpetrator = sides.pop()
                facts.why["perpetrator"] = Why("blame", "lexicon.actors.weapon_sides",
                                               ", ".join(sorted(w for w in facts.weapons if w in self._weapon_side)),
                                               view.index)
        self._find_reported(facts, tokens)

    def read_claimant(self, view: SentenceView, facts: SentenceFacts) -> None:
        self._find_claimant(facts, view.tokens, view.lower)

    def read_date(self, view: SentenceView, facts: SentenceFacts, post_day: date) -> None:
        try:
            facts.date = self._find_date(view.tokens, view.lower, post_day, facts.why, view.text, view.index)
        except (OverflowError, ValueError):  # a post dated at the very edge of the calendar
            facts.date = None

    def assemble(self, text: str, views: Sequence[SentenceView], facts: list[SentenceFacts], post: PostContext,
                 traces: list[dict[str, Why]] | None) -> list[Claim]:
        """The post's claims from its sentences' facts: counts read against the whole post, then
        claims per place and kind, one per claimant."""
        self._resolve_post_counts(facts)
        for f, paragraph in zip(facts, _paragraphs(text, [v.text for v in views])):
            f.paragraph = paragraph
        return self._assemble(facts, post.lang, post.day, post.source, traces)

    @staticmethod
    def _resolve_post_counts(facts: list[SentenceFacts]) -> None:
        """Counts read against the whole post: '… said it has risen to 10' takes the casualty word
        of an earlier sentence; a part of a figure ('ще двоє', 'two more bodies', 'hospitalized 15
        of them') is dropped when the post gives a figure for that field."""
        last_field: str | None = None
        seen: set[str] = set()
        for f in facts:
            for count in f.pending:
                if last_field is not None and not any(c.field == last_field for c in f.counts):
                    count.field = last_field
                    f.counts.append(count)
            if f.fields_named:
                last_field = f.fields_named[-1]
            whole = seen | {c.field for c in f.counts if not c.part}
            f.counts = [c for c in f.counts if not (c.part and c.field in whole)]
            seen |= {c.field for c in f.counts}
        for name in ("killed", "injured"):
            found = [c for f in facts for c in f.counts if c.field == name]
            tallies = [c for c in found if c.subarea and not c.rise]
            if len({c.value for c in tallies}) >= 2 and len(tallies) == len(found):
                # district by district with no total ("у Шевченківському районі – 2, у Солом'янському – 1"):
                # the post gives no toll for the incident
                for f in facts:
                    f.counts = [c for c in f.counts if c.field != name]

    def _find_places(self, facts: SentenceFacts, tokens: list[Token], lang: str, index: int) -> None:
        words = [t.text for t in tokens]
        mentions = self.gazetteer.find_mentions(words, lang)
        if lang == "uk" and any(t.is_capitalized and ("і" in t.lower or "є" in t.lower) for t in tokens):
            # a Russian town in Ukrainian spelling ("Шебекіно"): read it as Russian
            covered = {i for m in mentions for i in range(m.start, m.end)}
            russian = [w.replace("і", "и").replace("є", "е").replace("І", "И").replace("Є", "Е") for w in words]
            for m in self.gazetteer.find_mentions(russian, "ru"):
                if m.place.country == "RU" and m.via == "name" and not covered & set(range(m.start, m.end)):
                    mentions.append(m)
            mentions.sort(key=lambda m: m.start)
        if lang == "en":
            mentions = self._russian_romanized(tokens, mentions)
        for mention in mentions:
            if index == 0 and mention.start == 0 and tokens[0].text.isupper() and len(tokens) > 1 \
                    and tokens[1].text in ("—", "–", "-", ","):
                continue  # a dateline such as "LVIV — ..." names where the reporter is
            if mention.end - mention.start == 1 and mention.via == "name" and tokens[mention.start].is_capitalized \
                    and self._official(tokens[mention.start]) is not None \
                    and not (mention.start > 0 and tokens[mention.start - 1].lower in (
                        "в", "у", "во", "на", "під", "под", "біля", "возле", "около", "из", "з", "із", "від", "от", "до",
                        "in", "near", "from", "село", "селі", "села", "селе", "поселок", "селище", "village")):
                continue  # an official's surname that is also a village ("предложение Суровикина")
            if self._speaker_location(tokens, mention.start, mention.end):
                continue  # "заявили в Москве", "Kyiv said": where a statement came from, not an event
            if mention.end - mention.start == 1 and mention.via == "name" and mention.end < len(tokens) \
                    and self._is_name(tokens[mention.end]) \
                    and not any(p.start == mention.end for p in mentions) \
                    and not self._control.named_town(tokens, mention.start) \
                    and not (mention.end + 1 < len(tokens) and re.fullmatch(
                        r"област\w*|област|народн\w*|oblast|region|республік\w*|республик\w*", tokens[mention.end + 1].lower)):
                continue  # a first name before a surname: "Александра Лапина", "Lyubov Odesa"
            if self._not_event_place(tokens, mention.start, mention.end, mention.via):
                if self._role_place(tokens, mention.start, mention.end):
                    facts.role_places.append((mention.start, mention.place))
                    facts.why.setdefault(("role_place", mention.place.key), Why(
                        "places", f"gazetteer ({mention.via}): the office's place (lexicon.role_words)", mention.surface, index))
                continue
            place = mention.place
            if any(t.is_word and self._near.fullmatch(t.lower) for t in tokens[max(0, mention.start - 3):mention.start]):
                facts.near_keys.add(place.key)
            if place.country == "RU" and place.oblast not in self._near_regions:
                # a far Russian namesake of a Ukrainian town ("Дзержинск" = Toretsk in war news)
                place = next((p for p in mention.candidates if p.country == "UA" and p.level != "oblast"), place)
            if place.level == "oblast":
                facts.oblast_places.append((mention.start, place))
            else:
                facts.places.append((mention.start, place))
            facts.why.setdefault(("place", place.key), Why(
                "places", f"gazetteer ({mention.via}{', a Ukrainian namesake' if place is not mention.place else ''})",
                mention.surface, index))

    def _russian_romanized(self, tokens: list[Token], mentions: list[Any]) -> list[Any]:
        """A Ukrainian village written in English from its Russian name ("the village of Sergeevka"):
        read back into Cyrillic when a settlement word comes right before it."""
        covered = {i for m in mentions for i in range(m.start, m.end)}
        extra = []
        for pos, tok in enumerate(tokens):
            if pos in covered or not tok.is_capitalized or pos == 0 or not tok.text.isascii():
                continue
            before = [t.lower for t in tokens[max(0, pos - 2):pos] if t.is_word]
            if not any(w in self._settlement_en for w in before):
                continue
            word, out = tok.lower, ""
            while word:
                for latin, cyrillic in self._latin_ru:
                    if word.startswith(latin):
                        out, word = out + cyrillic, word[len(latin):]
                        break
                else:
                    word = word[1:]
            towns = [p for p in self.gazetteer.lookup(out.capitalize(), "ru") if p.country == "UA" and p.level != "oblast"]
            regions = {m.place.oblast for m in mentions if m.place.level == "oblast"}
            towns = [p for p in towns if p.oblast in regions] or (towns if len({p.oblast for p in towns}) == 1 else [])
            if towns:
                extra.append(PlaceMention(pos, pos + 1, tok.text, tuple(towns), "alias"))
        return sorted(mentions + extra, key=lambda m: m.start)

    def _not_event_place(self, tokens: list[Token], start: int, end: int, via: str) -> bool:
        """A place word that does not say where it happened: a street ("улица Щорса"), the office in a
        title ("губернатор Белгородской области", "Kyiv Mayor", "глава Чечни"), where someone was
        ("находился в селе Муром", "a press conference in Antalya"), "столицю Росія вбила"."""
        before = [t for t in tokens[max(0, start - 3):start] if t.is_word]
        if before and self._street.fullmatch(before[-1].lower):
            return True
        if self._role_place(tokens, start, end):
            return True
        if any(self._presence.fullmatch(t.lower) for t in tokens[max(0, start - 4):start] if t.is_word):
            return True
        at = end
        if at < len(tokens) and tokens[at].text == "(":  # "Lugansk (Luhansk) People's Republic"
            at = next((i + 1 for i in range(at, min(len(tokens), at + 5)) if tokens[i].text == ")"), at)
        after = [t.lower for t in tokens[at:at + 4] if t.is_word]
        if after and (after[0] in ("people", "people's") or after[0].startswith("народн")) \
                and any(w.startswith(("republic", "республик", "республік")) for w in after):
            return True  # "Донецкой Народной Республики", "Lugansk (Luhansk) People's Republic": a region
        last = tokens[end - 1].lower if end - 1 < len(tokens) else ""
        return via == "capital" and last in ("росія", "россия", "україна", "украина", "russia", "ukraine")

    def _role_place(self, tokens: list[Token], start: int, end: int) -> bool:
        before = [t for t in tokens[max(0, start - 3):start] if t.is_word]
        after = list(itertools.takewhile(lambda t: t.is_word, tokens[end:end + 2]))  # "In Kyiv, Mayor X said": not his title
        if any(self._role.fullmatch(t.lower) for t in before) and not any(self._is_cue(t.lower) for t in before):
            return True
        if before and before[-1].lower in ("в", "у", "во", "на", "під", "под", "біля", "возле", "около", "от", "від", "з",
                                           "із", "из", "с", "до", "к", "за", "near", "from"):
            return False  # "обвинил в поражении в Лимане командующего": where, not whose office
        if end < len(tokens) and tokens[end].text in ("—", "–", "-", ",", ":"):
            return False  # "отошли от Великой Новоселки – спикер ...": the credit, not an office of the town
        return bool(after) and (self._role.fullmatch(after[0].lower) is not None or (
            after[0].lower in ("oblast", "regional", "region", "city") and len(after) > 1
            and self._role.fullmatch(after[1].lower) is not None))

    def _speaker_location(self, tokens: list[Token], start: int, end: int) -> bool:
        before = [t for t in tokens[max(0, start - 2):start]]
        if len(before) == 2 and before[1].lower in ("в", "у", "in", "from", "из", "з", "із") \
                and self._attribution.fullmatch(before[0].lower):
            return True
        after = tokens[end] if end < len(tokens) else None
        if after is not None and after.is_word and self._attribution.fullmatch(after.lower) \
                and not any(t.lower in ("in", "в", "у", "во") for t in tokens[max(0, start - 2):start]):
            return True  # "Kyiv said" (its government); not "officials in Donetsk said" (where they are)
        if after is not None and after.is_capitalized and self._official(after) is not None:
            return True  # a first name before a known surname: "Volodymyr Zelensky"
        return after is not None and after.lower in self._river_words

    def _number_at(self, tokens: list[Token], pos: int) -> tuple[int, int] | None:
        """(value, last token index) of a number starting at ``pos``, or None."""
        tok = tokens[pos]
        prev = tokens[pos - 1] if pos > 0 else None
        nxt = tokens[pos + 1] if pos + 1 < len(tokens) else None
        if tok.kind == "num":
            # times (18:00), ranges (5-7), ordinals (72-го), dates and years are not counts
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
        if word in self._vague or (prev is not None and prev.lower in self._vague):
            return None  # "dozens", "several dozen", "кілька десятків": no figure to report
        if "-" in word:  # "twenty-three"
            head, _, tail = word.partition("-")
            if head in self._tens and tail in self._units and self._units[tail] < 10:
                return self._tens[head] + self._units[tail], pos
            return None
        if word in self._approx_words:
            return self._approx_words[word], pos
        if word in self._tens:
            value = self._tens[word]
            end = pos
            if nxt is not None and nxt.lower in self._units and self._units[nxt.lower] < 10:
                value += self._units[nxt.lower]
                end = pos + 1
            return value, end
        if word in self._units:
            value = self._units[word]
            if value == 1:
                if nxt is not None and nxt.lower in self._of_words:
                    return None  # "one of the buildings", "одним из погибших"
                if prev is not None and prev.lower in ("no", "not", "ні", "ни", "жоден", "жодна"):
                    return None  # "no one", "ни один"
                if prev is not None and prev.lower in self._increment:
                    return None  # "ще один потерпілий помер": one more victim, not the toll
            return value, pos
        if word == "a" and nxt is not None and nxt.lower == "dozen":
            return 12, pos + 1
        return None

    def _qualifier_before(self, tokens: list[Token], pos: int) -> tuple[Qualifier | None, int]:
        """The qualifier words right before a number, and where they start.

        None for an upper bound ("up to 20", "до 20"), which is not encoded; "до" after a toll
        verb ("зросла до 20") is not a bound and gives ``exact``.
        """
        for words in self._upper:
            n = len(words)
            if pos - n >= 0 and tuple(t.lower for t in tokens[pos - n:pos]) == words:
                return (Qualifier.EXACT if self._toll_verb_before(tokens, pos - n + 1) else None), pos - n
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

    def _find_counts(self, facts: SentenceFacts, tokens: list[Token], lower: str = "") -> None:
        pos = 0
        military_seen = False  # after "знищено 200 окупантів", "ще 300 поранені" are soldiers too
        children_group = False  # a number of children was just given ("поранено п'ятеро дітей, троє з них загинули")
        while pos < len(tokens):
            number = self._number_at(tokens, pos)
            if number is None:
                pos += 1
                continue
            value, last = number
            qualifier, qstart = self._qualifier_before(tokens, pos)
            if qualifier is None:  # "up to N": no figure
                pos = last + 1
                continue
            field_, military, children, at = self._bind_right(tokens, last)
            rule = f"lexicon.{'kill' if field_ == 'killed' else 'injure'}_words (after the number)"
            if field_ == "injured" and not children and self._dies_after(tokens, last):
                field_ = "killed"  # "одна постраждала … померла": an injured person who died
                rule = "lexicon.injure_words + lexicon.die_verbs (an injured person who died)"
            rise = False
            if field_ is None and not children:
                field_, left_military, at = self._bind_left(tokens, qstart)
                military = military or left_military
                rule = f"lexicon.{'kill' if field_ == 'killed' else 'injure'}_words (before the number)"
            verb_at = self._toll_verb_at(tokens, qstart)
            if field_ is None and not children and verb_at is not None:
                # "кількість загиблих … зросла до 20", "raising the death toll … to 13"
                rise = True
                at, rule = verb_at, "lexicon.toll_verbs (field: the casualty word before it)"
                field_ = self._field_left(tokens, qstart)
                if field_ is None and any(t.lower in self._death_toll for t in tokens[:qstart]):
                    field_ = "killed"  # "the toll from Monday's strike rose to 26"
                    rule = "lexicon.toll_verbs + lexicon.death_toll_words"
                if field_ is None and self._toll_subject_before(tokens, qstart):
                    facts.pending.append(Count("", value, qualifier, pos, rise=True, why=Why(
                        "counts", "lexicon.toll_verbs + lexicon.toll_subjects (field: an earlier sentence's casualty word)",
                        _span(facts.text, tokens, verb_at, last), facts.index)))
            elif field_ is not None and verb_at is not None:
                rise = True
                rule, at = "lexicon.toll_verbs + " + rule, min(at if at is not None else verb_at, verb_at)
            elif field_ is None and not children and (last + 1 == len(tokens) or tokens[last + 1].kind == "punct") \
                    and any(t.is_word and self._earlier.fullmatch(t.lower) for t in tokens[:pos]):
                # "Earlier reports had indicated 14.": an earlier figure of the toll named before
                facts.pending.append(Count("", value, qualifier, pos, earlier=True, quoted_earlier=True, why=Why(
                    "counts", "lexicon.earlier_words (an earlier figure of a toll named before)",
                    _span(facts.text, tokens, qstart, last), facts.index)))
            if children and field_ is None:
                left_field, _, left_at = self._bind_left(tokens, qstart)
                if left_field == "injured":
                    field_ = "injured"  # "постраждали п'ятеро дітей"
                    at, rule = left_at, "lexicon.injure_words + lexicon.child_words"
            if children and field_ is None and self._clause_has(tokens, pos, "killed"):
                field_ = "killed"  # "Росія вбила у Києві двох дітей"
                facts.children_killed, facts.children_pos = value, pos
                facts.why["children"] = Why("counts", "lexicon.child_words + lexicon.kill_words in the clause",
                                            _span(facts.text, tokens, qstart, min(last + 1, len(tokens) - 1)), facts.index)
                pos = last + 1
                continue
            words = _span(facts.text, tokens, min(qstart, at if at is not None else qstart),
                          max(last, at if at is not None else last))
            military_seen = military_seen or military
            if military_seen and not military and not self._civilian_near(tokens, qstart, last):
                military = True
            if field_ is not None and not military:
                of_group = self._is_part(tokens, qstart, last, increment=False)
                among = children and any(t.is_word and self._include.fullmatch(t.lower) for t in tokens[last + 1:last + 5])
                if children and field_ == "killed":
                    facts.children_killed, facts.children_pos = value, pos
                    facts.why["children"] = Why("counts", "lexicon.child_words + " + rule, words, facts.index)
                    if among:  # "7 children among the dead": a part of a toll given elsewhere or not at all
                        facts.children_only = not any(c.field == "killed" for c in facts.counts)
                        children_group = children
                        pos = last + 1
                        continue
                elif field_ == "killed" and children_group and (of_group or self._bare_before_field(tokens, last)):
                    # "поранено п'ятеро дітей, троє з них загинули", "постраждали п'ятеро дітей, троє – загинули"
                    facts.children_killed, facts.children_pos = value, pos
                    facts.why["children"] = Why("counts", "the children just counted + " + rule, words, facts.index)
                if not children or not any(c.field == field_ for c in facts.counts):
                    increment = not any(c.field != field_ for c in facts.counts)
                    facts.counts.append(Count(field_, value, qualifier, pos, earlier=self._earlier_before(tokens, pos),
                                              rise=rise, part=of_group or self._is_part(tokens, qstart, last, increment),
                                              quoted_earlier=any(t.is_word and self._earlier.fullmatch(t.lower)
                                                                 for t in tokens[:pos]),
                                              subarea=self._clause_names_subarea(tokens, pos),
                                              why=Why("counts", rule, words, facts.index),
                                              qualifier_why=self._qualifier_why(facts, tokens, qualifier, qstart, pos)))
            children_group = children
            pos = last + 1
        self._find_ordinal_toll(facts, tokens)
        self._find_children(facts, tokens)
        unclear = self._unclear_toll.search(lower)
        if unclear:
            # "bodies recovered, but it is not yet clear whether the death toll has risen": no toll
            # (a figure after it still counts: "число жертв устанавливается, но известно о 20 погибших")
            facts.counts = [c for c in facts.counts if c.field != "killed" or tokens[c.pos].start > unclear.start()]
        zero = self._zero_both.search(lower)
        if zero:
            facts.zero_killed = facts.zero_injured = True
            facts.why["zero_killed"] = facts.why["zero_injured"] = Why(
                "counts", "lexicon.zero_phrases.both", facts.text[zero.start():zero.end()], facts.index)
        elif zero := self._zero_killed.search(lower):
            facts.zero_killed = True
            facts.why["zero_killed"] = Why("counts", "lexicon.zero_phrases.killed", facts.text[zero.start():zero.end()],
                                           facts.index)
        if zero := self._zero_injured.search(lower):
            facts.zero_injured = True
            facts.why["zero_injured"] = Why("counts", "lexicon.zero_phrases.injured", facts.text[zero.start():zero.end()],
                                            facts.index)
        facts.fields_named = [f for f in (self._field_of(t) for t in tokens) if f]

    @staticmethod
    def _qualifier_why(facts: SentenceFacts, tokens: list[Token], qualifier: Qualifier, qstart: int, pos: int) -> Why:
        """Where a count's qualifier came from: the words before the number, or none (exact)."""
        if qstart == pos:
            return Why("counts", "no qualifier word before the number: exact", "", facts.index)
        rule = "lexicon.upper_bounds after a toll verb: exact" if qualifier is Qualifier.EXACT \
            else f"lexicon.qualifiers.{qualifier.value}"
        return Why("counts", rule, _span(facts.text, tokens, qstart, pos - 1), facts.index)

    def _is_part(self, tokens: list[Token], start: int, last: int, increment: bool = True) -> bool:
        """'ще двоє', 'another 3', 'two more', '15 of them', 'з них 4': a part of another figure.

        After a figure of the other field, "ще/еще 20" adds to the post ("погибли 10, еще 20 ранены"):
        with ``increment`` False the more-words do not make a part.
        """
        before = tuple(t.lower for t in tokens[max(0, start - 3):start])
        after = tuple(t.lower for t in tokens[last + 1:last + 4])
        if increment and before[-1:] and before[-1] in self._increment:
            return True
        if increment and after[:1] and after[0] in self._more_words:
            return True
        return any(before[-len(w):] == w for w in self._part_before) or any(after[:len(w)] == w for w in self._part_after)

    def _bare_before_field(self, tokens: list[Token], last: int) -> bool:
        """A number followed by its casualty word with no noun of its own ("троє – загинули")."""
        for tok in tokens[last + 1:last + 4]:
            if self._field_of(tok):
                return True
            if tok.is_word and tok.lower not in ("were", "was", "have", "has", "had", "later", "згодом", "потім", "позже"):
                return False
        return False

    def _clause_names_subarea(self, tokens: list[Token], pos: int) -> bool:
        """The part of the sentence around the number (up to a semicolon) names a district."""
        left = pos
        while left > 0 and tokens[left - 1].text != ";":
            left -= 1
        right = pos
        while right + 1 < len(tokens) and tokens[right + 1].text != ";":
            right += 1
        return any(t.is_word and self._subarea.fullmatch(t.lower) for t in tokens[left:right + 1])

    def _civilian_near(self, tokens: list[Token], start: int, last: int) -> bool:
        """A civilian noun beside the number ("12 мирних жителів", "civilians")."""
        return any(t.is_word and self._civilian.fullmatch(t.lower) for t in tokens[max(0, start - 2):last + 4])

    def _toll_verb_before(self, tokens: list[Token], start: int) -> bool:
        """A toll verb before the number: right before it ("достигло 24", "стали 23"), or before the
        preposition in front of it, up to a dozen words back ("raising the death toll … to 13")."""
        return self._toll_verb_at(tokens, start) is not None

    def _toll_verb_at(self, tokens: list[Token], start: int) -> int | None:
        """Where the toll verb of ``_toll_verb_before`` is, or None."""
        j = start - 1
        while j >= 0 and tokens[j].is_word and self._left_fillers.fullmatch(tokens[j].lower) \
                and tokens[j].lower not in self._toll_preps and not self._toll_verbs.fullmatch(tokens[j].lower):
            j -= 1
        if j < 0:
            return None
        if tokens[j].is_word and self._toll_verbs.fullmatch(tokens[j].lower):
            return j
        if tokens[j].lower not in self._toll_preps:
            return None
        for k in range(j - 1, max(-1, j - 13), -1):
            tok = tokens[k]
            if tok.kind == "punct" and tok.text not in (",", "'", '"', "«", "»"):
                return None
            if tok.is_word and self._toll_verbs.fullmatch(tok.lower):
                return k
        return None

    def _toll_subject_before(self, tokens: list[Token], start: int) -> bool:
        """'it has risen to 10', 'цифра зросла до 10': a toll named by a pronoun or a bare noun."""
        return any(t.lower in self._toll_subjects for t in tokens[max(0, start - 6):start])

    def _field_left(self, tokens: list[Token], start: int) -> str | None:
        """The casualty word nearest before a toll in its sentence ("кількість загиблих … зросла до")."""
        for j in range(start - 1, -1, -1):
            tok = tokens[j]
            if tok.text in (";",):
                return None
            field_ = self._field_of(tok)
            if field_:
                if self._military_after(tokens, j) or (j + 1 < len(tokens) and self._military.fullmatch(tokens[j + 1].lower)):
                    return None
                return field_
        return None

    def _earlier_before(self, tokens: list[Token], pos: int) -> bool:
        """'initially gave a death toll of six', 'ранее сообщалось о 12 погибших': an earlier figure."""
        for j in range(pos - 1, max(-1, pos - 10), -1):
            tok = tokens[j]
            if tok.kind == "punct" and tok.text in (",", ";", ":"):
                return False
            if tok.is_word and self._earlier.fullmatch(tok.lower):
                return True
        return False

    def _dies_after(self, tokens: list[Token], last: int) -> bool:
        """A 'died' verb later in the sentence, before any other number."""
        for j in range(last + 1, len(tokens)):
            tok = tokens[j]
            if tok.kind == "num" or (tok.is_word and (tok.lower in self._units or tok.lower in self._tens)):
                return False
            if tok.is_word and self._die.fullmatch(tok.lower):
                return True
        return False

    def _clause_has(self, tokens: list[Token], pos: int, field_: str) -> bool:
        """The clause around ``pos`` (between commas, semicolons, colons) names that field and not the other."""
        left = pos
        while left > 0 and tokens[left - 1].text not in (",", ";", ":", "(", ")"):
            left -= 1
        right = pos
        while right + 1 < len(tokens) and tokens[right + 1].text not in (",", ";", ":", "(", ")"):
            right += 1
        fields = {self._field_of(t) for t in tokens[left:right + 1]}
        return field_ in fields and len(fields - {None}) == 1

    def _bind_right(self, tokens: list[Token], last: int) -> tuple[str | None, bool, bool, int | None]:
        """Field of a cue following the number (``5 people were killed``), military, children, and
        where the cue is.

        An inserted phrase is skipped: "46 people, including 7 rescuers, suffered injuries".
        """
        military = children = False
        skipped = 0
        j = last + 1
        steps = 0
        while j < len(tokens) and steps < COUNT_WINDOW + 2:
            tok = tokens[j]
            steps += 1
            field_ = self._field_of(tok)
            if field_:
                return field_, military, children, j
            if tok.kind == "punct":
                if tok.text in ("–", "—", "-"):
                    j += 1
                    continue
                inserted = self._inserted_phrase_end(tokens, j)
                if inserted is not None:
                    j = inserted + 1
                    continue
                return None, military, children, None
            if tok.kind == "num" or self._stop.fullmatch(tok.lower):
                return None, military, children, None
            if self._military.fullmatch(tok.lower):
                military = True
            elif self._child.fullmatch(tok.lower):
                children = True
            elif not self._fillers.fullmatch(tok.lower):
                skipped += 1
                if skipped > 2:
                    return None, military, children, None
            j += 1
        return None, military, children, None

    def _inserted_phrase_end(self, tokens: list[Token], j: int) -> int | None:
        """At a comma or bracket that opens an inserted phrase (", including …,", "(…)"), the index of
        the mark that closes it."""
        opener = tokens[j].text
        if opener == "(":
            closer = (")",)
        elif opener == "," and any(t.is_word and self._include.fullmatch(t.lower) for t in tokens[j + 1:j + 4]):
            closer = (",",)
        else:
            return None
        for k in range(j + 1, min(len(tokens), j + 20)):
            if tokens[k].text in closer:
                return k
            if tokens[k].text in (";", ".", ":"):
                return None
        return None

    def _bind_left(self, tokens: list[Token], start: int) -> tuple[str | None, bool, int | None]:
        """Field of a cue before the number (``загинули 10 людей``, ``death toll rose to 10``), and
        where the cue is.

        A parenthetical between them is skipped: "погибли, по последним данным, 19 человек".
        """
        j = start - 1
        steps = 0
        while j >= 0 and steps < COUNT_WINDOW + 2:
            steps += 1
            tok = tokens[j]
            paren = self._parenthetical_ending(tokens, j)
            if paren is not None:
                j = paren - 1
                continue
            field_ = self._field_of(tok)
            if field_:
                # "killing 7 people ... injuring 24": the cue must not belong to an earlier number
                return field_, self._military_after(tokens, start), j
            if tok.kind == "punct" and tok.text not in (",", "–", "—", "-", ":"):
                return None, False, None
            if tok.kind == "num":
                return None, False, None
            if tok.is_word and not (self._left_fillers.fullmatch(tok.lower) or self._fillers.fullmatch(tok.lower)):
                return None, False, None
            j -= 1
        return None, False, None

    def _parenthetical_ending(self, tokens: list[Token], j: int) -> int | None:
        """Start index of a parenthetical phrase ("по последним данным") ending at ``j``."""
        for words in self._parentheticals_by_end.get(tokens[j].lower, ()) if 0 <= j < len(tokens) else ():
            n = len(words)
            if j - n + 1 >= 0 and tuple(t.lower for t in tokens[j - n + 1:j + 1]) == words:
                return j - n + 1
        return None

    def _military_after(self, tokens: list[Token], start: int) -> bool:
        for tok in tokens[start + 1:start + 4]:
            if tok.is_word and self._military.fullmatch(tok.lower):
                return True
        return False

    def _find_ordinal_toll(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """'це третя людина, яка загинула', 'this is the fifth victim': the toll is that number."""
        if any(c.field == "killed" for c in facts.counts):
            return
        for pos, tok in enumerate(tokens):
            value, end = (self._ordinals.get(tok.lower), pos) if tok.is_word else self._digit_ordinal(tokens, pos)
            if value is None:
                continue
            for j in range(end + 1, min(len(tokens), end + 3)):
                word = tokens[j].lower
                if self._victim.fullmatch(word) or (self._person.fullmatch(word) and any(
                        self._field_of(t) == "killed" for t in tokens[j + 1:j + 6])):
                    facts.counts.append(Count("killed", value, Qualifier.EXACT, pos, why=Why(
                        "counts", "numbers.ordinals + lexicon.victim_words/person_words (the Nth victim)",
                        _span(facts.text, tokens, pos, j), facts.index)))
                    return

    def _digit_ordinal(self, tokens: list[Token], pos: int) -> tuple[int | None, int]:
        """'13th', '13-та', '13-я': an ordinal in digits, and its last token."""
        tok = tokens[pos]
        if tok.kind != "num" or not tok.text.isdigit():
            return None, pos
        nxt = tokens[pos + 1] if pos + 1 < len(tokens) else None
        if nxt is not None and nxt.start == tok.end and nxt.lower in self._ordinal_suffixes:
            return int(tok.text), pos + 1
        if nxt is not None and nxt.text == "-" and nxt.start == tok.end and pos + 2 < len(tokens) \
                and tokens[pos + 2].lower in self._ordinal_suffixes:
            return int(tok.text), pos + 2
        return None, pos

    def _find_children(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """'including two children' after a death count; 'the deaths included three children';
        'загинув 12-річний хлопчик' (one child named among the dead)."""
        for pos, tok in enumerate(tokens):
            one_of = tok.lower in self._of_words and pos > 0 and self._units.get(tokens[pos - 1].lower) == 1
            if not (tok.is_word and (self._include.fullmatch(tok.lower) or one_of)):
                continue  # "серед них", "including", "одним из погибших был несовершеннолетний"
            window = tokens[pos + 1:pos + 17]
            n_children = None
            for k, item in enumerate(window):
                if item.kind == "punct" and item.text in (",", ";", "."):
                    break
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
            if target == "killed" and facts.children_killed is None:
                facts.children_killed, facts.children_pos = n_children, pos
                facts.why["children"] = Why("counts", "lexicon.include_words + lexicon.child_words",
                                            _span(facts.text, tokens, pos, pos + 1 + k), facts.index)
                facts.children_only = not before  # "среди погибших есть ребенок" gives no toll
        if facts.children_killed is not None:
            return
        for pos, tok in enumerate(tokens):
            if not (tok.is_word and tok.lower in self._child_singular):
                continue
            if pos > 0 and self._number_at(tokens, pos - 1) is not None:
                continue
            found = self._child_killed(tokens, pos)
            if found:
                facts.children_killed, facts.children_pos = 1, pos
                facts.why["children"] = Why("counts", "lexicon.child_singular + lexicon.kill_words", tok.text, facts.index)
                facts.children_only = found == "among"  # "a child was among those killed": no toll
                return

    def _child_killed(self, tokens: list[Token], pos: int) -> str | None:
        """A death word right before or after a child named alone ('загинув 12-річний хлопчик', 'a
        14-year-old girl was killed', 'a child was among those killed'), past age words and fillers
        only: "alone", or "among" when the child is named as one of the dead."""
        for step in (-1, 1):
            j = pos + step
            while 0 <= j < len(tokens) and abs(j - pos) <= 10:
                tok = tokens[j]
                field_ = self._field_of(tok)
                if field_:
                    if field_ == "killed" and not self._clause_has(tokens, pos, "injured"):
                        crossed = tokens[min(j, pos):max(j, pos)]
                        return "among" if any(t.lower in ("among", "серед", "среди") for t in crossed) else "alone"
                    break
                if tok.kind == "num" or tok.text == "-" or (tok.is_word and (
                        self._age_word.fullmatch(tok.lower) or self._fillers.fullmatch(tok.lower) or tok.lower == "a"
                        or tok.lower in self._child_links or self._person.fullmatch(tok.lower)
                        or tok.lower in self._units)) \
                        or tok.text in self._child_links:  # "двое погибших – мужчина и 16-летний подросток"
                    j += step
                    continue
                break
        return None

    def _actor_sides(self, tokens: list[Token]) -> list[Side]:
        sides = []
        for _, side in self._actors(tokens, agents_only=True):
            sides.append(side)
        return sides

    def _actors(self, tokens: list[Token], *, agents_only: bool) -> list[tuple[int, Side]]:
        """Positions of attacking or holding parties: 'Russian troops', 'окупанти', 'ЗСУ', 'Kremlin',
        'російського удару' (a side's adjective before an attack word), 'войска России', 'киевский режим'.

        With ``agents_only`` False, bare country names count too (used for control statements).
        Several rules ask of the same sentence: its answers are kept while the sentence is read.
        """
        held, answers = self._actors_seen.get(id(tokens), (None, {}))
        if held is not tokens:
            _bound(self._actors_seen, 256)
            answers = {}
            self._actors_seen[id(tokens)] = (tokens, answers)
        if agents_only not in answers:
            answers[agents_only] = self._find_actors(tokens, agents_only)
        return list(answers[agents_only])

    def _find_actors(self, tokens: list[Token], agents_only: bool) -> list[tuple[int, Side]]:
        found: list[tuple[int, Side]] = []
        for pos, tok in enumerate(tokens):
            if not tok.is_word:
                continue
            word = tok.lower
            if not self._may_be_actor(word):
                continue
            if self._ru_agent.fullmatch(word):
                found.append((pos, Side.RUSSIA))
                continue
            if self._ua_agent.fullmatch(word):
                found.append((pos, Side.UKRAINE))
                continue
            if self._force.fullmatch(word):
                # a force named with its country after it: "войска России", "forces of Ukraine"
                nxt = [t for t in tokens[pos + 1:pos + 3] if t.is_word and t.lower not in ("of", "the")][:1]
                if nxt and (nxt[0].is_capitalized or nxt[0].lower == "рф") \
                        and (self._ru_adj.fullmatch(nxt[0].lower) or self._ua_adj.fullmatch(nxt[0].lower)):
                    found.append((pos, Side.RUSSIA if self._ru_adj.fullmatch(nxt[0].lower) else Side.UKRAINE))
                    continue
            side = Side.RUSSIA if self._ru_adj.fullmatch(word) else Side.UKRAINE if self._ua_adj.fullmatch(word) else None
            if side is None:
                continue
            nxt = [t for t in tokens[pos + 1:pos + 4] if t.is_word][:3]
            if any(self._force.fullmatch(t.lower) or self._is_cue(t.lower) for t in nxt[:2]) \
                    or (nxt and nxt[0].lower in ("'s", "’s") and any(self._force.fullmatch(t.lower) for t in nxt[1:3])):
                found.append((pos, side))
            elif not agents_only and tok.is_capitalized and word in ("russia", "россия", "росія", "moscow", "москва",
                                                                      "москве", "москві", "kremlin", "ukraine"):
                found.append((pos, side))
        sentence = " ".join(t.lower for t in tokens)
        offsets = []
        at = 0
        for t in tokens:
            offsets.append(at)
            at += len(t.lower) + 1
        for pattern, side in self._side_phrases:
            for m in pattern.finditer(sentence):
                pos = max(0, bisect.bisect_right(offsets, m.start()) - 1)
                if not any(p == pos for p, _ in found):
                    found.append((pos, side))
        return sorted(found)

    def _may_be_actor(self, word: str) -> bool:
        """Whether ``word`` is in any list ``_find_actors`` reads word by word (most words are not)."""
        known = self._actor_words_seen.get(word)
        if known is None:
            _bound(self._actor_words_seen)
            known = self._actor_words_seen[word] = any(
                p.fullmatch(word) for p in (self._ru_agent, self._ua_agent, self._force, self._ru_adj, self._ua_adj))
        return known

    def _is_cue(self, word: str) -> bool:
        return any(pattern.fullmatch(word) for pattern, _, _ in self._cue_words)

    def _perpetrator_at(self, tokens: list[Token], cue_positions: list[int]) -> tuple[int, Side] | None:
        """The party the sentence says carried out the attack: the actor nearest an attack or blame
        word, leaving out actors that are denied ("российских военных не было") or hedged ("якобы")."""
        anchors = list(cue_positions) + [i for i, t in enumerate(tokens) if t.is_word and self._blame.fullmatch(t.lower)]
        actors = [a for a in self._actors(tokens, agents_only=True)
                  if not self._disowned(tokens, a[0]) and not self._is_speaker(tokens, a[0])]
        if not actors:
            return None
        verbs = [i for i, t in enumerate(tokens) if t.is_word and self._blame_verbs.fullmatch(t.lower)]
        subjects = [a for a in actors if any(a[0] < v for v in verbs)]  # "киевский режим пытается уничтожить"
        if not anchors:
            anchors, actors = verbs, subjects
        if not actors:
            return None
        return min(actors, key=lambda a: min(abs(a[0] - c) for c in anchors))

    def _find_reported(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """Blame the sentence reports of a party: "the Ukrainian side is accusing Russian troops of
        attacking", "звинувачення росіян в обстрілі Силами оборони", "фейк о «российской бомбёжке»",
        "звинуватила ЗСУ", "отвергли причастность российских военных". The accused is the first party
        named after the word (the second, when the first is the accuser's genitive); the accuser is
        the party named before it or after it, else the accused's opponent."""
        actors = [a for a in self._actors(tokens, agents_only=True) if not self._is_speaker(tokens, a[0])]
        sides = self._actors(tokens, agents_only=False)
        for pos, tok in enumerate(tokens):
            if not (tok.is_word and self._accusation.fullmatch(tok.lower)):
                continue
            after = [a for a in actors if pos < a[0] <= pos + 10]
            if not after:
                continue
            if len(after) > 1 and after[0][1] != after[1][1]:
                accuser, accused = after[0][1], after[1][1]
            else:
                accused = after[0][1]
                before = [a for a in sides if pos - 4 <= a[0] < pos and a[1] is not accused]
                accuser = before[-1][1] if before else (Side.UKRAINE if accused is Side.RUSSIA else Side.RUSSIA)
            if accuser is accused:
                continue
            if not any(c[0] > pos for c in facts.cues) and not any(
                    t.is_word and (self._kill.fullmatch(t.lower) or self._blame_verbs.fullmatch(t.lower))
                    for t in tokens[pos + 1:]):
                continue  # blamed for something that is not an attack ("обвинил ... в том, что войска оставили")
            kind = min((c for c in facts.cues if c[0] > pos), key=lambda c: (c[2], c[0]), default=None)
            facts.reported.append((accuser, accused, kind[1] if kind else Kind.STRIKE))
            facts.why["reported_kind"] = facts.why.get(("cue", kind[0]), Why("kinds", "?")) if kind else Why(
                "blame", "an accusation naming no attack word: strike", tok.text, facts.index)
            facts.why["reported"] = Why("blame", "lexicon.actors.accusation_words (blame reported of a party)",
                                        _span(facts.text, tokens, pos, after[-1][0] if len(after) > 1 else after[0][0]),
                                        facts.index)
            facts.perpetrator = None  # the blame is the other party's word, not the speaker's
            return

    def _is_speaker(self, tokens: list[Token], pos: int) -> bool:
        """A party named as the one that speaks, not the one that strikes: "Russia's Emergency
        Situations Ministry", "Минобороны", "Ukrainian authorities", "Russian state-run news agency"."""
        if self._speaker_nouns.fullmatch(tokens[pos].lower):
            return True
        nxt = [t for t in tokens[pos + 1:pos + 5] if t.is_word and t.lower not in ("'s", "’s")][:3]
        prev = [t for t in tokens[max(0, pos - 3):pos] if t.is_word][-2:] if tokens[pos].lower in (
            "рф", "россии", "росії", "russia", "украины", "україни", "ukraine") else []  # "Минобороны РФ"
        return any(self._speaker_nouns.fullmatch(t.lower) for t in nxt + prev)

    def _disowned(self, tokens: list[Token], pos: int) -> bool:
        """An actor under a negation or a hedge: "не авиаударом российской авиации", "allegedly by
        Russian aircraft", "Russian forces do not work for civilian purposes"; a country as a place:
        "на території РФ", "in Russia"."""
        if pos > 0 and tokens[pos - 1].is_word and self._location_words.fullmatch(tokens[pos - 1].lower) \
                and tokens[pos].lower in ("рф", "росії", "россии", "russia", "україни", "украины", "ukraine"):
            return True
        for tok in tokens[max(0, pos - 3):pos]:
            if tok.is_word and (self._negations.fullmatch(tok.lower) or self._hedges.fullmatch(tok.lower)):
                return True
        for tok in tokens[pos + 1:pos + 12]:
            if tok.kind == "punct" and tok.text in (",", ";", ":", ".", "—", "–"):
                break
            if tok.is_word and self._negations.fullmatch(tok.lower):
                return True
        return False

    def _find_control(self, facts: SentenceFacts, tokens: list[Token], lower: str, tok_at: Any) -> None:
        """Control statements of the sentence (``control.ControlReader``), with the officials and
        bodies named next to them; their controllers are settled per post in ``_control_drafts``."""
        speakers: list[tuple[int, str, Side | None]] = []
        dependent = False
        for pos, tok in enumerate(tokens):
            if tok.is_capitalized:
                off = self._official(tok)
                if off is not None:
                    if self._control.is_dependent(tokens, pos):
                        dependent = True  # "an adviser to President Zelensky said": not Zelensky
                        continue
                    speakers.append((pos, off.claimant, off.side))
                    facts.why.setdefault(("speaker", off.claimant, pos), Why(
                        "claimant", f"officials.tsv row '{off.claimant}', named by a control statement", tok.text, facts.index))
        for claimant, side, matches in self._institutions_in(lower):
            for m in matches:
                speakers.append((tok_at(m.start()), claimant, side))
                facts.why.setdefault(("speaker", claimant, tok_at(m.start())), Why(
                    "claimant", f"institutions.tsv row '{claimant}', named by a control statement",
                    facts.text[m.start():m.end()], facts.index))
        hits = self._control.read(tokens, lower, tok_at, self._actors(tokens, agents_only=False), sorted(speakers),
                                  speaker_unknown=dependent and not speakers)
        facts.control_hits = hits
        if hits:
            facts.control_places = [(pos, place, self._control.named_town(tokens, pos)) for pos, place in facts.places
                                    if not self._control.river_bank(tokens, pos)]
        for hit in hits:
            controller = resolve_controller(hit, hit.claimant_side)
            if controller is None:
                facts.control_guessed.add(len(facts.control))
            facts.control.append((hit.pos, controller or hit.default or Side.RUSSIA))

    def _institutions_in(self, lower: str) -> list[tuple[str, Side | None, list[re.Match[str]]]]:
        """The bodies (institutions.tsv) a sentence names: (claimant, side, matches) per row that
        matches, in the file's order; kept while the sentence is read."""
        found = self._institutions_seen.get(lower)
        if found is None:
            _bound(self._institutions_seen, 256)
            found = self._institutions_seen[lower] = [
                (claimant, side, matches) for pattern, claimant, side in self.institutions
                if (matches := list(pattern.finditer(lower)))]
        return found

    def _official(self, tok: Token) -> Official | None:
        """The official whose surname this capitalized token is (any case ending up to 3 letters)."""
        word = tok.lower
        if word not in self._officials_seen:
            _bound(self._officials_seen)
            self._officials_seen[word] = next(
                (off for off in self.officials for stem in off.stems
                 if " " not in stem and word.startswith(stem) and len(word) - len(stem) <= 3), None)
        return self._officials_seen[word]

    def _official_at(self, tokens: list[Token], pos: int) -> Official | None:
        """The official named at ``pos``: a full name first ("Ivan Fedorov", "Іван Федоров"), then a
        surname alone."""
        near = tuple(t.lower for t in tokens[max(0, pos - 1):pos + 2] if t.is_capitalized)
        if near not in self._full_names_seen:
            _bound(self._full_names_seen)
            self._full_names_seen[near] = next(
                (off for off in self.officials for stem in off.stems
                 if " " in stem and all(any(w.startswith(part) and len(w) - len(part) <= 3 for w in near)
                                        for part in stem.split())), None)
        return self._full_names_seen[near] or self._official(tokens[pos])

    def _claimant_candidates(self, facts: SentenceFacts, tokens: list[Token],
                             lower: str) -> list[tuple[int, str, str, Side | None, str | None, bool, Why]]:
        """Who the sentence may credit: (position, key, label, side, home place, person, what matched)
        of known officials, of people named with a role ("голова ОВА Іван Петренко", "Ivan Petrenko,
        the governor"), and of bodies (institutions.tsv)."""
        found: list[tuple[int, str, str, Side | None, str | None, bool, Why]] = []
        taken: set[int] = set()
        for pos, tok in enumerate(tokens):
            if tok.is_capitalized:
                off = self._official_at(tokens, pos)
                if off is not None:
                    found.append((pos, off.claimant, off.claimant, off.side, off.place, True,
                                  Why("claimant", f"officials.tsv row '{off.claimant}'", tok.text, facts.index)))
                    taken.update((pos - 1, pos, pos + 1))
        place_starts = {p for p, _ in facts.places} | {p for p, _ in facts.oblast_places}
        starts = [t.start for t in tokens]
        bodies: set[int] = set()  # tokens inside a body's name ("Минобороны России") are no person's
        for _, _, matches in self._institutions_in(lower):
            for m in matches:
                first_tok = max(0, bisect.bisect_right(starts, m.start()) - 1)
                last_tok = max(0, bisect.bisect_right(starts, m.end() - 1) - 1)
                bodies.update(range(first_tok, last_tok + 1))
        for pos in range(len(tokens) - 1):
            first, last = tokens[pos], tokens[pos + 1]
            if pos in taken or pos + 1 in taken or pos in place_starts or pos + 1 in place_starts \
                    or pos in bodies or pos + 1 in bodies:
                continue
            if not (self._is_name(first) and self._is_name(last)) or last.lower.endswith(_PATRONYMIC):
                continue
            prev = tokens[pos - 1] if pos > 0 else None
            if prev is not None and prev.lower in ("of", "and", "for", "&") and pos > 1 and tokens[pos - 2].is_capitalized:
                continue  # inside a body's name: "Service of Special Communications and Information Protection"
            if pos + 2 < len(tokens) and self._is_name(tokens[pos + 2]):
                continue
            before = tokens[max(0, pos - 8):pos]
            after = tokens[pos + 2:pos + 6]
            if pos > 0 and tokens[pos - 1].is_word and self._relay.fullmatch(tokens[pos - 1].lower):
                continue  # the outlet that relays: "reports Ukrainska Pravda", "передає Укрінформ"
            role = any(t.is_word and self._role.fullmatch(t.lower) for t in before) or (
                bool(after) and after[0].text == "," and any(t.is_word and self._role.fullmatch(t.lower) for t in after))
            said = (pos > 0 and tokens[pos - 1].is_word and self._attribution.fullmatch(tokens[pos - 1].lower)) or (
                bool(after) and after[0].is_word and self._attribution.fullmatch(after[0].lower))
            if role or said:
                found.append((pos + 1, "person:" + last.lower[:5], f"{first.text} {last.text}", None, None, True, Why(
                    "claimant", "a name " + ("with lexicon.role_words" if role else "next to lexicon.attribution_words"),
                    f"{first.text} {last.text}", facts.index)))
                taken.update((pos, pos + 1))
        for pos, tok in enumerate(tokens):  # a surname alone: "said Peskov", "По словам Балицкого", "Lavrov has stated"
            if pos in taken or pos in place_starts or pos in bodies or pos == 0 or not self._is_name(tok):
                continue
            prev = tokens[pos - 1]
            nxt = [t for t in tokens[pos + 1:pos + 4] if t.is_word]
            said_after = bool(nxt) and (self._attribution.fullmatch(nxt[0].lower) is not None or (
                nxt[0].lower in ("has", "had", "have", "also") and any(
                    self._attribution.fullmatch(t.lower) for t in tokens[pos + 2:pos + 5] if t.is_word)))
            if prev.lower in ("словам", "словами") or (said_after and any(
                    t.is_word and self._role.fullmatch(t.lower) for t in tokens[max(0, pos - 7):pos])):
                found.append((pos, "person:" + tok.lower[:5], tok.text, None, None, True, Why(
                    "claimant", "a surname alone, after «словам» or with a role and a speech verb", tok.text, facts.index)))
                taken.add(pos)
        for claimant, side, matches in self._institutions_in(lower):
            for m in matches:
                pos = max(0, bisect.bisect_right(starts, m.start()) - 1)
                if pos in taken:
                    continue
                label, body_side = (m.group().title() if claimant == "*" else claimant), side
                if side is None:  # "Russian authorities", "місцева влада": the side from the words
                    words = m.group().split()
                    said_side = (Side.RUSSIA if any(self._ru_adj.fullmatch(w) for w in words)
                                 else Side.UKRAINE if any(self._ua_adj.fullmatch(w) for w in words) else None)
                    body_side = said_side
                    if said_side is not None and claimant != "*":
                        label = f"{'Russian' if said_side is Side.RUSSIA else 'Ukrainian'} {claimant}"
                found.append((pos, label, label, body_side, None, False, Why(
                    "claimant", f"institutions.tsv row '{claimant}'", facts.text[m.start():m.end()], facts.index)))
                break
        return sorted(found)

    def _is_name(self, tok: Token) -> bool:
        return (tok.is_capitalized and len(tok.text) > 1 and not tok.text.isupper() and tok.text.isalpha()
                and not self._not_names.fullmatch(tok.lower) and not self._role.fullmatch(tok.lower))

    def _find_claimant(self, facts: SentenceFacts, tokens: list[Token], lower: str) -> None:
        """Who the sentence credits. A name counts only inside an attribution ("said X", "за словами X",
        "X wrote on Telegram", "Source: X", "X: ..."); "he said" credits the last one named."""
        facts.earlier = any(t.is_word and self._earlier.fullmatch(t.lower) for t in tokens)
        quoted = _quoted_tokens(tokens, lambda w: self._attribution.fullmatch(w) is not None)
        attributions = [i for i, t in enumerate(tokens)
                        if t.is_word and self._attribution.fullmatch(t.lower) and i not in quoted]
        label = len(tokens) > 1 and tokens[0].is_word and bool(self._source_label.fullmatch(tokens[0].lower)) \
            and tokens[1].text in (":", "—", "-")
        candidates = [c for c in self._claimant_candidates(facts, tokens, lower) if c[0] not in quoted]
        if candidates:
            first = candidates[0]
            facts.mention = (first[2], first[3])
            facts.why["mention"] = first[6]
        colons = [c[0] for c in candidates if any(t.text == ":" for t in tokens[c[0] + 1:c[0] + 3])]
        if not (attributions or label or colons):
            # a mention, not a credit: its side still tells whose wording a bare "captured" is
            facts.claimant_side = next((c[3] for c in candidates if c[3] is not None), None)
            return
        facts.credited = True
        if not candidates:
            for a in attributions:
                near = [i for i in range(max(0, a - 3), min(len(tokens), a + 4))
                        if tokens[i].is_word and self._role.fullmatch(tokens[i].lower) and i not in quoted]
                if near:
                    i = near[0]
                    nxt = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].is_word \
                        and not self._attribution.fullmatch(tokens[i + 1].lower) else None
                    facts.role_credit = tokens[i].lower + (f" {nxt.lower}" if nxt is not None else "")
                    facts.why["role_credit"] = Why("claimant", "lexicon.role_words next to lexicon.attribution_words",
                                                   _span(facts.text, tokens, min(i, a), max(i + (nxt is not None), a)),
                                                   facts.index)
                    break
        adjacent = any(abs(c[0] - a) <= 2 for c in candidates for a in attributions)
        if not candidates or (not adjacent and any(t.is_word and self._pronouns.fullmatch(t.lower)
                                                   for a in attributions for t in tokens[max(0, a - 2):a + 3])):
            facts.claimant_side = next((c[3] for c in candidates if c[3] is not None), None)
            return  # "he said", "за його словами", "написав він": the last claimant named
        anchors = attributions + colons
        if label:
            chosen = candidates
        else:
            candidates = [c for c in candidates if c[5] or min(abs(c[0] - a) for a in anchors) <= 8]
            if not candidates:  # a body named far from the credit is what the sentence is about
                return
            best = min(candidates, key=lambda c: (min(abs(c[0] - a) for a in anchors), c[0]))
            if not best[5]:  # a body, and the person who speaks for it: "представитель Минобороны Игорь Конашенков"
                best = next((c for c in candidates if c[5] and 0 < c[0] - best[0] <= 8), best)
            chosen = [best]
            for other in candidates:  # "X та Y повідомили", "X and Y said": one joint claimant
                if other is best or other[1] == best[1]:
                    continue
                lo, hi = sorted((other[0], best[0]))
                between = tokens[lo + 1:hi]
                if hi - lo <= 10 and any(t.is_word and self._joint.fullmatch(t.lower) for t in between) \
                        and not any(lo < a < hi for a in attributions):
                    chosen.append(other)
            chosen.sort()
        keys: list[str] = []
        labels: list[str] = []
        for c in chosen:
            if c[1] not in keys:
                keys.append(c[1])
                labels.append(c[2])
        facts.claimant = " and ".join(labels)
        credit = "lexicon.source_labels" if label else "lexicon.attribution_words" if attributions else "a colon after the name"
        said = tokens[0].text if label else tokens[min(attributions, key=lambda a: abs(a - chosen[0][0]))].text \
            if attributions else ":"
        facts.why["claimant"] = Why("claimant", " + ".join([c[6].rule for c in chosen] + [credit]),
                                    " / ".join(c[6].words for c in chosen) + f" … {said}", facts.index)
        facts.person = all(c[5] for c in chosen)
        sides = {c[3] for c in chosen if c[3] is not None}
        facts.claimant_side = sides.pop() if len(sides) == 1 else None
        facts.claimant_place = next((c[4] for c in chosen if c[4]), None)
        facts.back_credit = label or bool(self._attribution_back.search(lower))
        facts.source_line = label

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

    # ------------------------------------------------------------------ assembling claims

    def _assemble(self, facts: list[SentenceFacts], lang: str, post_day: date, source: SourceInfo | None,
                  traces: list[dict[str, Why]] | None = None) -> list[Claim]:
        self._assign_owners(facts)
        post_claimant = None  # a sentence nobody is credited with is the outlet's
        post_claimant_side = next((f.claimant_side for f in facts if f.claimant_side), None)
        if post_claimant_side is None:
            sides = [s for f in facts for s in f.actor_sides]
            if sides and not any(f.claimant for f in facts):
                post_claimant_side = max(dict.fromkeys(sides), key=sides.count)  # a tie: the side named first
        if post_claimant_side is None and source is not None and source.side in (Side.UKRAINE, Side.RUSSIA):
            post_claimant_side = source.side
        home_place = next((f.claimant_place for f in facts if f.claimant_place), None)
        homes = {f.claimant: f.claimant_place for f in facts if f.claimant and f.claimant_place}
        office_places = sorted((p for f in facts for _, p in f.role_places), key=lambda p: p.level == "oblast")
        current: Place | None = None
        targets_by_place: dict[str, set[str]] = {}
        attack: list[Draft] = []
        unplaced: list[SentenceFacts] = []
        for f in facts:
            sentence_places = [p for _, p in f.places] or [p for _, p in f.oblast_places]
            anchor_positions = [p for p, _, _ in f.cues] + [c.pos for c in f.counts] + [p for p, _ in f.control]
            if f.has_attack:
                place = self._nearest(f.places or f.oblast_places, anchor_positions) or current
                if not f.places and current is not None and place is not current and place.name == current.oblast:
                    place = current  # "the governor of the Donetsk region said …": still the town's toll
                home = homes.get(f.owner[0]) if f.owner is not None else home_place
                if place is None and home:  # the speaker's own town; not another speaker's of the post
                    place = self._home(home)
                if place is None and office_places and (f.counts or any(t == 0 for _, _, t in f.cues)):
                    # "мэр Харькова сообщил о двух погибших": the office's town
                    place = office_places[0]
                if place is not None:
                    draft = self._draft_for(attack, place, f)
                    for earlier in self._merge_attack(draft, f):
                        self._spin_off(attack, draft, earlier)
                elif f.counts or f.zero_killed or f.zero_injured:
                    unplaced.append(f)  # a toll before any place is named ("12 killed overnight. … Odesa")
            if sentence_places and not (not f.places and current is not None and current.oblast is not None
                                        and all(p.name == current.oblast for _, p in f.oblast_places)):
                current = sentence_places[0] if not f.places else self._nearest(f.places, anchor_positions) or f.places[0][1]
            if current is not None and f.targets:
                # what was hit may be named in a sentence without a cue ("the TV tower was put out of action")
                targets_by_place.setdefault(current.key, set()).update(f.targets)
        self._place_unplaced(attack, unplaced)
        self._settle_oblasts(facts, attack)
        self._settle_landmarks(facts, attack)
        _share_event_dates(attack)
        source_side = source.side if source is not None and source.side in (Side.UKRAINE, Side.RUSSIA) else None
        control = self._control_drafts(facts, post_claimant_side, source_side, home_place)
        self._credited_without_facts(facts, attack, control)
        self._reported_claims(facts, attack)
        self._blame_from_owner(facts, attack)
        claims: list[Claim] = []
        for draft in attack:
            if draft.kind is None and draft.killed is None and draft.injured is None and draft.children_killed is None \
                    and not draft.credited_only:
                continue
            draft.targets |= targets_by_place.get(draft.place.key, set())
            claims.append(self._to_claim(draft, lang, post_day, source, post_claimant, post_claimant_side))
            if traces is not None:
                traces.append(explain_draft(draft, claims[-1], facts))
        for draft in control:
            claims.append(self._to_claim(draft, lang, post_day, source, post_claimant, post_claimant_side))
            if traces is not None:
                traces.append(explain_draft(draft, claims[-1], facts))
        return claims

    def _assign_owners(self, facts: list[SentenceFacts]) -> None:
        """Whose claim each sentence is. A credited sentence is its claimant's; "he said" and an
        uncredited sentence continue the last claimant credited; sentences before the first credit
        are the first claimant's. A claimant of a joint credit speaking alone stays in the joint claim."""
        canon: dict[tuple[str, ...], str] = {}
        for f in facts:
            if f.claimant:
                key = tuple(sorted(_claimant_key(part) for part in f.claimant.split(" and ")))
                joint = next((label for k, label in canon.items() if len(key) == 1 and len(k) > 1 and key[0] in k), None)
                f.claimant = joint or canon.setdefault(key, f.claimant)
        for i, f in enumerate(facts):
            if f.credited and not f.claimant and not any(g.claimant for g in facts[:i]):
                named_in = next((g for g in (f, facts[i - 1] if i else f) if g.mention), None)
                if named_in is not None and named_in.mention is not None:
                    # "Gladkov on Oct." / "22 claimed that ...": the name just before
                    f.claimant, f.claimant_side = named_in.mention
                    if "mention" in named_in.why:
                        f.why["claimant"] = named_in.why["mention"]
        open_quote = False
        for f in facts:  # a quote running over several sentences credits no one inside it
            text = f.text
            if open_quote:
                ends = [text.rfind(ch) for ch in "»”\""]
                if max(ends) < 0:
                    f.claimant, f.credited, f.back_credit, f.role_credit = None, False, False, None
                    continue
                text = text[max(ends) + 1:]
            balance = text.count("«") + text.count("“") - text.count("»") - text.count("”")
            open_quote = balance > 0 or (balance == 0 and text.count('"') % 2 == 1)
        last_person: bool | None = None
        for f in facts:  # "заявил глава региона" after a ministry spoke: another claimant
            if f.claimant:
                last_person = f.person
            elif f.role_credit and last_person is False:
                f.claimant = f.role_credit
                if "role_credit" in f.why:
                    f.why["claimant"] = f.why["role_credit"]
                last_person = True
        named = [i for i, f in enumerate(facts) if f.claimant]
        for i, f in enumerate(facts):
            if f.claimant:
                f.owner = (f.claimant, f.claimant_side)
                continue
            before = [k for k in named if k < i]
            if before:
                j = before[-1]
                f.owner = (facts[j].claimant or "", facts[j].claimant_side)
                continue
            if named:
                j = named[0]
                f.owner = (facts[j].claimant or "", facts[j].claimant_side)
            else:
                f.owner = None

    @staticmethod
    def _settle_landmarks(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """A claim placed only by a town named as a landmark ("вибухи поряд із Бєлгородом") joins the
        same claimant's claim at a town close by ("у Шебекіно")."""
        near = {k for f in facts for k in f.near_keys}
        for draft in list(attack):
            if draft.place.key not in near or draft.place.lat is None:
                continue
            close = [d for d in attack if d is not draft and d.place.key != draft.place.key
                     and d.place.lat is not None and d.place.lon is not None
                     and abs(d.place.lat - draft.place.lat) + abs(d.place.lon - (draft.place.lon or 0)) < 1.0]
            other = next((d for d in close if d.claimant == draft.claimant), None)
            if other is None:
                if close:
                    draft.place = close[0].place
                continue
            for name in ("killed", "injured", "children_killed", "perpetrator", "date"):
                if getattr(other, name) is None:
                    setattr(other, name, getattr(draft, name))
            other.targets |= draft.targets
            other.weapons |= draft.weapons
            attack.remove(draft)

    @staticmethod
    def _settle_oblasts(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """A region's claim in a post that names a town of that region is the town's claim ("attacks
        in the Zaporizhzhia region ... missiles at Zaporizhzhia")."""
        for draft in list(attack):
            if draft.place.level != "oblast":
                continue
            town = next((d for d in attack if d is not draft and d.claimant == draft.claimant
                         and d.place.level != "oblast" and d.place.oblast == draft.place.oblast), None)
            if town is None:
                place = next((p for f in facts for _, p in f.places if p.oblast == draft.place.oblast), None)
                if place is not None:
                    draft.place = place
                continue
            for name in ("killed", "injured", "children_killed", "perpetrator", "date"):
                if getattr(town, name) is None:
                    setattr(town, name, getattr(draft, name))
            if draft.kind_tier < town.kind_tier:
                town.kind, town.kind_tier = draft.kind, draft.kind_tier
            town.targets |= draft.targets
            town.weapons |= draft.weapons
            for index, text in zip(sorted(draft.sentences), draft.evidence):
                if index not in town.sentences:
                    town.sentences.add(index)
                    town.evidence.append(text)
            attack.remove(draft)

    @staticmethod
    def _main_place(facts: list[SentenceFacts], attack: list[Draft]) -> Place | None:
        """The place a strike post is about: its first attack claim's, else the first place named
        where blame is laid."""
        if attack:
            return attack[0].place
        return next((p for f in facts if f.reported or (f.perpetrator is not None and f.blamed) for _, p in f.places), None)

    def _reported_claims(self, facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """A party's blame that the post reports is that party's claim (shared rule 2)."""
        place = self._main_place(facts, attack)
        if place is None:
            return
        names = {Side.RUSSIA: "Russian side (as reported)", Side.UKRAINE: "Ukrainian side (as reported)"}
        for f in facts:
            for accuser, accused, kind in f.reported:
                own = f.owner is not None and f.owner[1] is accuser
                if own and not any(t in ("не", "not", "ні", "нет") for t in f.text.lower().split()):
                    for d in attack:  # the speaker's own accusation: the speaker's claim blames
                        if f.index in d.sentences and d.perpetrator is None:
                            d.perpetrator = accused
                    continue
                claimant = names[accuser]
                if any(d.claimant == claimant for d in attack):
                    continue
                draft = Draft(place=place, kind=kind, kind_tier=0, perpetrator=accused, claimant=claimant,
                              claimant_side=accuser, credited_only=True)
                draft.sentences.add(f.index)
                draft.evidence.append(f.text)
                attack.append(draft)

    def _credited_without_facts(self, facts: list[SentenceFacts], attack: list[Draft],
                                control: list[Draft]) -> None:
        """Every claimant a strike post credits gets a claim, also one that adds no figure ("Kyrylenko
        said people could be trapped", a denial that blames no one)."""
        place = self._main_place(facts, attack)
        if place is None:
            return
        have = {d.claimant for d in attack} | {d.claimant for d in control}
        for f in facts:
            if not f.claimant or not f.credited or f.control or f.owner is None or f.source_line:
                continue
            claimant, side = f.owner
            if claimant in have:
                continue
            have.add(claimant)
            draft = Draft(place=place, claimant=claimant, claimant_side=side, credited_only=True)
            self._note(draft, f)
            attack.append(draft)

    @staticmethod
    def _blame_from_owner(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """Blame stated anywhere by a claimant goes to that claimant's claims ("киевский режим пытается
        уничтожить", quoted after the facts)."""
        for draft in attack:
            if draft.perpetrator is not None:
                continue
            for f in facts:
                if f.perpetrator is not None and f.owner is not None and f.owner[0] == draft.claimant:
                    draft.perpetrator = f.perpetrator
                    break
                if f.perpetrator is not None and f.owner is None and not draft.claimant:
                    draft.perpetrator = f.perpetrator
                    break

    def _control_drafts(self, facts: list[SentenceFacts], post_side: Side | None, source_side: Side | None,
                        home_place: str | None) -> list[Draft]:
        """One control claim per place, controller and credited claimant.

        A statement is about the town named in its clause; "the city" or a denial without a name
        refers to the town of the post's last control statement (or the speaker's own town). Its
        claimant is the party credited next to it, else the sentence's speaker, else the one a
        following "Про це повідомив X" names, else the last speaker. Then, per post: troops
        "entering" a town are no claim when the post contests it; a denial needs a capture claim
        to deny; a capture that names no side takes the wording's side ("окупація"), the side the
        same claimant gives the town elsewhere in the post, or the claimant's side.
        """
        statements: list[tuple[SentenceFacts, ControlHit, Place, str | None, Side | None]] = []
        current: Place | None = None
        topic = next((place for f in facts for _, place, _ in f.control_places), None) or next(
            (place for f in facts if not f.control_hits for _, place in f.places), None)  # not "берег Днепра"
        speaker: tuple[str | None, Side | None] = (None, None)
        for i, f in enumerate(facts):
            nxt = facts[i + 1] if i + 1 < len(facts) else None
            credit = (nxt.claimant, nxt.claimant_side) if nxt is not None and nxt.claimant \
                and self._control.opens_with_attribution(nxt.text) else None
            for hit in f.control_hits:
                place = self._control_place(f.control_places, hit.pos)
                if place is None and (hit.town_word or hit.kind in ("hold", "refute", "withdraw")):
                    place = current
                if place is None and current is None and hit.kind in ("withdraw", "hold", "refute"):
                    place = topic  # "withdrew from the right bank. Kherson ...": the post's town
                if place is None and current is None and home_place:
                    place = self._home(home_place)
                if place is None:
                    continue
                claimant, side = hit.claimant, hit.claimant_side
                if hit.aside:
                    statements.append((f, hit, place, None, None))  # the writer's own: the outlet's claim
                    current = place
                    continue
                named = credit or ((f.claimant, f.claimant_side) if f.claimant else None)
                if not hit.reported and is_side_label(claimant) and named is not None and not hit.speaker_unknown \
                        and named[1] in (None, side):
                    claimant, side = named  # "Сили оборони запевнили ..., заявив речник X": X (not the other side's voice)
                elif claimant is None and (not hit.speaker_unknown or (hit.anonymous and f.credited and named)):
                    claimant, side = named or speaker  # an unknown speaker the sentence credits by name is that name
                statements.append((f, hit, place, claimant, side))
                current = place
            if f.claimant:
                speaker = (f.claimant, f.claimant_side)
            if f.places and not f.control_hits:
                current = f.places[0][1]
        advancing = any(self._control.in_progress(f.text) for f in facts)
        contested = {place.key for _, hit, place, _, _ in statements if hit.kind in ("hold", "refute")}
        capture_at = {f.index for f, hit, _, _, _ in statements if hit.kind in ("capture", "entry")}
        resolved: list[tuple[SentenceFacts, ControlHit, Place, str | None, Side | None, Side | None]] = []
        for f, hit, place, claimant, side in statements:
            if hit.kind == "entry" and place.key in contested:
                continue  # "entered the town", answered by "the town is under our control"
            if hit.kind == "refute" and not {f.index, f.index - 1} & capture_at:
                continue  # a denial of something other than a capture
            if hit.kind == "withdraw" and any(h.kind == "hold" and p.key == place.key and cl == claimant
                                              for _, h, p, cl, _ in statements):
                continue  # "withdrew to better positions ... fighting goes on in the town": still held
            if hit.progressive and advancing:
                continue  # "продвигаются ..., освобождая город": an advance, not a claim
            if hit.alleged and claimant is None:
                continue  # "allegedly" with nobody credited
            judge = side if side is not None or claimant is not None or hit.speaker_unknown else source_side
            if hit.fighting and judge is Side.RUSSIA:
                continue  # the attacker reporting fighting in a town it has not taken
            resolved.append((f, hit, place, claimant, side, resolve_controller(hit, judge)))
        drafts: list[Draft] = []
        unnamed: set[int] = set()
        for f, hit, place, claimant, side, controller in resolved:
            if controller is None:
                if hit.share:
                    continue
                judge = side if side is not None or claimant is not None or hit.speaker_unknown else post_side
                named = [c for g, h, p, cl, _, c in resolved if c is not None and p.key == place.key and cl == claimant
                         and h.kind in ("capture", "withdraw", "hold")]
                # "наші воїни" in a Ukrainian-language post nobody else is credited with: Ukraine's
                ours = Side.UKRAINE if hit.relative == "own" and guess_language(f.text) == "uk" else None
                if hit.default is Side.RUSSIA:
                    controller = Side.RUSSIA  # occupation is Russian in every voice
                elif named:
                    controller = named[0]
                elif hit.kind == "withdraw":
                    announcer = judge or ours
                    if announcer is None:
                        continue  # a withdrawal by nobody we can tell
                    controller = opposite(announcer)  # "приказ о выводе войск из X": the announcer's own troops
                else:
                    controller = judge or ours or hit.default or Side.RUSSIA
            denier = side if side is not None else next(
                (c for g, h, _, _, _, c in resolved if g is f and h.kind in ("hold", "refute") and c is not None), None)
            if hit.refuted and hit.agent is None and hit.relative is None and not hit.reported and denier is not None:
                # "reports of the capture of X are a lie, the ZSU said": the capture is the other side's
                controller = opposite(denier)
                claimant, side = side_label(controller, "unnamed, as reported"), controller
            if side is not None and controller is not side:
                denied = any(c is side and p.key == place.key and h.kind in ("hold", "refute")
                             for _, h, p, _, _, c in resolved)
                if hit.kind in ("hold", "refute") or (hit.kind in ("capture", "entry") and denied):
                    # a denial is the denier's; a capture the speaker denies is the other side's, as reported
                    claimant = side_label(controller, "unnamed" if hit.kind in ("hold", "refute") else "as reported")
                    side = controller
            if hit.aside:
                if not any(g is f and h is not hit and not h.aside and c is controller and p.key == place.key
                           for g, h, p, _, _, c in resolved):
                    continue  # "..., which Russia captured in March": history, unless it agrees with the statement
                draft = Draft(place=place, kind=Kind.CONTROL, controller=controller)
                drafts.append(draft)
                draft.why.setdefault("controller", (f, hit))
                self._note(draft, f)
                draft.claimant, draft.claimant_side = None, None
                continue
            draft = self._control_draft_for(drafts, place, controller, claimant, side, unnamed)
            draft.why.setdefault("controller", (f, hit))  # --explain: the statement that made the claim
            headline = f.index == 0 and len(facts) > 1 and not f.credited and not f.text.rstrip().endswith((".", "…"))
            if claimant is None and (hit.speaker_unknown or headline):
                unnamed.add(id(draft))  # someone the post does not name yet said it (or a headline sums it up)
            if draft.claimant is None and claimant is not None:
                draft.claimant, draft.claimant_side = claimant, side
            held = draft.claimant, draft.claimant_side
            self._note(draft, f)
            draft.claimant, draft.claimant_side = held  # the statement's claimant, not the sentence's first name
        return drafts

    def _control_place(self, places: list[tuple[int, Place, bool]], pos: int) -> Place | None:
        """The town a statement is about: one the sentence introduces as a town ("город Лисичанск в
        Луганской Народной Республике") unless another stands right by the phrase, else the nearest."""
        named = [(p, place) for p, place, is_named in places if is_named]
        beside = [(p, place) for p, place, is_named in places if not is_named and abs(p - pos) <= 2]
        if named and not beside:
            return self._nearest(named, [pos], prefer_after=True)
        return self._nearest([(p, place) for p, place, _ in places], [pos], prefer_after=True)

    @staticmethod
    def _control_draft_for(drafts: list[Draft], place: Place, controller: Side, claimant: str | None,
                           side: Side | None, unnamed: set[int]) -> Draft:
        """The draft a statement adds to: one for its place and controller by the same claimant. A
        statement credited to nobody joins the last one; one credited to a side only ("Ukrainian
        side") joins a named claimant of that side, and a named claimant completes such a draft. A
        statement the post credits to nobody stays the outlet's own claim ("Ukrainian forces entered
        Lyman"; "the Russian MoD confirmed the withdrawal" is another claim)."""
        same = [d for d in drafts if d.place.key == place.key and d.controller is controller]
        base = claimant.split(" (")[0] if claimant else None
        for d in reversed(same):
            if claimant is None or (d.claimant is not None and d.claimant.split(" (")[0] == base):
                return d
        for d in reversed(same):
            if is_side_label(claimant) and d.claimant_side is side:
                return d
            if is_side_label(d.claimant) and (d.claimant_side is side or side is None):
                d.claimant = claimant
                return d
        for d in reversed(same):
            if d.claimant is None and id(d) in unnamed and side is controller:
                # "an adviser said the city has not fallen ... our side continues to defend, Arestovych said"
                return d
        draft = Draft(place=place, kind=Kind.CONTROL, controller=controller)
        drafts.append(draft)
        return draft

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

    def _draft_for(self, drafts: list[Draft], place: Place, facts: SentenceFacts) -> Draft:
        """The claim a sentence adds to: its claimant's claim for its place (one claim per credited
        claimant), unless it quotes an earlier figure that differs ("initially gave six") or an
        uncredited sentence gives other figures."""
        owner = facts.owner[0] if facts.owner else ""
        claimant = owner
        for draft in reversed(drafts):
            if draft.place.key == place.key and (draft.claimant or "") == owner:
                if draft.accepts_counts(facts):
                    return draft
                if facts.earlier:
                    claimant = f"{owner} (earlier figure)" if owner else "earlier reports (unnamed)"
                else:
                    return draft
                break
        for draft in reversed(drafts):
            if claimant != owner and draft.place.key == place.key and (draft.claimant or "") == claimant:
                return draft
        draft = Draft(place=place)
        if facts.owner is not None and claimant:
            draft.claimant, draft.claimant_side = claimant, facts.owner[1]
        elif facts.owner is not None:
            draft.claimant = ""
        drafts.append(draft)
        return draft

    def _merge_attack(self, draft: Draft, f: SentenceFacts) -> list[Count]:
        """Adds a sentence's facts to a draft; returns the earlier figures it quotes beside the current ones."""
        for pos, kind, tier in f.cues:
            if tier < draft.kind_tier:
                draft.kind, draft.kind_tier = kind, tier
        current, earlier = _current_counts(f.counts)
        for count in current.values():
            held = draft.killed if count.field == "killed" else draft.injured
            # the latest stated toll is the claim's: "… 16 killed. … the toll has risen to 19"
            if held is None or held.implied or (count.rise and not count.earlier and count.value > held.value):
                if count.field == "killed":
                    draft.killed = count
                else:
                    draft.injured = count
        if f.zero_killed and draft.killed is None:
            draft.killed = Count("killed", 0, Qualifier.EXACT, 0, why=f.why.get("zero_killed"))
        if f.zero_injured and draft.injured is None:
            draft.injured = Count("injured", 0, Qualifier.EXACT, 0, why=f.why.get("zero_injured"))
        children = f.children_killed
        killed_before = [c for c in [current.get("killed"), *earlier] if c is not None and c.field == "killed"
                         and c.pos <= f.children_pos]
        if children is not None and killed_before:
            owner = max(killed_before, key=lambda c: c.pos)
            if owner is not current.get("killed"):
                owner.children = children  # "the death toll was 33, including one child, … risen to 34"
                children = None
        if children is not None and draft.children_killed is None:
            draft.children_killed = children
            if draft.killed is None and not f.children_only:
                draft.killed = Count("killed", children, Qualifier.EXACT, 0, implied=True, why=Why(
                    "assembly", "implied by the children killed: " + (c.rule if (c := f.why.get("children")) else "?"),
                    c.words if c else "", f.index))
        if f.perpetrator is not None and draft.perpetrator is None:
            draft.perpetrator = f.perpetrator
        draft.targets |= f.targets
        draft.weapons |= f.weapons
        self._note(draft, f)
        return earlier

    def _place_unplaced(self, drafts: list[Draft], unplaced: list[SentenceFacts]) -> None:
        """Counts read before any place was named go to the incident the post is about: its first
        attack claim, when that claim does not give other figures."""
        if not drafts or not unplaced:
            return
        first = next((d for d in drafts if d.kind is not None), drafts[0])
        for f in unplaced:
            owner = f.owner[0] if f.owner else ""
            main = next((d for d in drafts if (d.claimant or "") == owner), first)
            if main.accepts_counts(f):
                for earlier in self._merge_attack(main, f):
                    self._spin_off(drafts, main, earlier)

    @staticmethod
    def _spin_off(drafts: list[Draft], draft: Draft, count: Count) -> None:
        """An earlier figure quoted beside the current one is a claim of its own (listed before the
        current claim, so that later sentences keep adding to the current one)."""
        label = f"{draft.claimant} (earlier figure)" if draft.claimant else None
        other = Draft(place=draft.place, kind=draft.kind, kind_tier=draft.kind_tier, claimant=label,
                      claimant_side=draft.claimant_side, date=draft.date, evidence=list(draft.evidence[-1:]))
        if count.field == "killed":
            other.killed, other.children_killed = count, count.children
        else:
            other.injured = count
        drafts.insert(drafts.index(draft), other)

    @staticmethod
    def _note(draft: Draft, f: SentenceFacts) -> None:
        if f.index not in draft.sentences:
            draft.sentences.add(f.index)
            draft.evidence.append(f.text)
        if f.owner is not None and draft.claimant is None:
            draft.claimant, draft.claimant_side = f.owner
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


EXPLAINED = ("place", "kind", "killed", "injured", "children_killed", "qualifier", "injured_qualifier", "controller",
             "perpetrator", "claimant", "date")


def explain_draft(draft: Draft, claim: Claim, facts: Sequence[SentenceFacts]) -> dict[str, Why]:
    """Where each field of ``claim`` (made from ``draft``) came from, read from what the sentences
    recorded when they matched (nothing is matched again). A field with no value is left out."""
    own = [f for f in facts if f.index in draft.sentences]
    ordered = own + [f for f in facts if f.index not in draft.sentences]  # the claim's sentences first
    out: dict[str, Why] = {}
    statement = draft.why.get("controller")
    place = next((f.why[k] for k in (("place", draft.place.key), ("role_place", draft.place.key))
                  for f in ordered if k in f.why), None)
    out["place"] = place or Why("assembly", "the claimant's home place (officials.tsv) or the post's last place")
    if statement is not None:
        f, hit = statement
        out["kind"] = Why("control", f"control.{hit.group}: a control statement", f.text[hit.span[0]:hit.span[1]], f.index)
    else:
        cue = next((f.why.get(("cue", pos)) for f in ordered for pos, kind, tier in f.cues
                    if kind is draft.kind and tier == draft.kind_tier), None)
        if cue is None and draft.credited_only and draft.kind_tier == 0:  # a blame the post reports
            cue = next((f.why["reported_kind"] for f in ordered if f.reported and "reported_kind" in f.why), None)
        out["kind"] = cue or Why("assembly", "no kind word: strike" if draft.kind_tier == 9 else "the kind of a related claim")
    for name in ("killed", "injured"):
        count = getattr(draft, name)
        if count is not None:
            out[name] = count.why or Why("counts", "?")
    if claim.children_killed is not None:
        children = draft.killed.why if draft.killed is not None and draft.killed.children == claim.children_killed \
            and draft.killed.children is not None else None
        out["children_killed"] = children or next(
            (f.why["children"] for f in ordered if f.children_killed == claim.children_killed and "children" in f.why),
            Why("counts", "?"))
    if draft.killed is not None:
        out["qualifier"] = draft.killed.qualifier_why or Why("counts", "exact (a figure given by a phrase)")
    if statement is not None:
        f, hit = statement
        how = [f"control.{hit.group} → {hit.kind}"]
        if hit.agent is not None:
            how.append(f"names {hit.agent.value}")
        elif hit.relative is not None:
            how.append(f"names the {'speaker' if hit.relative == 'own' else 'enemy'}'s side")
        elif hit.default is not None:
            how.append(f"wording implies {hit.default.value} (control.default_sides)")
        else:
            how.append("side from the claimant or the post")
        if hit.flip:
            how.append("the other side holds it")
        if hit.refuted:
            how.append("a capture the sentence denies")
        out["controller"] = Why("control", ", ".join(how), f.text[hit.span[0]:hit.span[1]], f.index)
    if claim.perpetrator is not None:
        out["perpetrator"] = next((f.why["perpetrator"] for f in ordered if f.perpetrator is claim.perpetrator
                                   and "perpetrator" in f.why), None) or next(
            (f.why["reported"] for f in ordered for _, accused, _ in f.reported if accused is claim.perpetrator
             and "reported" in f.why), Why("blame", "?"))
    if draft.injured is not None:
        out["injured_qualifier"] = draft.injured.qualifier_why or Why("counts", "exact (a figure given by a phrase)")
    out["claimant"] = _claimant_why(draft, claim, ordered, statement)
    if claim.date is not None:
        out["date"] = next((f.why["date"] for f in ordered if f.date == claim.date and "date" in f.why),
                           Why("dates", "no date in the text: the post's day"))
    return out


def explain_lines(claim: Claim, trace: dict[str, Why]) -> dict[str, str]:
    """The trace as text, field → "killed = 20  ← counts · lexicon.toll_verbs «зросла до 20» · sentence 0"."""
    values = claim.as_dict()
    return {name: f"{name} = {values[name]}  ← {trace[name].line()}" for name in EXPLAINED if name in trace}


def _claimant_why(draft: Draft, claim: Claim, ordered: Sequence[SentenceFacts], statement: Any) -> Why:
    label = claim.claimant or ""
    if not draft.claimant:
        return Why("assembly", "nobody credited: the source channel" if label else "nobody credited")
    base = label.removesuffix(" (earlier figure)")
    if base.startswith(("Russian side", "Ukrainian side")):
        if statement is not None:
            f, hit = statement
            return Why("control", f"the other side's claim (control.{hit.group}, reported or denied)",
                       f.text[hit.span[0]:hit.span[1]], f.index)
        return next((f.why["reported"] for f in ordered if f.reported and "reported" in f.why), Why("blame", "?"))
    found = next((f.why["claimant"] for f in ordered if f.claimant == base and "claimant" in f.why), None)
    if found is None and statement is not None:
        f, hit = statement  # the one named nearest the statement, as ControlReader credits it
        named = [(abs(k[2] - hit.pos) if g is f else 999 + abs(g.index - f.index), w) for g in ordered
                 for k, w in g.why.items() if isinstance(k, tuple) and k[0] == "speaker" and k[1] == base]
        found = min(named, key=lambda item: item[0])[1] if named else None
    if found is None and statement is not None:
        f, hit = statement
        found = Why("control", "official or body named next to the control phrase (officials.tsv / institutions.tsv)",
                    base, f.index)
    found = found or Why("assembly", "the claimant of an earlier sentence")
    if base != label:
        found = Why(found.component, found.rule + " · an earlier figure it quoted", found.words, found.sentence)
    return found


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


def _bound(seen: dict[Any, Any], size: int = 200_000) -> None:
    """Forget what a per-word memo holds once it is large: a bot running for months reads words
    without end."""
    if len(seen) > size:
        seen.clear()


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

