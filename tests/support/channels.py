"""A Telegram channel that is already a followed source (an admin approved it earlier), for tests
whose subject is what happens to that channel's posts rather than the vetting itself."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from store import queries
from store.models import Transport


def follow_channel(session_factory: sessionmaker[Session], chat_id: int, title: str,
                   username: str | None = None) -> None:
    """Make ``chat_id`` a followed Telegram source (idempotent)."""
    with session_factory.begin() as session:
        queries.upsert_source(session, str(chat_id), title, handle=username, transport=Transport.TELEGRAM,
                              url=f"https://t.me/{username}" if username else None)
