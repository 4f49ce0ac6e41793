"""A poll's extraction done before its storing transaction, and the linking blocks it will lock.

When several processes store polls into one PostgreSQL database (``claimwatch worker``), what
they may do at the same time is read posts: extraction is CPU work that needs no lock. So a poll
first reads which of its posts are new or edited (a read, no lock), extracts those outside any
transaction, and hands ``bot.services.ingest`` a ``PreparedExtractor`` that answers from those
results. The storing transaction then locks every linking block its claims fall in, in one
sorted order, before ingest links them one by one (``store.locks.lock_blocks``): two
transactions whose claims share blocks then queue on the first shared block instead of
deadlocking half-way (PostgreSQL would abort one, and the whole poll would be stored again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.extract import Extractor
from bot.engine.linking import block_keys, link_key
from bot.engine.types import Claim, PostIn, SourceInfo
from bot.services.ingest import source_info
from store.db import retry_on_disconnect
from store.queries.sources import get_source_by_ref, stored_texts

Key = tuple[str, datetime | None]


class PreparedExtractor:
    """The extractor, answering from claims extracted beforehand for the same text and time;
    anything else is extracted on the spot by the real one."""

    def __init__(self, extractor: Extractor, claims: dict[Key, list[Claim]]) -> None:
        self._extractor = extractor
        self._claims = claims

    def __getattr__(self, name: str) -> Any:
        return getattr(self._extractor, name)

    def extract_many(self, posts: Iterable[tuple[str, datetime | None, SourceInfo | None, str | None]],
                     **options: Any) -> list[list[Claim]]:
        items = list(posts)
        out: list[list[Claim] | None] = [self._claims.get((text, posted_at)) for text, posted_at, _, _ in items]
        missing = [i for i, claims in enumerate(out) if claims is None]
        if missing:
            for i, claims in zip(missing, self._extractor.extract_many([items[i] for i in missing], **options)):
                out[i] = claims
        return [list(claims or []) for claims in out]

    def extract_claims(self, text: str, *, posted_at: datetime | None = None, source: SourceInfo | None = None,
                       lang: str | None = None) -> list[Claim]:
        found = self._claims.get((text, posted_at))
        if found is not None:
            return list(found)
        return self._extractor.extract_claims(text, posted_at=posted_at, source=source, lang=lang)

    def blocks(self) -> list[tuple[str, str]]:
        """The linking blocks (kind groups, place key) of every claim extracted beforehand, as
        ``bot.services.ingest`` locks them, sorted."""
        gazetteer = getattr(self._extractor, "gazetteer", None)
        found = {("+".join(link_key(claim.kind.group)), block_keys(claim.place, gazetteer)[0])
                 for claims in self._claims.values() for claim in claims}
        return sorted(found)


def prepare(session_factory: sessionmaker[Session], ref: str, posts: Sequence[PostIn],
            extractor: Extractor) -> PreparedExtractor:
    """Extract, outside any transaction, the posts of source ``ref`` that are not stored yet or
    were edited (one read of the stored texts first)."""

    def read() -> tuple[SourceInfo | None, dict[int, str]]:
        with session_factory() as session:
            source = get_source_by_ref(session, ref)
            if source is None:
                return None, {}
            return source_info(source), stored_texts(session, source.id, [p.message_id for p in posts])

    info, stored = retry_on_disconnect(read)
    if info is None:
        return PreparedExtractor(extractor, {})
    fresh = [p for p in posts if stored.get(p.message_id) != p.text]
    results = extractor.extract_many([(p.text, p.posted_at, info, None) for p in fresh])
    return PreparedExtractor(extractor, {(p.text, p.posted_at): claims for p, claims in zip(fresh, results)})
