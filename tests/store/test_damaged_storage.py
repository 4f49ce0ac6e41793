"""Schema trouble and damaged or read-only storage: one line each, saying what is wrong and what to do.

Each probe is what an operator meets: a database from before the migrations, one written by a
newer claimwatch, one at the latest revision with columns missing, one with damaged pages, one
on a read-only mount, and a database path whose parent is a file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from store.db import open_database
from store.models import Base

REPO = Path(__file__).resolve().parents[2]
DEMO = sorted(str(p) for p in (REPO / "seeds" / "demo").glob("*.json"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _one_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "unexpected error" not in err and "[SQL" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


def test_database_from_before_migrations_is_named(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = create_engine(db_url)
    Base.metadata.create_all(engine)  # the tables, without a schema version
    engine.dispose()
    for command in (["db", "upgrade"], ["report"]):
        status, _, err = _run(capsys, "--db", db_url, *command)
        assert status == 1
        _one_line(err, "no schema version", "new database")


def test_database_from_a_newer_claimwatch_is_named(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine, _ = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    for command in (["db", "upgrade"], ["report"], ["sources", "list"]):
        status, _, err = _run(capsys, "--db", db_url, *command)
        assert status == 1
        _one_line(err, "written by a newer claimwatch (revision 0099)", "upgrade claimwatch")


def test_missing_column_at_the_latest_revision_is_named(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine, _ = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE sources DROP COLUMN etag"))
    engine.dispose()
    for command in (["db", "upgrade"], ["report"]):
        status, out, err = _run(capsys, "--db", db_url, *command)
        assert status == 1 and "latest schema" not in out
        _one_line(err, "lacks sources.etag")


def test_damaged_pages_fail_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "claimwatch.db"
    url = f"sqlite:///{path}"
    assert main(["--db", url, "import", *DEMO]) == 0
    status, out, _ = _run(capsys, "--db", url, "db", "upgrade")
    assert status == 0 and "integrity check" in out
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_claims_post'").fetchone()[0]
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    with path.open("r+b") as f:  # scribble over an index page: the header and schema stay readable
        f.seek((root - 1) * page_size + 8)
        f.write(b"\xff\x13" * 200)

    status, out, err = _run(capsys, "--db", url, "db", "upgrade")

    assert status == 1 and out == ""
    _one_line(err, "is damaged", "backup")


@pytest.fixture
def readonly_mount(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A small tmpfs that the test can make read-only (needs root; skipped elsewhere)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_read_only_commands_read_a_database_on_a_read_only_mount(
    readonly_mount: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{readonly_mount / 'claimwatch.db'}"

    def cli(*argv: str) -> str:  # in a process of its own, so no file stays open for writing
        done = subprocess.run([sys.executable, "-m", "bot.cli", "--db", url, *argv], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=True)
        return done.stdout

    cli("import", *DEMO)
    day = json.loads(cli("report", "--json"))["incidents"][0]["date"]  # the demo's day, not today's
    report_before, digest_before = cli("report"), cli("digest", "--date", day)
    subprocess.run(["mount", "-o", "remount,ro", str(readonly_mount)], check=True)

    status, report, err = _run(capsys, "--db", url, "report")
    assert (status, err) == (0, "") and report == report_before and report.count("\n") > 2
    status, digest, err = _run(capsys, "--db", url, "digest", "--date", day)
    assert (status, err, digest) == (0, "", digest_before)
    status, listed, err = _run(capsys, "--db", url, "sources", "list")
    assert status == 0 and err == "" and listed.strip()

    fresh = json.loads(Path(DEMO[0]).read_text(encoding="utf-8"))
    for message in fresh["messages"]:
        message["id"] += 1000  # new posts: the import has to write
    new_export = tmp_path / "new.json"
    new_export.write_text(json.dumps(fresh, ensure_ascii=False), encoding="utf-8")
    status, out, err = _run(capsys, "--db", url, "import", str(new_export))
    assert status == 1 and out == ""
    _one_line(err, "read-only")
    status, out, err = _run(capsys, "--db", f"sqlite:///{readonly_mount / 'new' / 'claimwatch.db'}", "report")
    assert status == 1  # a database in a folder that does not exist is not created, on any mount
    _one_line(err, "does not exist")


def test_a_parent_path_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    for command in (["report"], ["db", "upgrade"]):
        status, _, err = _run(capsys, "--db", f"sqlite:///{blocker / 'claimwatch.db'}", *command)
        assert status == 1
        _one_line(err, "notes.txt is a file, not a folder")
