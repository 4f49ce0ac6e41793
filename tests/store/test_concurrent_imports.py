"""Two ``claimwatch import`` processes at once on one PostgreSQL database link exactly as one
sequential import does: ten city/day strikes, each reported by both channels, are ten incidents.

The test holds an exclusive lock on ``sources`` until both imports wait for it, so their first
transactions (the strikes, then filler posts that keep them open) run at the same moment, the
way a bot and an import or two imports meet in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.services import ingest, reports
from store.db import open_database, scratch_schema

REPO = Path(__file__).resolve().parents[2]
CITIES = ["Харкова", "Одеси", "Херсона", "Миколаєва", "Запоріжжя", "Дніпра", "Сум", "Чернігова", "Житомира",
          "Полтави"]
DAY = datetime(2024, 5, 3, 9, tzinfo=UTC)
FILLERS = 60


def _export(path: Path, channel_id: int, name: str) -> Path:
    messages = []
    for i, city in enumerate(CITIES):
        when = DAY.replace(minute=i)
        messages.append({"id": i + 1, "type": "message", "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
                         "date_unixtime": str(int(when.timestamp())),
                         "text": f"Внаслідок ракетного удару по місту {city} сьогодні загинули 2 людини, ще 4 поранено."})
    for j in range(FILLERS):  # posts without claims: the transaction stays open while they are read
        when = DAY.replace(hour=10 + j // 60, minute=j % 60)
        messages.append({"id": 100 + j, "type": "message", "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
                         "date_unixtime": str(int(when.timestamp())),
                         "text": f"Місто відновлює роботу комунальних служб після нічної атаки, повідомлення {j}."})
    path.write_text(json.dumps({"name": name, "type": "public_channel", "id": channel_id,
                                "username": name.lower().replace(" ", "_"), "messages": messages},
                               ensure_ascii=False), encoding="utf-8")
    return path


def _import(url: str, *paths: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "--db", url, "import", *map(str, paths)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _incidents(url: str) -> list[tuple[str, str, str, int]]:
    engine, session_factory = open_database(url)
    try:
        return sorted((v.summary.place.name, v.summary.date.isoformat(), v.summary.kind.value, len(v.records))
                      for v in reports.list_incident_views(session_factory))
    finally:
        engine.dispose()


def test_two_imports_at_once_give_the_incidents_of_a_sequential_import(tmp_path: Path) -> None:
    base = os.environ.get("CLAIMWATCH_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CLAIMWATCH_TEST_POSTGRES_URL is not set")
    first = _export(tmp_path / "a.json", 1100000501, "Oblast one")
    second = _export(tmp_path / "b.json", 1100000502, "Oblast two")
    with scratch_schema(base, prefix="t") as (url, _):
        run = _import(url, first, second)
        assert run.wait(timeout=300) == 0, run.communicate()
        sequential = _incidents(url)
    assert len(sequential) == len(CITIES) and all(claims == 2 for *_, claims in sequential)

    for _attempt in range(3):
        with scratch_schema(base, prefix="t") as (url, _):
            open_database(url)[0].dispose()  # the schema, so the gate below can lock a table
            gate = create_engine(url)
            with gate.connect() as conn:
                conn.execute(text("LOCK TABLE sources IN ACCESS EXCLUSIVE MODE"))
                runs = [_import(url, first), _import(url, second)]
                deadline = time.monotonic() + 120
                while conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted "
                                        "AND relation = 'sources'::regclass")).scalar_one() < 2:
                    assert time.monotonic() < deadline, "the imports never reached the store"
                    assert all(r.poll() is None for r in runs), [r.communicate() for r in runs]
                    time.sleep(0.05)
                conn.rollback()  # both start their transactions now
            gate.dispose()
            for r in runs:
                out, err = r.communicate(timeout=300)
                assert r.returncode == 0, err
            assert _incidents(url) == sequential


def test_ingestion_paths_in_one_process_do_not_race(tmp_path: Path, db_url: str, extractor: object) -> None:
    """A bot's channel posts and polls and an import in one process: two threads storing reports of
    the same strikes at once give the incidents of one after the other."""
    import threading
    from zoneinfo import ZoneInfo

    from bot.engine.types import ImportStats, PostIn
    from bot.exports import read_export
    from store import queries

    export = read_export(_export(tmp_path / "a.json", 1100000501, "Oblast one"), ZoneInfo("Europe/Kyiv"))
    engine, session_factory = open_database(db_url)
    with session_factory.begin() as session:
        queries.upsert_source(session, "-100600", "Oblast two", transport="telegram")
    posts = [PostIn(message_id=p.message_id, text=p.text, posted_at=p.posted_at) for p in export.posts]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work: object) -> None:
        try:
            start.wait()
            work()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: ingest.import_export(session_factory, export, extractor,
                                                                          ImportStats()),)),
        threading.Thread(target=run, args=(lambda: ingest.ingest_for_source(session_factory, "-100600", posts,
                                                                             extractor),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    incidents = sorted((v.summary.place.name, len(v.records)) for v in reports.list_incident_views(session_factory))
    assert len(incidents) == len(CITIES) and all(claims == 2 for _, claims in incidents), incidents
    engine.dispose()
