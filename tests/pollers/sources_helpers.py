"""Helpers for the polling-service and ``claimwatch sources``/``poll`` tests.

Settings pointing t.me at the local server, an opened (migrated) database, stored rows read back,
preview pages assembled from the real saved messages, and a tiny RSS document.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pollers_helpers import LocalServer, Reply, message_id_of, split_messages
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings, load_settings
from store.db import open_database
from store.models import Post, Source

logger = logging.getLogger(__name__)

CHANNEL = "topwar_official"
FULL_IDS = [70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008]


def make_settings(database_url: str, server: LocalServer, *, allow_private: bool = True) -> Settings:
    """Settings as the entry point builds them, with t.me served by the local server."""
    return load_settings(
        CLAIMWATCH_DATABASE_URL=database_url,
        CLAIMWATCH_TME_URL=server.url(""),
        CLAIMWATCH_ALLOW_PRIVATE_URLS=allow_private,
    )


def open_db(database_url: str) -> sessionmaker[Session]:
    """A migrated database's session factory."""
    _, session_factory = open_database(database_url)
    return session_factory


def stored_posts(session_factory: sessionmaker[Session], ref: str = CHANNEL) -> list[Post]:
    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.ref == ref))
        assert source is not None, f"no source {ref}"
        return list(session.scalars(select(Post).where(Post.source_id == source.id).order_by(Post.message_id)))


def stored_source(session_factory: sessionmaker[Session], ref: str) -> Source:
    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.ref == ref))
        assert source is not None, f"no source {ref}"
        session.expunge(source)
        return source


def update_source(session_factory: sessionmaker[Session], ref: str, **fields: Any) -> None:
    with session_factory.begin() as session:
        source = session.scalar(select(Source).where(Source.ref == ref))
        assert source is not None
        for name, value in fields.items():
            setattr(source, name, value)


def page_of(page: str, pieces: Sequence[str]) -> Reply:
    """A preview page answer holding ``pieces`` (message bubbles) inside ``page``'s frame."""
    head, _, tail = split_messages(page)
    return Reply(200, (head + "".join(pieces) + tail).encode("utf-8"),
                 {"Content-Type": "text/html; charset=utf-8"})


def messages_of(page: str) -> list[str]:
    return split_messages(page)[1]


def edit_message(pieces: Sequence[str], message_id: int, old: str, new: str) -> list[str]:
    """The bubbles with one message's text changed (as t.me shows an edited post)."""
    out = []
    for piece in pieces:
        if message_id_of(piece) == message_id:
            assert old in piece
            piece = piece.replace(old, new)
        out.append(piece)
    return out


def rss(entries: Sequence[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 document with (guid, title, RFC 822 date) entries."""
    items = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><pubDate>{date}</pubDate>"
        f"<link>https://example.org/{guid}</link></item>"
        for guid, title, date in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Regional administration</title><link>https://example.org/</link>{items}"
        "</channel></rss>"
    ).encode()
