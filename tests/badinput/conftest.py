"""Fixtures for the bad-input tests: a bot per module (hypothesis examples share it, as real
traffic would), with or without ``bot.telegram.safe_updates`` wired in, and a bot of its own for tests
that may leave it broken."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine.extract import Extractor
from tests.badinput.harness import TOKEN, ThreadedBot, start_bot
from tests.support.botapi import BotApiServer


@pytest.fixture(scope="module")
def module_server() -> Iterator[BotApiServer]:
    with BotApiServer(token=TOKEN) as running:
        yield running
        assert running.server_errors == []


@pytest.fixture(scope="module")
def module_bot(module_server: BotApiServer, tmp_path_factory: pytest.TempPathFactory,
               extractor: Extractor) -> Iterator[ThreadedBot]:
    """One bot for a whole module, exactly as ``bot/app.py`` builds it (hypothesis examples share
    it, as real traffic would)."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('badinput') / 'bot.db'}"
    running = start_bot(module_server, db_url, extractor)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_server() -> Iterator[BotApiServer]:
    with BotApiServer(token=TOKEN) as running:
        yield running
        assert running.server_errors == []


@pytest.fixture
def fresh_bot(fresh_server: BotApiServer, tmp_path: Path, extractor: Extractor) -> Iterator[ThreadedBot]:
    """A bot of its own, for tests that may leave it broken."""
    running = start_bot(fresh_server, f"sqlite:///{tmp_path / 'bot.db'}", extractor)
    try:
        yield running
    finally:
        running.stop()

