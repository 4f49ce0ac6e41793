"""Words as the gazetteer reads them: normalized keys, morphology (pymorphy3 readings, cached per word), KMU 2010 romanization and the data files' reader."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


_PERSON_TAGS = frozenset({"Name", "Surn", "Patr"})


_PROPER_TAGS = _PERSON_TAGS | {"Geox", "Orgn", "Trad", "Abbr"}


_APOSTROPHES = str.maketrans({c: "'" for c in "’ʼ`´‘ʹ"})


_CYRILLIC = re.compile("[а-яёіїєґ]")


_TOKENS_SPLIT = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


_TOKENS_HYPHENATED = re.compile(r"\w+(?:['-]\w+)*|[^\w\s]")


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

