"""Shared fixtures: the real corpora beside the repository, the extractor, and databases to run on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from pytest_postgresql import factories

REPO = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run, so a CI run is reproducible; run with
# HYPOTHESIS_PROFILE=explore to search with fresh random examples.
settings.register_profile("repeatable", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
SHARED = Path(os.environ.get("CLAIMWATCH_SHARED") or REPO.parent / "shared")  # ../shared, or where it is


def require_shared(*parts: str) -> Path:
    """A path under ../shared; skipped when missing, but a failure in CI."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI needs ../shared beside the repository")
        pytest.skip(f"{path} is not here")
    return path


@pytest.fixture(scope="session")
def dev_corpus() -> Path:
    return require_shared("corpus", "dev")


@pytest.fixture(scope="session")
def seed_article() -> str:
    path = require_shared("seeds", "sofrep-2022-03-02-kharkiv-kyiv-kherson.txt")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def extractor():  # type: ignore[no-untyped-def]
    from bot.engine.extract import Extractor

    return Extractor.load()


LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A cluster of its own in a temporary directory on a free port, started only when requested.
throwaway_postgres = factories.postgresql_proc(port=None, dbname="test")


def _answers(url: str) -> bool:
    """Whether a PostgreSQL server at ``url`` accepts a connection within two seconds."""
    import psycopg

    from store.db import normalize_database_url

    dsn = normalize_database_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_base(request: pytest.FixtureRequest) -> Iterator[str]:
    """The PostgreSQL server the tests run on, found or started once per session.

    In order: ``CLAIMWATCH_TEST_POSTGRES_URL``; a server answering on 127.0.0.1:5432 (user
    postgres, database test); a throwaway cluster started from the installed binaries with
    pytest-postgresql. Without any of them the PostgreSQL tests are skipped with the reason
    (in CI, where the server is part of the set-up, they fail instead).
    """
    url = os.environ.get("CLAIMWATCH_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if _answers(LOCAL_POSTGRES):
        yield LOCAL_POSTGRES
        return
    reason = _throwaway_cluster_unavailable()
    if reason is None:
        server = request.getfixturevalue("throwaway_postgres")
        yield f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{server.dbname}"
        return
    _skip_postgres(reason)


def _throwaway_cluster_unavailable() -> str | None:
    """Why no throwaway cluster can be started here, or None when it can."""
    import shutil

    if shutil.which("pg_ctl") is None:
        return "no PostgreSQL server on 127.0.0.1:5432 and no pg_ctl to start one"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "no PostgreSQL server on 127.0.0.1:5432, and initdb refuses to run as root"
    return None


_SKIP_NOTE: list[str] = []


def _skip_postgres(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run: {reason}")
    if not _SKIP_NOTE:
        _SKIP_NOTE.append(reason)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SKIP_NOTE:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {_SKIP_NOTE[0]} "
                                    "(set CLAIMWATCH_TEST_POSTGRES_URL to run them)")


@pytest.fixture
def pg_schema_url(postgres_base: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    from store.db import scratch_schema

    with scratch_schema(postgres_base, prefix="t") as (url, _):
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'claimwatch.db'}"
    return request.getfixturevalue("pg_schema_url")
