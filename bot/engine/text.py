"""Text primitives for extraction: language guess, sentence splitting, tokens and numbers, and
``storable`` for text from outside that is about to be stored."""

from __future__ import annotations

import csv
import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

_UK_ONLY = set("іїєґІЇЄҐ")
_RU_ONLY = set("ыэъёЫЭЪЁ")

_TOKEN_RE = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:[-'’ʼ`][^\W\d_]+)*(?:-\d+)?)"
    r"|(?P<punct>\S)"
)
_TAG_RE = re.compile(r"<[^>]{0,200}>")
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_MD_RE = re.compile(r"[*_~`]{1,3}")
_SPLIT_RE = re.compile(r"(?<=[.!?…])[\"»”’)]*\s+|\n+")
_ABBREVIATIONS = frozenset(
    "тыс тис м с г обл р-н ст им ім вул ул пр просп mr mrs dr st gen lt col no vs т.ч т.е т.к смт пгт км".split()
)
APOSTROPHES = "’ʼ`"
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
K = TypeVar("K")
V = TypeVar("V")


def storable(text: str) -> str:
    """``text`` as every database can keep it: NUL removed (PostgreSQL refuses it in text) and lone
    surrogates (which a JSON escape like ``\\ud800`` can produce, and no UTF-8 encoder writes)
    replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE_RE.sub("\ufffd", text)
    return text


def normalize(text: str) -> str:
    """Clean a post for reading: NFC, HTML entities and tags, Markdown marks and URLs removed."""
    text = unicodedata.normalize("NFC", text)
    if "<" in text or "&" in text:
        text = html.unescape(_TAG_RE.sub(" ", text))
    text = _URL_RE.sub(" ", text)
    text = _MD_RE.sub("", text)
    return text.replace("\u00a0", " ").replace("\u200b", "")


def guess_language(text: str) -> str:
    """'uk', 'ru' or 'en' from the letters a text uses (Cyrillic without telltales reads as Russian)."""
    uk = ru = cyr = lat = 0
    for ch in text:
        if ch in _UK_ONLY:
            uk += 1
        elif ch in _RU_ONLY:
            ru += 1
        if "а" <= ch.lower() <= "я" or ch in _UK_ONLY or ch in _RU_ONLY:
            cyr += 1
        elif "a" <= ch.lower() <= "z":
            lat += 1
    if cyr > lat:
        return "uk" if uk > ru else "ru"
    return "en"


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of a text, not breaking after common abbreviations and initials."""
    return [text[start:end] for start, end in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where the sentences of ``split_sentences`` lie in ``text``: (start, end) character offsets,
    surrounding whitespace left out."""
    out: list[tuple[int, int]] = []
    start = 0
    for match in _SPLIT_RE.finditer(text):
        piece = text[start:match.start()].rstrip()
        last_word = re.search(r"([^\W\d_][\w.-]*)\.?[\"»”’)]*$", piece)
        if "\n" not in match.group() and last_word:
            word = last_word.group(1).lower().rstrip(".")
            if word in _ABBREVIATIONS or (len(word) == 1 and piece.endswith(".")):
                continue
        _add_stripped(out, text, start, start + len(piece))
        start = match.end()
    _add_stripped(out, text, start, len(text))
    return out


def _add_stripped(out: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        out.append((start + lead, start + lead + len(stripped)))


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    lower: str
    start: int
    end: int
    kind: str  # word | num | punct
    lemma: str = ""  # the lemmatizer's reading, in the pipelines (``bot.engine.pipeline``)

    @property
    def is_word(self) -> bool:
        return self.kind == "word"

    @property
    def is_capitalized(self) -> bool:
        return self.kind == "word" and self.text[:1].isupper()


def token_spans(text: str, lang: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of the words, numbers and punctuation of a text; English possessives
    split off ("Kyiv", "’s"). Whitespace belongs to no token."""
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "punct"
        start, end = m.span()
        if kind == "word" and lang == "en" and end - start > 2 and text[end - 2] in "'’" and text[end - 1] in "sS":
            yield start, end - 2, kind
            yield end - 2, end, "word"
            continue
        yield start, end, kind


def tokenize(sentence: str, lang: str) -> list[Token]:
    """Words, numbers and punctuation of one sentence (``token_spans``)."""
    return [Token(sentence[start:end], lowered(sentence[start:end]), start, end, kind)
            for start, end, kind in token_spans(sentence, lang)]


def token_kind(text: str) -> str:
    """The kind ``token_spans`` gives a token with this text: 'num', 'word' or 'punct'."""
    m = _TOKEN_RE.fullmatch(text)
    return (m.lastgroup or "punct") if m else "word"


def lowered(text: str) -> str:
    """A token's text as the word lists read it: lower case, every apostrophe written '."""
    lower = text.lower()
    for ch in APOSTROPHES:
        lower = lower.replace(ch, "'")
    return lower


def parse_digits(text: str) -> float | None:
    """'10' -> 10, '1,5' -> 1.5 (a decimal comma), '1.500' is read as 1.5 too."""
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def remembered(seen: dict[K, V], key: K, compute: Callable[[], V], size: int = 200_000) -> V:
    """``seen[key]``, computed once by ``compute()``; the memo is emptied when it holds ``size``
    answers, as a bot running for months reads new words without end. Per-word memos on the hot
    path look ``seen`` up themselves first, so that a hit builds no ``compute``."""
    try:
        return seen[key]
    except KeyError:
        if len(seen) > size:
            seen.clear()
        value = seen[key] = compute()
        return value


def any_of(patterns: Iterable[str]) -> WordList:
    """One pattern matching any of ``patterns`` (regular expressions of a word list)."""
    return WordList("(?:" + "|".join(patterns) + ")")


class WordList:
    """A word list compiled to one regular expression, whose ``fullmatch`` of a word is remembered:
    a post repeats its words, and a corpus its vocabulary, so each distinct word is matched once.
    Other methods are those of the compiled pattern."""

    __slots__ = ("_compiled", "_seen")

    def __init__(self, source: str) -> None:
        self._compiled = re.compile(source)
        self._seen: dict[str, re.Match[str] | None] = {}

    def fullmatch(self, word: str) -> re.Match[str] | None:
        try:  # the hot path: a word seen before
            return self._seen[word]
        except KeyError:
            return remembered(self._seen, word, lambda: self._compiled.fullmatch(word))

    def __getattr__(self, name: str) -> object:
        return getattr(self._compiled, name)


def read_tsv_records(path: Path) -> list[dict[str, str]]:
    """The rows of a tab-separated data file with a header line, as dicts; blank lines and lines
    starting with "#" are comments. Quotes are plain characters."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
