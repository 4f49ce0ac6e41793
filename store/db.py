"""Engines and sessions: SQLite (WAL) by default, PostgreSQL through psycopg 3, migrations with Alembic."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.exc import DatabaseError as SQLDatabaseError
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
        if Path(url).suffix.lower() not in (".db", ".sqlite", ".sqlite3"):
            raise ValueError(f"is not a database URL: {url!r} (use sqlite:///PATH, a file ending in .db, "
                             f"or postgresql://...)")
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
    # 64 MiB of page cache (the default is 2 MiB): linking reads a block's claims with their posts
    # and sources by primary key, pages scattered over a large store
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_readonly_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _pg_readonly(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("SET default_transaction_read_only = on")
    cursor.close()
    dbapi_conn.commit()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    database = parsed.database
    if database.startswith("file:"):
        database = database[5:]
    return Path(database).expanduser()


def _writable_folder(path: Path) -> bool:
    return os.access(path.parent, os.W_OK)


def _prepare_sqlite_folder(path: Path) -> None:
    """Create the default database's folder, or say in one line why it cannot be; any other
    database's folder must exist (a mistyped path is not turned into a tree of new folders)."""
    from config.settings import default_database_url

    default = sqlite_path(default_database_url())
    if not path.parent.exists() and (default is None or path.parent != default.parent):
        raise DatabaseError(f"cannot use the database {path}: the folder {path.parent} does not exist "
                            f"(create it, or point --db elsewhere)")
    for parent in (path.parent, *path.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise DatabaseError(f"cannot use the database {path}: {parent} is a file, not a folder "
                                    f"(point --db or CLAIMWATCH_DATABASE_URL elsewhere)")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the folder {path.parent} for the database: "
                            f"{exc.strerror or exc} (point --db elsewhere)") from None
    if path.is_dir():
        raise DatabaseError(f"cannot use the database {path}: it is a folder, not a file")


def make_engine(url: str, *, readonly: bool = False) -> Engine:
    """Create the engine for a database URL (creating a SQLite file's folder when needed).

    With ``readonly`` an existing SQLite file is opened read-only (``mode=ro``; ``immutable`` on
    a read-only file system, where SQLite could not create its WAL index) and PostgreSQL sessions
    are read-only transactions; nothing is created.

    Raises:
        ValueError: the URL names no database claimwatch can use.
        DatabaseError: the SQLite file's folder cannot be used or created.
    """
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if readonly and path is not None and path.is_file():
            from urllib.parse import quote

            flags = "mode=ro"
            wal = path.with_name(path.name + "-wal")
            if not _writable_folder(path) and not (wal.exists() and wal.stat().st_size):
                flags += "&immutable=1"  # nothing can write there, and no WAL holds newer pages
            engine = create_engine(f"sqlite:///file:{quote(str(path.resolve()))}?{flags}&uri=true",
                                   connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_readonly_pragmas)
            return engine
        if path is not None:
            _prepare_sqlite_folder(path)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    if readonly:
        event.listen(engine, "connect", _pg_readonly)
    return engine


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def explain(exc: BaseException, url: str | None = None) -> str | None:
    """One line for a person about a storage failure claimwatch recognises, else None.

    Covers damaged SQLite files, read-only storage, a full disk and a schema that does not
    match this claimwatch (a column or table missing).
    """
    if not isinstance(exc, SQLDatabaseError):
        return None
    reason = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0] if str(exc) else ""
    where = f"the database {describe(url)}" if url else "the database"
    low = reason.lower()
    if "malformed" in low or "not a database" in low or "disk i/o error" in low:
        return (f"{where} is damaged ({reason}); restore it from a backup "
                f"(claimwatch cannot repair it; `sqlite3 FILE .recover` may save some rows)")
    if "readonly database" in low or "read-only" in low or "read only" in low:
        return (f"{where} is read-only ({reason}); run this command where the database can be written, "
                f"or use read-only commands (report, digest, sources list)")
    if "database or disk is full" in low or "no space left" in low:
        return f"{where}: the disk is full ({reason}); free space and run the command again"
    if "no such column" in low or "no such table" in low or "undefinedcolumn" in low \
            or "does not exist" in low and ("column" in low or "relation" in low):
        return (f"{where} does not match this claimwatch's schema ({reason}); run `claimwatch db upgrade`, "
                f"or restore a backup if it was changed by hand")
    if "database is locked" in low:
        return f"{where} is busy: another claimwatch process holds its write lock; try again in a moment"
    return None


def check_connection(engine: Engine) -> None:
    """Connect once; a database that cannot be reached raises DatabaseError with one line."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        path = sqlite_path(str(engine.url)) if engine.url.get_backend_name() == "sqlite" else None
        if path is not None and "unable to open" in reason and path.exists() and not _writable_folder(path):
            raise DatabaseError(f"cannot write the database {path}: its folder is read-only "
                                f"(read-only commands such as report, digest and sources list still work)") from None
        explained = explain(exc, str(engine.url))
        if explained:
            raise DatabaseError(explained) from None
        raise DatabaseError(f"cannot reach the database {describe(str(engine.url))}: {reason}") from None


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest schema revision this claimwatch knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def check_schema(engine: Engine, *, need_latest: bool) -> str | None:
    """Say in one line what is wrong with the schema, before anything else touches it.

    Returns the current revision (None for an empty database). With ``need_latest`` (commands
    that never migrate) a schema behind this claimwatch's is an error too.

    Raises:
        DatabaseError: tables from before migrations, a revision from a newer claimwatch, an
            outdated schema when ``need_latest``, or a damaged file.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from store.models import Base

    name = describe(str(engine.url))
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            current = MigrationContext.configure(conn).get_current_revision() if "alembic_version" in tables else None
    except SQLDatabaseError as exc:
        raise DatabaseError(explain(exc, str(engine.url)) or f"cannot read the database {name}: "
                            f"{str(exc.orig or exc).splitlines()[0]}") from None
    if "alembic_version" not in tables or current is None:
        ours = sorted(tables & set(Base.metadata.tables))
        if ours:
            raise DatabaseError(
                f"the database {name} has claimwatch tables ({', '.join(ours[:3])}…) but no schema version: it was "
                f"made before migrations or by hand; move it aside and import into a new database")
        if need_latest:
            raise DatabaseError(f"the database {name} holds no claimwatch data yet "
                                f"(run `claimwatch db upgrade` or `claimwatch import` first)")
        return None
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        known = script.get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise DatabaseError(f"the database {name} was written by a newer claimwatch (revision {current}); "
                            f"upgrade claimwatch or point --db elsewhere")
    head = script.get_current_head()
    if need_latest and current != head:
        raise DatabaseError(f"the database {name} is at schema revision {current}, this claimwatch needs {head}: "
                            f"run `claimwatch db upgrade` first")
    return current


def check_columns(engine: Engine) -> None:
    """Every table and column the models use is present (a schema changed by hand is not).

    Raises:
        DatabaseError: one line naming what is missing.
    """
    from store.models import Base

    with engine.connect() as conn:
        inspector = inspect(conn)
        present = set(inspector.get_table_names())
        missing: list[str] = []
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                missing.append(table.name)
                continue
            have = {column["name"] for column in inspector.get_columns(table.name)}
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DatabaseError(f"the database {describe(str(engine.url))} is at the latest schema revision but lacks "
                            f"{shown}: it was changed outside claimwatch; restore a backup or import into a new database")


def check_integrity(engine: Engine) -> None:
    """On SQLite, ``PRAGMA quick_check``: damaged pages are reported, not found later.

    Raises:
        DatabaseError: one line saying the file is damaged and what to do.
    """
    if engine.url.get_backend_name() != "sqlite":
        return
    try:
        with engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check(20)")]
    except SQLDatabaseError as exc:
        raise DatabaseError(explain(exc, str(engine.url)) or f"cannot check the database: {exc.orig}") from None
    if rows != ["ok"]:
        problems = [line.strip() for row in rows for line in row.splitlines()
                    if line.strip() and not line.startswith("*** in database")]
        first = problems[0] if problems else "quick_check failed"
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise DatabaseError(f"the database {describe(str(engine.url))} is damaged ({first}{more}); restore it "
                            f"from a backup (`sqlite3 FILE .recover` may save some rows)")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic, after checking it is ours and not newer.

    Raises:
        DatabaseError: the database cannot be reached, is not claimwatch's, is newer, is
            damaged, or lacks columns after the upgrade.
    """
    from alembic import command

    check_connection(engine)
    check_schema(engine, need_latest=False)
    cfg = _alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLDatabaseError as exc:
        explained = explain(exc, str(engine.url))
        if explained:
            raise DatabaseError(explained) from None
        raise
    if revision == "head":
        check_columns(engine)


def is_current(engine: Engine) -> bool:
    """Whether the schema exists at all (the alembic version table is present)."""
    return inspect(engine).has_table("alembic_version")


def open_database(url: str, *, migrate: bool = True,
                  readonly: bool = False) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory for ``url``, migrated to the latest schema.

    With ``readonly`` (``report``, ``digest``, ``sources list``) an existing database is opened
    read-only and never migrated: its schema must be this claimwatch's already. A SQLite file
    that does not exist yet is created and migrated as before (there is nothing to protect).

    Raises:
        DatabaseError: the database cannot be reached, migrated or read.
    """
    try:
        if readonly and make_url(normalize_database_url(url)).get_backend_name() == "sqlite":
            path = sqlite_path(url)
            readonly = path is not None and path.exists()  # nothing stored yet: create it as before
        engine = make_engine(url, readonly=readonly)
    except ValueError as exc:
        raise DatabaseError(f"database URL {exc}") from None
    if readonly:
        check_connection(engine)
        check_schema(engine, need_latest=True)
        check_columns(engine)
    elif migrate:
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


CONTENTION_RETRIES = 5


def is_deadlock(exc: BaseException) -> bool:
    """Whether PostgreSQL aborted the transaction to break a deadlock or a serialization conflict."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")


def is_contention(exc: BaseException) -> bool:
    """Whether ``exc`` says another process won a race for the same rows or the write lock:
    a unique key it inserted first, SQLite's "database is locked", a PostgreSQL deadlock."""
    from sqlalchemy.exc import IntegrityError

    if isinstance(exc, IntegrityError):
        return True
    if is_deadlock(exc):
        return True
    if isinstance(exc, OperationalError):
        import sqlite3

        return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)
    return False


def retry_on_disconnect(work: Callable[[], T], *, deadline: float = RETRY_DEADLINE,
                        sleep: Callable[[float], None] = time.sleep, contention: bool = False) -> T:
    """Run ``work`` (one whole transaction) again while the database is unreachable, and after a
    deadlock PostgreSQL broke (the transaction was rolled back whole).

    With ``contention`` a transaction that lost a race to another process (a unique key, SQLite's
    write lock) is run again too, a few times.

    Safe only for work that is one transaction and idempotent once committed: a transaction cut
    by a restart was rolled back, so running it again stores everything once.

    Raises:
        The last disconnect error when the database is still away after ``deadline`` seconds,
        or any other error at once.
    """
    started = time.monotonic()
    delay = _RETRY_FIRST
    lost = 0
    while True:
        try:
            return work()
        except DBAPIError as exc:
            if (is_deadlock(exc) or contention and is_contention(exc)) and lost < CONTENTION_RETRIES:
                lost += 1
                logger.info("another transaction won a race (%s); running this one again",
                            type(exc.orig).__name__ if exc.orig else type(exc).__name__)
                sleep(0.05 * lost)
                continue
            if not is_disconnect(exc) or time.monotonic() - started + delay > deadline:
                raise
            logger.warning("database unavailable (%s); retrying in %.1f s",
                           str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__, delay)
            sleep(delay)
            delay = min(_RETRY_CAP, delay * 2)
