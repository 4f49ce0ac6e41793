"""Shared fixtures: the real corpora beside the repository, the extractor, and databases to run on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

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


def postgres_url() -> str | None:
    return os.environ.get("CLAIMWATCH_TEST_POSTGRES_URL")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = postgres_url()
    if not base:
        if os.environ.get("CI"):
            pytest.fail("CLAIMWATCH_TEST_POSTGRES_URL is not set in CI")
        pytest.skip("CLAIMWATCH_TEST_POSTGRES_URL is not set")
    from store.db import scratch_schema

    with scratch_schema(base, prefix="t") as (url, _):
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'claimwatch.db'}"
    return request.getfixturevalue("pg_schema_url")
