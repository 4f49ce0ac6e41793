"""A list of sources in a file: ``claimwatch sources add --defaults`` (``seeds/sources.tsv``),
``sources import FILE.tsv`` and ``sources export [FILE]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.services.sources import SourceError, check_side, now_utc, parse_target
from store import queries
from store.models import Transport


SOURCE_COLUMNS = ("handle", "channel_id", "name", "role", "side", "home_oblast", "url")


@dataclass(frozen=True, slots=True)
class ImportedSources:
    """What ``import_sources`` did: sources added, sources updated, and one line per refused row."""

    added: int
    updated: int
    refused: tuple[str, ...]


def import_sources(session_factory: sessionmaker[Session], path: Path) -> ImportedSources:
    """Follow the sources a tab-separated file lists (``seeds/sources.tsv``'s columns; ``url``
    for a feed), in one transaction and without network: each is polled at its first due time.

    A channel already known (by its channel id or handle) is updated, not doubled. A row that
    names no channel or feed, or a side that is not one, is refused with its line number; the
    other rows are kept.

    Raises:
        SourceError: the file cannot be read or has no ``name`` column.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]
    if not numbered or "name" not in numbered[0][1].split("\t"):
        raise SourceError(f"{path}: the first line must name the columns ({', '.join(SOURCE_COLUMNS)})")
    header = numbered[0][1].split("\t")
    added = updated = 0
    refused: list[str] = []
    now = now_utc()
    with session_factory.begin() as session:
        for number, line in numbered[1:]:
            row = dict(zip(header, (cell.strip() for cell in line.split("\t"))))
            try:
                target = parse_target(row.get("url") or row.get("handle") or "")
                side = check_side(row.get("side"))
            except SourceError as exc:
                refused.append(f"{path.name} line {number}: {exc}")
                continue
            channel_id = row.get("channel_id") or ""
            source = (queries.get_source_by_ref(session, channel_id) if channel_id else None) or (
                queries.get_source(session, target.handle) if target.handle else
                queries.get_source_by_ref(session, target.ref))
            if source is None:
                source = queries.upsert_source(session, target.ref, row.get("name") or target.label,
                                               transport=target.transport.value, handle=target.handle,
                                               url=target.url)
                source.next_poll_at = now
                added += 1
            else:
                source.transport = target.transport.value
                source.handle = target.handle or source.handle
                source.url = target.url
                source.name = row.get("name") or source.name
                updated += 1
            source.role = row.get("role") or source.role
            source.side = side or source.side
            source.home_oblast = row.get("home_oblast") or source.home_oblast
            source.active = True
    return ImportedSources(added, updated, tuple(refused))


def export_sources(session_factory: sessionmaker[Session]) -> str:
    """The followed sources as a tab-separated file that ``import_sources`` reads back."""
    with session_factory() as session:
        rows = ["\t".join(SOURCE_COLUMNS)]
        for s in queries.list_sources(session):
            cells = (s.handle or "", s.ref if s.ref.lstrip("-").isdigit() else "", s.name, s.role or "",
                     s.side or "", s.home_oblast or "", s.url if s.transport == Transport.FEED.value else "")
            rows.append("\t".join(" ".join(str(c).split()) for c in cells))
    return "\n".join(rows) + "\n"
