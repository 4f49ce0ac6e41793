"""`claimwatch digest` and the bot's /digest mean the same day by default: today in the reader's
time zone. An empty day names the latest day that has incidents."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.services import ingest
from bot.commands import SEEDS_DIR, print_digest
from bot.engine.types import ImportStats
from store.db import open_database


@pytest.fixture
def demo_db(tmp_path: Path, extractor):  # type: ignore[no-untyped-def]
    _, session_factory = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    ingest.seed_sources(session_factory, SEEDS_DIR / "sources.tsv")
    exports, errors = ingest.read_exports(sorted((SEEDS_DIR / "demo").glob("*.json")), ZoneInfo("Europe/Kyiv"))
    assert not errors
    for export in exports:
        ingest.import_export(session_factory, export, extractor, ImportStats())
    return session_factory


def test_the_cli_digest_is_of_today_by_default(demo_db, capsys) -> None:  # type: ignore[no-untyped-def]
    print_digest(demo_db, None, "uk", today=date(2022, 3, 2))
    out = capsys.readouterr().out.replace("\u202f", " ")
    assert out.startswith("Дайджест claimwatch · 2 березня 2022 р.")
    assert "Херсон (Херсонська область)" in out


def test_an_empty_day_names_the_latest_day_with_incidents(demo_db, capsys) -> None:  # type: ignore[no-untyped-def]
    print_digest(demo_db, None, "en", today=date(2022, 3, 9))
    captured = capsys.readouterr()
    assert captured.out.split("\n\n") == ["No incidents reported for 9 March 2022.",
                                          "The latest day with incidents is 2022-03-02: claimwatch digest --date 2022-03-02\n"]
    assert captured.err == ""
