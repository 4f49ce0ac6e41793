"""Engines and sessions: SQLite (WAL) by default, PostgreSQL through psycopg 3, migrations with Alembic."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


class DatabaseError(Exception):
    """The database cannot be used; the message is one line for a person."""


def normalize_database_url(url: str) -> str:
    """Accept the URL forms people paste and pick the driver claimwatch ships.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://``; a bare path becomes a
    SQLite URL.

    Raises:
        ValueError: the URL names no database claimwatch can use.
    """
    url = url.strip()
    if not url:
        raise ValueError("is empty")
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"is not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"backend {parsed.get_backend_name()!r} is not supported (use sqlite or postgresql)")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine for a database URL (creating a SQLite file's folder when needed)."""
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def check_connection(engine: Engine) -> None:
    """Connect once; a database that cannot be reached raises DatabaseError with one line."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise DatabaseError(f"cannot reach the database {describe(str(engine.url))}: {reason}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic."""
    from alembic import command
    from alembic.config import Config

    check_connection(engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def is_current(engine: Engine) -> bool:
    """Whether the schema exists at all (the alembic version table is present)."""
    return inspect(engine).has_table("alembic_version")


def open_database(url: str, *, migrate: bool = True) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory for ``url``, migrated to the latest schema.

    Raises:
        DatabaseError: the database cannot be reached or migrated.
    """
    try:
        engine = make_engine(url)
    except ValueError as exc:
        raise DatabaseError(f"database URL {exc}") from None
    if migrate:
        upgrade(engine)
    else:
        check_connection(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def scratch_schema(url: str, prefix: str = "scratch") -> Iterator[tuple[str, str]]:
    """A fresh, empty PostgreSQL schema for tests and benchmarks, dropped afterwards.

    Yields the URL whose ``search_path`` is the schema (``?options=-csearch_path%3D...``, so any
    process can open it) and the schema's name.
    """
    base = normalize_database_url(url)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, pool_pre_ping=True)  # survives a server restart meanwhile
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}", schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

# ---------------------------------------------------------------- riding out a database restart

RETRY_DEADLINE = 300.0  # seconds a unit of work keeps retrying while the database is away
_RETRY_FIRST, _RETRY_CAP = 0.25, 5.0


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` says the database went away (restart, network), not that the work is wrong."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        import sqlite3

        return not isinstance(exc.orig, sqlite3.OperationalError)  # "database is locked" etc. are not
    return False


def retry_on_disconnect(work: Callable[[], T], *, deadline: float = RETRY_DEADLINE,
                        sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work`` (one whole transaction) again while the database is unreachable.

    Safe only for work that is one transaction and idempotent once committed: a transaction cut
    by a restart was rolled back, so running it again stores everything once.

    Raises:
        The last disconnect error when the database is still away after ``deadline`` seconds,
        or any other error at once.
    """
    started = time.monotonic()
    delay = _RETRY_FIRST
    while True:
        try:
            return work()
        except DBAPIError as exc:
            if not is_disconnect(exc) or time.monotonic() - started + delay > deadline:
                raise
            logger.warning("database unavailable (%s); retrying in %.1f s",
                           str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__, delay)
            sleep(delay)
            delay = min(_RETRY_CAP, delay * 2)
