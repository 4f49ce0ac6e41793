"""A list of sources in a file: `sources add --defaults`, `sources import FILE`, `sources export`."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main
from bot.services.ingest import read_seed_sources
from bot.commands import SEEDS_DIR


def test_the_defaults_are_followed_and_round_trip_through_a_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    seeds = read_seed_sources(SEEDS_DIR / "sources.tsv")
    assert main(["sources", "add", "--defaults", "--db", db]) == 0
    assert f"{len(seeds)} sources added" in capsys.readouterr().out
    assert main(["sources", "list", "--db", db]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(seeds) and all("[tme, active]" in line for line in listed)
    assert {f"@{row['handle'].lower()}" for row in seeds} == {line.split()[0] for line in listed}

    out = tmp_path / "followed.tsv"
    assert main(["sources", "export", str(out), "--db", db]) == 0
    assert main(["sources", "import", str(out), "--db", db]) == 0
    assert f"0 sources added, {len(seeds)} updated" in capsys.readouterr().out
    assert main(["sources", "list", "--db", db]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(seeds)


def test_bad_rows_are_refused_by_line_and_the_good_ones_kept(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    listing = tmp_path / "mine.tsv"
    listing.write_text("name\thandle\tside\turl\n"
                       "No channel\t\tukraine\t\n"
                       "Odd side\tsomechannel\tmars\t\n"
                       "Kept\tkeptchannel\trussia\t\n"
                       "A feed\t\tmedia\thttps://example.org/feed.xml\n", encoding="utf-8")
    assert main(["sources", "import", str(listing), "--db", db]) == 1
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert [e.split(":")[1].strip() for e in errors] == ["mine.tsv line 2", "mine.tsv line 3"]
    assert "2 sources added" in captured.out
    assert main(["sources", "list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "@keptchannel" in listed and "example.org/feed.xml" in listed and "somechannel" not in listed
