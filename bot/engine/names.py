"""Names in the reader's language: settlements, regions and claimants in Ukrainian, Russian or English.

Settlements come from the gazetteer (KATOTTG's Ukrainian names, GeoNames' Russian ones) with a
few corrections in ``data/names/places.tsv``; regions and claimants from ``data/names/*.tsv``.
What no table names is shown as stored (English for places, as extracted for claimants): a
reader may meet a Latin name, never a wrong one.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.engine.gazetteer import Gazetteer
from bot.engine.text import read_tsv_records
from bot.engine.types import Place

NAMES_DIR = Path(__file__).resolve().parent / "data" / "names"
LANGS = ("en", "uk", "ru")
#: Alphabetical order of each language, for sorting names as its readers expect ("Івано-Франківська"
#: after "Запорізька", not after "Черкаська" as code points would have it).
ALPHABETS = {
    "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
}
#: How joint claimants are joined ("A and B").
_AND = {"en": " and ", "uk": " і ", "ru": " и "}
_REGION_WORDS = re.compile(r"\b(?:область|обл|oblast|region|регион|регіон|krai|край)\b\.?")


@dataclass(frozen=True, slots=True)
class RegionName:
    """A region's full name and its short label (for buttons) in one language."""

    full: str
    short: str


def _rows(path: Path) -> Iterator[dict[str, str]]:
    for number, row in enumerate(read_tsv_records(path), start=2):
        if None in row.values() or None in row:
            raise ValueError(f"{path}: row {number} does not have the header's columns")
        yield {key: value.strip() for key, value in row.items()}


def _key(text: str) -> str:
    """A name as typed, for comparison: lower case, NFC, one apostrophe, ё as е, no region word."""
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    text = re.sub("[’ʼ`´‘]", "'", text)
    text = _REGION_WORDS.sub(" ", text)
    return " ".join(re.sub(r"[^\w'-]+", " ", text).split())


def sort_key(text: str, lang: str) -> tuple[int, ...]:
    """Alphabetical order in ``lang`` (Ukrainian and Russian letters in their own order)."""
    alphabet = ALPHABETS.get(lang, "")
    out = []
    for ch in unicodedata.normalize("NFC", text.lower()):
        position = alphabet.find(ch)
        out.append(position if position >= 0 else 1000 + ord(ch))
    return tuple(out)


def _region_forms(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(region name, the words the gazetteer knows it by: "харківський", "Харківщина", "kharkov")."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    for row in csv.reader(lines, delimiter="\t"):
        cells = row + [""] * 10
        if cells[3] and cells[3] != "-":
            yield cells[3], [form for cell in cells[7:10] for form in cell.split("|") if form.strip()]


class Names:
    """Looks names up per language; one per process is enough (see `load_names`)."""

    def __init__(self, gazetteer: Gazetteer | None = None, data_dir: Path = NAMES_DIR) -> None:
        """
        Args:
            gazetteer: where settlements' own names come from; without one, settlements keep
                their English names (regions and claimants are still translated).
            data_dir: the folder of ``oblasts.tsv``, ``places.tsv`` and ``claimants.tsv``.

        Raises:
            ValueError: a data file is malformed (the message names it).
        """
        # Only the table of names is kept: a `Names` of its own costs a few MB, not a gazetteer.
        self._local: Mapping[str, tuple[str, str]] = gazetteer.local_names if gazetteer is not None else {}
        self._regions: dict[str, dict[str, RegionName]] = {}
        self._region_keys: dict[str, str] = {}
        for row in _rows(data_dir / "oblasts.tsv"):
            self._regions[row["en"]] = {lang: RegionName(row[lang], row[f"{lang}_short"]) for lang in LANGS}
            for lang in LANGS:
                for form in (row[lang], row[f"{lang}_short"]):
                    self._region_keys.setdefault(_key(form), row["en"])
            self._region_keys.setdefault(_key(row["en"]), row["en"])
        for name, forms in _region_forms(data_dir.parent / "regions.tsv"):
            for form in forms:
                self._region_keys.setdefault(_key(form), name)
        self._places = {row["code"]: (row["uk"], row["ru"]) for row in _rows(data_dir / "places.tsv")}
        self._claimants = {row["en"]: (row["uk"], row["ru"]) for row in _rows(data_dir / "claimants.tsv")}

    def place(self, place: Place, lang: str) -> str:
        """A settlement's name as a reader of ``lang`` writes it ("Харків", "Харьков", "Kharkiv");
        a region-level place gets the region's name."""
        if place.level == "oblast" and place.oblast:
            return self.oblast(place.oblast, lang) or place.name
        if lang not in ("uk", "ru"):
            return place.name
        index = 0 if lang == "uk" else 1
        fixed = self._places.get(place.code or "")
        if fixed and fixed[index]:
            return fixed[index]
        local = self._local.get(place.code or "")
        if local:
            # A Russian reader is better served by the Ukrainian spelling of a village GeoNames
            # does not know than by its Latin transliteration.
            return local[index] or local[1 - index] or place.name
        return place.name

    def oblast(self, name: str | None, lang: str) -> str | None:
        """A region's full name in ``lang`` ("Харківська область"); unknown ones as given."""
        if not name:
            return None
        found = self._regions.get(name)
        return found[lang if lang in LANGS else "en"].full if found else name

    def oblast_short(self, name: str, lang: str) -> str:
        """A region's short label in ``lang`` ("Харківська", "Kharkiv"), for buttons."""
        found = self._regions.get(name)
        return found[lang if lang in LANGS else "en"].short if found else name.removesuffix(" Oblast")

    def find_oblast(self, text: str) -> str | None:
        """The region a reader means, typed in any of the three languages: "Харківська",
        "харьковская область", "Kharkiv" → "Kharkiv Oblast"."""
        return self._region_keys.get(_key(text))

    def claimant(self, label: str, lang: str) -> str:
        """A claimant in ``lang``; a joint one ("A and B") part by part. Names no table knows
        (a channel's title, a person named in a post) are shown as they are."""
        if lang not in ("uk", "ru"):
            return label
        index = 0 if lang == "uk" else 1
        whole = self._claimants.get(label)
        if whole:
            return whole[index]
        parts = label.split(" and ")
        if len(parts) > 1 and any(part in self._claimants for part in parts):
            return _AND[lang].join(self._claimants[p][index] if p in self._claimants else p for p in parts)
        return label


@functools.lru_cache(maxsize=1)
def load_names() -> Names:
    """The process's `Names`, with settlement names read from the gazetteer's cache (built on first
    use); the rest of the gazetteer is not kept."""
    return Names(Gazetteer.load())


@functools.lru_cache(maxsize=1)
def table_names() -> Names:
    """`Names` from the data files alone: regions and claimants, settlements in English."""
    return Names()
