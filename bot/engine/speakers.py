"""Who is who among claimants: one official or body under several labels is one claimant.

Extraction labels a claim with whatever the text credits: a name in any script and case
("Oleh Syniehubov", "Синєгубова", "Synehubov"), a title ("Kharkiv RMA head", "глава региона"),
a joint label ("Kyiv mayor (Klitschko) and Тимур Ткаченко") or, when the text credits no one,
the channel's name ("ГСЧС Украины (RU)"). Conflict detection must not read one official's rising
toll as two claimants disagreeing, so each label is resolved to a set of identities:

- officials and bodies the extraction tables name (``officials.tsv`` stems, ``institutions.tsv``
  patterns), whatever the label's language;
- a title with no name ("the governor", "мэр", "глава ОВА") as the holder of that office for
  the claim's place (the governor of its oblast, the mayor of its town), from ``officials.tsv``;
- a personal name no table knows, by its surname romanized and folded (Tymur / Timur / Тимура
  Ткаченко give one key);
- otherwise the label itself, without case or bracketed details.

Two claims are of one claimant when their identities overlap (a joint statement shares each of
its claimants').
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.engine.officials import Official, read_officials
from bot.engine.text import read_tsv_records
from bot.engine.types import ClaimRecord

DATA_DIR = Path(__file__).resolve().parent / "data"
_BRACKETS = re.compile(r"\(([^)]*)\)")
_CYRILLIC = dict(zip(
    "абвгґдеєжзиіїйклмнопрстуфхцчшщьъыэюяё",
    "a b v h h d e ie zh z y i i i k l m n o p r s t u f kh ts ch sh shch - - y e iu ia e".split(), strict=True))
# Latin spellings of one sound that transliterations choose between (Klitschko / Klychko,
# Syniehubov / Synehubov, Gladkov / Hladkov).
_FOLDS = (("tsch", "ch"), ("kh", "h"), ("g", "h"), ("ie", "e"), ("y", "i"), ("j", "i"), ("w", "v"),
          ("ii", "i"), ("x", "ks"))
_KEY_LEN = 6


@dataclass(frozen=True, slots=True)
class _Tables:
    offices: tuple[Official, ...]
    bodies: tuple[tuple[re.Pattern[str], str], ...]
    governor: re.Pattern[str]
    mayor: re.Pattern[str]
    qualifiers: re.Pattern[str]


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    offices = tuple(read_officials(DATA_DIR / "officials.tsv"))
    # generic bodies ("officials", outlets) name no one in particular
    bodies = tuple((re.compile(row["pattern"]), row["claimant"])
                   for row in read_tsv_records(DATA_DIR / "institutions.tsv") if row["side"])
    path = DATA_DIR / "linking.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        titles = {key: re.compile("|".join(f"(?:{p})" for p in data["titles"][key]))
                  for key in ("governor", "mayor", "label_qualifiers")}
    except (KeyError, re.error) as exc:
        raise ValueError(f"{path}: bad 'titles' patterns: {exc}") from exc
    return _Tables(offices, bodies, titles["governor"], titles["mayor"], titles["label_qualifiers"])


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    return re.sub("[’ʼ`´‘]", "'", text)


def name_key(word: str) -> str:
    """A surname as compared: romanized, with the spellings of one sound folded, cut to its stem
    (so that case endings do not count: Ткаченко / Ткаченка)."""
    latin = "".join(_CYRILLIC.get(ch, ch) for ch in _norm(word)).replace("-", "")
    latin = re.sub(r"[^a-z]", "", latin)
    for old, new in _FOLDS:
        latin = latin.replace(old, new)
    latin = re.sub(r"(.)\1+", r"\1", latin)
    return latin[:_KEY_LEN]


def _surnames(parts: list[str], qualifiers: re.Pattern[str]) -> set[str]:
    """The surnames some words name: the last word of each, when it is capitalized (a name, not
    "officials"), not an abbreviation, and the words are not a label's detail ("as reported", "EN")."""
    out: set[str] = set()
    for part in parts:
        if qualifiers.fullmatch(_norm(part).strip()):
            continue
        words = re.findall(r"[^\W\d_][\w'’ʼ-]*", part)
        if words and len(last := words[-1]) >= 4 and last[0].isupper() and not last.isupper():
            out.add("name:" + name_key(last))
    return out


def label(record: ClaimRecord) -> str:
    """The claimant as shown: the credited person or body, else the channel."""
    return record.claim.claimant or record.source_name


def plain(record: ClaimRecord) -> str:
    """The label as compared when nothing else identifies it: case and bracketed details do not count."""
    return " ".join(_BRACKETS.sub(" ", label(record)).casefold().split())


_JOINERS = re.compile(r"\s+(?:and|і|и|та)\s+|,|;")


def _part_ids(part: str, place: str, oblast: str | None) -> set[str]:
    """The identities a part of a label names: the official (and its surname), else the body,
    else the office's holder, and the surname of a person no table knows. An official's own
    label ("Interior Ministry adviser (Gerashchenko)") names the official, not the ministry."""
    tables = _tables()
    low = _norm(part)
    officials = {o.claimant for o in tables.offices
                 if any(re.search(r"(?<!\w)" + re.escape(stem), low) for stem in o.stems)}
    if officials:
        return officials | {n for o in officials for n in _surnames(_BRACKETS.findall(o), tables.qualifiers)}
    bodies = {claimant for pattern, claimant in tables.bodies if pattern.search(low)}
    if bodies:
        return bodies
    ids: set[str] = set()
    if tables.governor.search(low):
        ids = {o.claimant for o in tables.offices if oblast and o.oblast == oblast and "governor" in o.claimant}
    elif tables.mayor.search(low):
        ids = {o.claimant for o in tables.offices if o.place == place and "mayor" in o.claimant}
    ids |= {n for o in ids for n in _surnames(_BRACKETS.findall(o), tables.qualifiers)}
    # a bracket holds a name alone ("(Bratchuk)"); outside brackets a name comes with a first name
    # or a title ("Сергій Братчук", "spokesman Peskov"), one word alone is a channel's name
    outside = _BRACKETS.sub(" ", part)
    named = [outside] if len(outside.split()) >= 2 else []
    return ids | _surnames([*named, *_BRACKETS.findall(part)], tables.qualifiers)


@lru_cache(maxsize=4096)
def _label_ids(text: str, place: str, oblast: str | None) -> frozenset[str]:
    # a bracket belongs to the part before it ("Kyiv mayor (Klitschko) and Тимур Ткаченко")
    parts = _JOINERS.split(_BRACKETS.sub(lambda m: " (" + m.group(1).replace(",", " ") + ") ", text))
    ids: set[str] = set()
    for part in parts:
        ids |= _part_ids(part, place, oblast)
    if not ids:
        ids.add("label:" + " ".join(_BRACKETS.sub(" ", _norm(text)).split()))
    return frozenset(ids)


def identities(record: ClaimRecord) -> frozenset[str]:
    """The officials or bodies a claim's claimant label stands for (see the module docstring)."""
    place = record.claim.place
    return _label_ids(label(record), place.name, place.oblast)


def same_claimant(a: ClaimRecord, b: ClaimRecord) -> bool:
    """Whether two claims come from one claimant (identities overlap)."""
    return bool(identities(a) & identities(b))


def group_by_claimant(records: list[ClaimRecord]) -> list[list[ClaimRecord]]:
    """The records grouped by claimant: records whose identities overlap, directly or through
    others, form one group; groups in the order of their first record."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, record in enumerate(records):
        for ident in identities(record):
            j = owner.setdefault(ident, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[ClaimRecord]] = {}
    for i, record in enumerate(records):
        groups.setdefault(find(i), []).append(record)
    return [groups[k] for k in sorted(groups)]
