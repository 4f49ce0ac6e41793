"""The extractor: its word lists and gazetteer, its spaCy pipelines, and its public entry points;
the rules are the mixins of the modules beside it, one per component."""

from __future__ import annotations

import gc
import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from bot.engine.control import ControlReader
from bot.engine.extract.assemble import AssemblyRules
from bot.engine.extract.blame import BlameRules
from bot.engine.extract.claimants import ClaimantRules
from bot.engine.extract.control_claims import ControlClaimRules
from bot.engine.extract.count_context import CountContextRules
from bot.engine.extract.counts import CountRules
from bot.engine.extract.dates import DateRules
from bot.engine.extract.facts import (
    DATA_DIR,
    MAX_TEXT,
    RIVER_WORDS,
    SentenceFacts,
    _cut,
    _phrases,
    _post_day,
)
from bot.engine.extract.kinds import KindRules
from bot.engine.extract.places import PlaceRules
from bot.engine.gazetteer import Gazetteer
from bot.engine.officials import Official, read_officials
from bot.engine.text import Token, any_of, guess_language, normalize, read_tsv_records
from bot.engine.types import Claim, Kind, Qualifier, Side, SourceInfo, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


class Extractor(PlaceRules,
                KindRules,
                CountRules,
                CountContextRules,
                BlameRules,
                ClaimantRules,
                DateRules,
                AssemblyRules,
                ControlClaimRules):
    """Reads claims out of posts; load once (``Extractor.load()``) and reuse."""

    def __init__(self, gazetteer: Gazetteer, lexicon: dict[str, Any], numbers: dict[str, Any],
                 officials: list[Official], institutions: list[tuple[re.Pattern[str], str, Side | None]]) -> None:
        self.gazetteer = gazetteer
        self.officials = officials
        self.institutions = institutions
        # whether a sentence names any body at all (most name none), before each row is tried
        self._any_institution = re.compile("|".join(f"(?:{p.pattern})" for p, _, _ in institutions) or "(?!)")
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
        self._hospital_verbs = frozenset(lexicon["hospital_verbs"])
        self._victims_plural = frozenset(lexicon["victims_plural"])
        self._condition = _phrases(lexicon["condition_phrases"])
        self._hospital_words = frozenset(lexicon["hospital_words"])
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
        # both by their last word (the word right before a number), longest first
        self._upper_by_end: dict[str, list[tuple[str, ...]]] = {}
        for words in self._upper:
            self._upper_by_end.setdefault(words[-1], []).append(words)
        self._qualifiers_by_end: dict[str, list[tuple[tuple[str, ...], Qualifier]]] = {}
        for words, qualifier in self._qualifiers:
            self._qualifiers_by_end.setdefault(words[-1], []).append((words, qualifier))
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
        self._dash_credit = re.compile(r"[\s,][—–-]\s*(?:" + "|".join(lexicon["attribution_words"]) + r")(?!\w)")
        self._update_label = re.compile(r"(?:" + "|".join(lexicon["update_labels"]) + r")(?!\w)\W*$")
        self._blame_verbs = any_of(actors["blame_verbs"])
        self._country_subjects = frozenset(("russia", "россия", "росія", "ukraine", "украина", "україна"))
        self._country_genitives = frozenset(("россии", "росії", "украины", "україни", "рф"))
        self._country_names = frozenset(("russia", "россия", "росія", "moscow", "москва", "москве", "москві", "kremlin",
                                         "ukraine"))
        self._accusation = any_of(actors["accusation_words"])
        self._location_words = any_of(actors["location_words"])
        self._river_words = RIVER_WORDS
        self._targets = [(name, _phrases(ps)) for name, ps in lexicon["targets"].items()]
        self._any_target = re.compile("|".join(f"(?:{p.pattern})" for _, p in self._targets) or "(?!)")
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

    @classmethod
    def load(cls, gazetteer: Gazetteer | None = None, data_dir: Path = DATA_DIR) -> Extractor:
        """Load the gazetteer (from its cache) and the word lists."""
        lexicon = json.loads((data_dir / "lexicon.json").read_text(encoding="utf-8"))
        numbers = json.loads((data_dir / "numbers.json").read_text(encoding="utf-8"))
        officials = read_officials(data_dir / "officials.tsv")
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

    @staticmethod
    def new_facts(view: SentenceView) -> SentenceFacts:
        return SentenceFacts(index=view.index, text=view.text)
