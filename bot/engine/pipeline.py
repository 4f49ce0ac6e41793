"""claimwatch's spaCy pipelines: one per language, built on ``spacy.blank(lang)``.

    tokenizer                 words, numbers and punctuation (``text.token_spans``), whitespace kept
    claimwatch_lemmatizer     spaCy's lemmatizer for the language (pymorphy3 for uk/ru, lookup
                              tables for en), remembering each word form's lemma
    claimwatch_sentences      sentence and line boundaries; a token view of each sentence
    claimwatch_places         places named (the gazetteer), offices' places, landmarks
    claimwatch_kinds          attack words, weapons, targets
    claimwatch_counts         killed, injured, children, qualifiers, rising tolls, "nobody was hurt"
    claimwatch_control        who holds a town, and who says so
    claimwatch_blame          the attacker named, blame reported of the other side
    claimwatch_claimant       who is credited with each sentence
    claimwatch_dates          the event's date
    claimwatch_claims         claims assembled per post: one per place and kind, one per claimant

Each component writes what it read on the sentence's facts (``doc._.claimwatch_facts``, one
``SentenceFacts`` per sentence); the last one leaves the post's claims in ``doc._.claims`` (and,
when asked, where each field came from in ``doc._.claim_traces``). The word lists, gazetteer and
rules are the ``Extractor``'s, loaded from ``data/`` once and handed to each component in
``initialize(rules=...)``. Nothing here knows Telegram or SQL.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import spacy
import srsly
from spacy.attrs import IDX, IS_SPACE, LEMMA, ORTH
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from bot.engine.control import GROUPS
from bot.engine.control_phrases import ControlPhrases
from bot.engine.text import (
    Token,
    lowered,
    remembered,
    sentence_spans,
    token_kind,
    token_spans,
)
from bot.engine.types import SourceInfo

if TYPE_CHECKING:
    from bot.engine.extract import Extractor, SentenceFacts

CONTROL_PHRASES = Path(__file__).parent / "data" / "control_phrases.jsonl"
LEMMATIZER_MODES = {"uk": "pymorphy3", "ru": "pymorphy3", "en": "lookup"}
STAGES = ("claimwatch_places", "claimwatch_kinds", "claimwatch_counts", "claimwatch_control", "claimwatch_blame",
          "claimwatch_claimant", "claimwatch_dates", "claimwatch_claims")

for _name in ("claimwatch_post", "claimwatch_sentences", "claimwatch_facts", "claims", "claim_traces"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@dataclass(frozen=True, slots=True)
class PostContext:
    """What a post's text does not say: its language, day (in Kyiv) and channel; and its cleaned
    text, which is ``doc.text`` (kept, as ``doc.text`` is rebuilt from the tokens at each call)."""

    text: str
    lang: str
    day: date
    source: SourceInfo | None
    explain: bool = False


@dataclass(slots=True)
class SentenceView:
    """One sentence of a Doc as the rules read it: its text, lower-cased text (apostrophes as '),
    and its tokens with offsets inside the sentence."""

    index: int
    text: str
    lower: str
    tokens: list[Token]
    starts: list[int]  # each token's first character in the sentence

    def tok_at(self, char: int) -> int:
        """The index of the token at (or last before) ``char`` of the sentence."""
        return max(0, bisect.bisect_right(self.starts, char) - 1)


def build(lang: str, rules: Extractor) -> Language:
    """The pipeline for ``lang``, its components initialized with ``rules``."""
    nlp = spacy.blank(lang)
    nlp.tokenizer = Tokenizer(nlp.vocab, lang)
    nlp.add_pipe("claimwatch_lemmatizer", config={"mode": LEMMATIZER_MODES[lang]})
    nlp.add_pipe("claimwatch_sentences")
    for name in STAGES:
        nlp.add_pipe(name)
    nlp.get_pipe("claimwatch_lemmatizer").initialize(nlp=nlp)
    for name in STAGES:
        nlp.get_pipe(name).initialize(nlp=nlp, rules=rules)
    return nlp


class Tokenizer:
    """The tokens the rules were written on (``text.token_spans``); runs of whitespace other than
    one space become whitespace tokens, so ``doc.text`` is the text given."""

    def __init__(self, vocab: Vocab, lang: str) -> None:
        self.vocab = vocab
        self.lang = lang

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        at = 0
        for start, end, _ in token_spans(text, self.lang):
            if start > at:
                if words and not spaces[-1] and text[at:start] == " ":
                    spaces[-1] = True
                else:
                    words.append(text[at:start])
                    spaces.append(False)
            words.append(text[start:end])
            spaces.append(False)
            at = end
        if at < len(text):
            words.append(text[at:])
            spaces.append(False)
        return Doc(self.vocab, words=words, spaces=spaces)

    def to_bytes(self, **_: Any) -> bytes:
        return b""

    def from_bytes(self, _data: bytes, **_: Any) -> Tokenizer:
        return self


@Language.factory("claimwatch_lemmatizer", default_config={"mode": "lookup"})
def make_lemmatizer(nlp: Language, name: str, mode: str) -> CachedLemmatizer:
    return CachedLemmatizer(nlp.create_pipe("lemmatizer", name=name, config={"mode": mode}))


class CachedLemmatizer:
    """The language's own spaCy lemmatizer, asked once per word form: without a tagger its
    reading of a form never changes, and a pymorphy3 parse is the costly part of lemmatizing."""

    def __init__(self, lemmatizer: Any) -> None:
        self.lemmatizer = lemmatizer
        self.name = lemmatizer.name
        self._lemmas: dict[int, int] = {}

    def initialize(self, get_examples: Callable[[], Any] | None = None, *, nlp: Language | None = None) -> None:
        self.lemmatizer.initialize(get_examples, nlp=nlp)

    def __call__(self, doc: Doc) -> Doc:
        lemmas = self._lemmas
        strings = doc.vocab.strings
        found = doc.to_array([ORTH, LEMMA])
        for i, orth in enumerate(found[:, 0].tolist()):
            lemma = lemmas.get(orth)
            found[i, 1] = lemma if lemma is not None else remembered(
                lemmas, orth, lambda: strings.add(self._lemma(doc[i])), 500_000)
        doc.from_array([ORTH, LEMMA], found)
        return doc

    def _lemma(self, token: Any) -> str:
        try:
            return self.lemmatizer.lemmatize(token)[0]
        except Exception:  # pymorphy3 fails on some characters ('𗀀': unicodedata.name has none): keep the form
            return token.lower_


@Language.factory("claimwatch_sentences")
def make_sentences(nlp: Language, name: str) -> Sentences:
    return Sentences(name)


class Sentences:
    """Sentence and line boundaries (``text.sentence_spans``: not after abbreviations or
    initials), set on the tokens, and each sentence's token view in ``doc._.claimwatch_sentences``.
    Tokens between sentences (a closing quote after the full stop) belong to none."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._seen: dict[str, tuple[str, str]] = {}  # token text -> (lower, kind)

    def __call__(self, doc: Doc) -> Doc:
        post: PostContext | None = doc._.claimwatch_post
        text = post.text if post is not None else doc.text
        strings = doc.vocab.strings
        found = doc.to_array([ORTH, LEMMA, IDX, IS_SPACE]).tolist()
        tokens = [(i, row) for i, row in enumerate(found) if not row[3]]
        starts = [row[2] for _, row in tokens]
        views: list[SentenceView] = []
        for index, (start, end) in enumerate(sentence_spans(text)):
            first = bisect.bisect_left(starts, start)
            last = bisect.bisect_left(starts, end)
            if first < len(tokens):
                doc[tokens[first][0]].is_sent_start = True
            view = [self._token(strings[orth], strings[lemma], idx - start) for _, (orth, lemma, idx, _) in tokens[first:last]]
            views.append(SentenceView(index, text[start:end], lowered(text[start:end]), view, [t.start for t in view]))
        doc._.claimwatch_sentences = views
        return doc

    def _token(self, text: str, lemma: str, start: int) -> Token:
        known = self._seen.get(text) or remembered(self._seen, text, lambda: (lowered(text), token_kind(text)))
        return Token(text, known[0], start, start + len(text), known[1], lemma)


class Stage:
    """A component that reads one kind of fact from each sentence with the ``Extractor``'s rules."""

    def __init__(self, name: str, read: Callable[[Extractor, SentenceView, SentenceFacts, PostContext], None]) -> None:
        self.name = name
        self.read = read
        self.rules: Extractor | None = None

    def initialize(self, get_examples: Callable[[], Any] | None = None, *, nlp: Language | None = None,
                   rules: Extractor | None = None) -> None:
        """Take the loaded word lists and gazetteer (``Extractor.load()`` reads them from ``data/``)."""
        if rules is None:
            from bot.engine.extract import Extractor

            rules = Extractor.load()
        self.rules = rules

    def _initialized(self) -> Extractor:
        if self.rules is None:
            raise ValueError(f"{self.name} is not initialized: call nlp.get_pipe({self.name!r}).initialize()")
        return self.rules

    def __call__(self, doc: Doc) -> Doc:
        rules = self._initialized()
        ext = doc._  # each ``doc._`` builds a new accessor: one per component and post
        post: PostContext = ext.claimwatch_post
        for view, facts in zip(ext.claimwatch_sentences, ext.claimwatch_facts):
            if view.tokens:
                self.read(rules, view, facts, post)
        return doc


@Language.factory("claimwatch_places")
def make_places(nlp: Language, name: str) -> Places:
    return Places(name, lambda rules, view, facts, post: rules.read_places(view, facts, post.lang))


class Places(Stage):
    """The first reading component: it opens each sentence's facts, then reads the places."""

    def __call__(self, doc: Doc) -> Doc:
        ext = doc._
        ext.claimwatch_facts = [self._initialized().new_facts(view) for view in ext.claimwatch_sentences]
        return super().__call__(doc)


#: The components between places and claims: each runs one ``Extractor`` rule on every sentence.
SENTENCE_READERS: dict[str, Callable[[Extractor, SentenceView, SentenceFacts, PostContext], None]] = {
    "claimwatch_kinds": lambda rules, view, facts, post: rules.read_kinds(view, facts),
    "claimwatch_counts": lambda rules, view, facts, post: rules.read_counts(view, facts),
    "claimwatch_blame": lambda rules, view, facts, post: rules.read_blame(view, facts),
    "claimwatch_claimant": lambda rules, view, facts, post: rules.read_claimant(view, facts),
    "claimwatch_dates": lambda rules, view, facts, post: rules.read_date(view, facts, post.day),
}


def _stage_factory(read: Callable[[Extractor, SentenceView, SentenceFacts, PostContext], None]) -> Callable[..., Stage]:
    def make(nlp: Language, name: str) -> Stage:
        return Stage(name, read)

    return make


for _name, _read in SENTENCE_READERS.items():
    Language.factory(_name, func=_stage_factory(_read))


@Language.factory("claimwatch_control")
def make_control(nlp: Language, name: str) -> Control:
    return Control(name, lambda rules, view, facts, post: rules.read_control(view, facts))


class Control(Stage):
    """Who holds a town, and who says so. Its phrases written on lemmas are a data file
    (``data/control_phrases.jsonl``, spaCy token patterns) loaded here, as ``SpanRuler`` loads its
    patterns; the rest are the lexicon's ``control`` lists."""

    def initialize(self, get_examples: Callable[[], Any] | None = None, *, nlp: Language | None = None,
                   rules: Extractor | None = None, patterns: list[dict[str, Any]] | None = None) -> None:
        """Take the rules, then compile ``patterns`` (by default those of the data file) into the
        rules' control reader."""
        super().initialize(get_examples, nlp=nlp, rules=rules)
        reader = self._initialized()._control  # the Extractor's ControlReader
        if patterns is None and reader.phrases is not None:
            return  # the file is already compiled into these rules (one Extractor serves each language)
        source = "control_phrases.jsonl" if patterns is None else "patterns"
        if patterns is None:
            patterns = list(srsly.read_jsonl(CONTROL_PHRASES))
        reader.use_phrases(ControlPhrases(patterns, GROUPS, source))


@Language.factory("claimwatch_claims")
def make_claims(nlp: Language, name: str) -> Claims:
    return Claims(name)


class Claims(Stage):
    """The post's claims from all its sentences' facts (``Extractor.assemble``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, lambda *_: None)

    def __call__(self, doc: Doc) -> Doc:
        rules = self._initialized()
        ext = doc._
        post: PostContext = ext.claimwatch_post
        traces: list[Any] | None = [] if post.explain else None
        ext.claims = rules.assemble(post.text, ext.claimwatch_sentences, ext.claimwatch_facts, post, traces)
        ext.claim_traces = traces
        return doc
