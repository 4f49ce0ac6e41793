"""The batched ingest path stores what ingesting post by post stores, and ``import --jobs`` what one
process stores: the same incidents, figures and conflicts, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.engine.types import ImportStats, PostIn
from bot.exports import ChannelExport
from bot.services.ingest import (
    import_exports,
    ingest_posts,
    read_exports,
    refresh_incidents,
)
from bot.services.reports import build_report
from store import queries
from store.db import open_database
from tests.conftest import require_shared
from tests.store.test_link_order import _shape

pytestmark = pytest.mark.corpus

KYIV = ZoneInfo("Europe/Kyiv")
REPO = Path(__file__).resolve().parents[2]


def _dev2() -> list[ChannelExport]:
    corpus = require_shared("corpus", "dev2")
    exports, errors = read_exports([p for p in sorted(corpus.glob("*.json"))
                                    if p.name not in ("gold.json", "conflicts.json")], KYIV)
    assert not errors
    return exports


def _with_edits(exports: list[ChannelExport]) -> list[ChannelExport]:
    """Each export's posts, then some of them again edited: every third post's text swapped for the
    text of its neighbour (new claims for old ones), and one post repeated with its own text."""
    out = []
    for export in exports:
        posts = list(export.posts)
        edits = [replace(p, text=posts[(n + 1) % len(posts)].text) for n, p in enumerate(posts) if n % 3 == 0]
        out.append(replace(export, posts=tuple(posts + edits + posts[:1])))
    return out


def _post_by_post(url: str, extractor, exports: list[ChannelExport]) -> dict:  # type: ignore[no-untyped-def]
    engine, factory = open_database(url)
    try:
        for export in exports:
            for post in export.posts:
                with factory.begin() as session:
                    source = queries.upsert_source(session, export.ref, export.name, handle=export.handle)
                    refresh_incidents(session, ingest_posts(session, source, [post], extractor, ImportStats()))
        return build_report(factory)
    finally:
        engine.dispose()


def _batched(url: str, extractor, exports: list[ChannelExport], chunk: int) -> tuple[dict, ImportStats]:  # type: ignore[no-untyped-def]
    engine, factory = open_database(url)
    try:
        stats = ImportStats()
        import_exports(factory, exports, extractor, stats, chunk=chunk)
        return build_report(factory), stats
    finally:
        engine.dispose()


def test_batches_with_edits_link_as_posts_one_by_one(tmp_path, extractor):  # type: ignore[no-untyped-def]
    exports = _with_edits(_dev2())
    one_by_one = _post_by_post(f"sqlite:///{tmp_path / 'one.db'}", extractor, exports)
    batched, stats = _batched(f"sqlite:///{tmp_path / 'batched.db'}", extractor, exports, chunk=60)
    assert stats.updated > 20 and stats.unchanged >= len(exports)  # edits and repeats went through the batches
    assert _shape(batched) == _shape(one_by_one)
    assert any(i["conflicts"] for i in batched["incidents"])


def test_batched_import_on_postgresql_matches_sqlite(pg_schema_url, tmp_path, extractor):  # type: ignore[no-untyped-def]
    exports = _with_edits(_dev2())
    on_pg, _ = _batched(pg_schema_url, extractor, exports, chunk=60)
    on_sqlite, _ = _batched(f"sqlite:///{tmp_path / 'batched.db'}", extractor, exports, chunk=60)
    assert _shape(on_pg) == _shape(on_sqlite)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=REPO, env=env, capture_output=True, check=False,
                          text=True, timeout=600)


def test_import_in_two_processes_stores_what_one_process_stores(tmp_path):  # type: ignore[no-untyped-def]
    corpus = require_shared("corpus", "dev2")
    files = [str(p) for p in sorted(corpus.glob("*.json")) if p.name not in ("gold.json", "conflicts.json")]
    reports = []
    for jobs in ("1", "2"):
        url = f"sqlite:///{tmp_path / f'jobs{jobs}.db'}"
        done = _cli("--db", url, "import", "--jobs", jobs, *files)
        assert done.returncode == 0, done.stderr
        assert "165 new" in done.stdout
        shown = _cli("--db", url, "report", "--json")
        assert shown.returncode == 0, shown.stderr
        reports.append(json.loads(shown.stdout))
    assert reports[0] == reports[1]
    assert len(reports[0]["incidents"]) > 20


def test_a_bad_number_of_jobs_is_one_line(tmp_path, capsys):  # type: ignore[no-untyped-def]
    for bad in ("0", "two"):
        with pytest.raises(SystemExit) as exit_:
            main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "import", "--jobs", bad, "a.json"])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "--jobs" in err and "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("claimwatch import: error: argument --jobs")


def test_posts_of_one_message_id_twice_in_one_call_are_a_post_and_its_edit(db_url, extractor):  # type: ignore[no-untyped-def]
    engine, factory = open_database(db_url)
    try:
        first = PostIn(message_id=7, posted_at=_noon(), text="A Russian missile strike on Kharkiv killed 3 people.")
        edit = replace(first, text="A Russian missile strike on Kharkiv killed 5 people, the governor said.")
        stats = ImportStats()
        with factory.begin() as session:
            source = queries.upsert_source(session, "edits", "Edits")
            refresh_incidents(session, ingest_posts(session, source, [first, edit], extractor, stats))
        assert (stats.new, stats.updated) == (1, 1)
        report = build_report(factory)
        claims = [c for i in report["incidents"] for c in i["claims"]]
        assert [(c["message_id"], c["killed"]) for c in claims] == [(7, 5)]
    finally:
        engine.dispose()


def _noon():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(2024, 6, 14, 12, 0, tzinfo=KYIV)
