"""Locks that make ingestion race-free: one ingest lock per process, one lock per linking block.

- ``ingest_lock()``: every path that stores posts and links their claims (channel posts, polls,
  imports, a source's backfill) holds it for its whole transaction, so within one process
  ingestion transactions run one at a time whatever carried the post.
- ``lock_block(session, kind_group, place_key)``: taken before the candidate incidents of a
  claim's block are read. On PostgreSQL it is ``pg_advisory_xact_lock`` on a key derived from the
  block, held until the transaction ends, so two processes (a bot and an import, two imports)
  never both decide that a block has no incident yet and each create one. On SQLite the write
  transaction already serialises writers: a transaction reaches the linking step only after its
  first INSERT, which holds the database's write lock until commit, so nothing is needed.

Two transactions that lock the same blocks in opposite orders deadlock on PostgreSQL; the server
aborts one of them, and ``store.db.retry_on_disconnect`` runs that whole transaction again. A
transaction that knows its blocks beforehand (a poll, see ``bot.services.prepared``) takes them
all first with ``lock_blocks``, in one sorted order, so it queues instead (the advisory locks are
re-entrant: ``lock_block`` on a block already held returns at once).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterable, Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

_INGEST_LOCK = threading.RLock()


@contextlib.contextmanager
def ingest_lock() -> Iterator[None]:
    """Hold the process's ingest lock (re-entrant) around one ingestion transaction."""
    with _INGEST_LOCK:
        yield


def block_key(kind_group: str, place_key: str) -> int:
    """A signed 64-bit advisory lock key for the linking block (kind group, place)."""
    digest = hashlib.blake2b(f"claimwatch-block\x1f{kind_group}\x1f{place_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_block(session: Session, kind_group: str, place_key: str) -> None:
    """Lock the linking block of a claim until the transaction ends (PostgreSQL; a no-op on SQLite).

    Call it before reading the block's candidate incidents.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": block_key(kind_group, place_key)})


def lock_blocks(session: Session, blocks: Iterable[tuple[str, str]]) -> None:
    """Lock several linking blocks (kind group, place key) in one order (sorted by lock key)
    until the transaction ends (PostgreSQL; a no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({block_key(group, place) for group, place in blocks}):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
