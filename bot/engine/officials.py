"""The officials claimwatch knows by name (``data/officials.tsv``): extraction credits them, and
conflict detection tells one official under several labels from two."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.engine.text import read_tsv_records
from bot.engine.types import Side


@dataclass(frozen=True, slots=True)
class Official:
    """One office holder: name stems (any inflected form starts with one), the claimant label,
    the side, and the town or oblast the office speaks for."""

    stems: tuple[str, ...]
    claimant: str
    side: Side | None
    place: str | None
    oblast: str | None


def read_officials(path: Path) -> list[Official]:
    """The rows of an officials table (columns names, claimant, side, place, oblast)."""
    return [
        Official(tuple(s.strip() for s in row["names"].split("|") if s.strip()), row["claimant"],
                 Side(row["side"]) if row["side"] else None, row["place"] or None, row["oblast"] or None)
        for row in read_tsv_records(path)
    ]
