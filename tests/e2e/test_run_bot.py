"""``claimwatch run`` refuses to start without what it needs, with one line on stderr."""

from __future__ import annotations

import pytest

from bot.app import run_bot
from config.settings import load_settings


def test_missing_token_is_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(TELEGRAM_BOT_TOKEN="", CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert run_bot(settings) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["claimwatch: TELEGRAM_BOT_TOKEN is not set (get a token from @BotFather)"]


def test_webhook_without_secret_is_refused(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN", CLAIMWATCH_WEBHOOK_SECRET="",
                             CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert run_bot(settings, webhook_url="https://example.org/hook") == 1
    assert "CLAIMWATCH_WEBHOOK_SECRET" in capsys.readouterr().err
