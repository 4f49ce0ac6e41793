"""A post longer than the engine reads (``MAX_TEXT``) is not cut silently: ``extract`` says so in
its output, and ingestion (here an import) says in the log which post was cut and where."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine.extract import MAX_TEXT

OPENING = "Внаслідок обстрілу Харкова сьогодні загинули 3 людини, ще 5 поранено. "
FILLER = "Місто відновлює роботу комунальних служб після нічної атаки. " * 17_000  # about 1 MB


def test_extract_says_where_a_long_text_was_cut(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    text = OPENING + FILLER
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["extract", "--lang", "uk", "--date", "2022-03-02"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["claims"] and document["claims"][0]["killed"] == 3
    cut = document["truncated"]
    assert cut["total_characters"] >= len(text) - 10 and MAX_TEXT - 2000 <= cut["read_characters"] <= MAX_TEXT
    assert f"{cut['read_characters']:,}" in captured.err and "characters long" in captured.err


def test_import_logs_which_post_was_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    export = {"name": "Kharkiv RMA", "type": "public_channel", "id": 1100000099, "username": "kharkiv_rma",
              "messages": [{"id": 7, "type": "message", "date": "2022-03-02T12:00:00",
                            "date_unixtime": "1646215200", "text": OPENING + FILLER}]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    caplog.set_level(logging.WARNING)
    assert main(["--db", f"sqlite:///{tmp_path / 'c.db'}", "import", str(path)]) == 0
    lines = [r.getMessage() for r in caplog.records if "characters long" in r.getMessage()]
    assert len(lines) == 1 and "only the first" in lines[0] and "cut at character" in lines[0]
