"""End-to-end fixtures: the real Application against the project's Bot API server on 127.0.0.1,
a SQLite file database in tmp_path, and the extraction engine loaded once per session."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, stop_application
from bot.services.digests import DeliveryService
from bot.engine.extract import Extractor
from config.settings import Settings, load_settings
from handlers import RUNTIME_KEY, BotRuntime
from store.db import open_database
from tests.support.botapi import BotApiServer

logger = logging.getLogger(__name__)

ADMIN_ID = 7001


@pytest.fixture
def server() -> Iterator[BotApiServer]:
    with BotApiServer() as running:
        yield running


@dataclass
class Bot:
    """One running bot: its server, application, database and settings."""

    server: BotApiServer
    settings: Settings
    session_factory: sessionmaker[Session]
    extractor: Extractor
    apps: list[Application[Any, Any, Any, Any, Any, Any]] = field(default_factory=list)

    @property
    def app(self) -> Application[Any, Any, Any, Any, Any, Any]:
        return self.apps[-1]

    @property
    def runtime(self) -> BotRuntime:
        value = self.app.bot_data[RUNTIME_KEY]
        assert isinstance(value, BotRuntime)
        return value

    @property
    def delivery(self) -> DeliveryService:
        return self.runtime.delivery

    async def start(self, *, pace: float = 0.0, shutdown_grace: float = 10.0, **options: Any) -> None:
        """Build and start a new Application on the same database (as ``run_polling`` would);
        ``options`` go to ``build_application``."""
        app = build_application(self.settings, self.session_factory, self.extractor, pace=pace,
                                stale_after=timedelta(minutes=10), poll_sources=False,
                                shutdown_grace=shutdown_grace, **options)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
        await app.start()
        self.apps.append(app)

    async def stop(self) -> None:
        await stop_application(self.app)


@pytest_asyncio.fixture
async def bot(server: BotApiServer, tmp_path: Path, extractor: Extractor) -> AsyncIterator[Bot]:
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=server.token,
        CLAIMWATCH_TELEGRAM_API_URL=server.url,
        CLAIMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        CLAIMWATCH_ADMIN_IDS=str(ADMIN_ID),
    )
    _, session_factory = open_database(settings.database_url)
    running = Bot(server, settings, session_factory, extractor)
    await running.start()
    try:
        yield running
    finally:
        if running.app.running or running.app.updater and running.app.updater.running:
            await running.stop()
        assert server.server_errors == []


async def say(bot: Bot, text: str, *, user_id: int = 1001, chat_id: int | None = None, count: int = 1,
              **kwargs: Any) -> list[dict[str, Any]]:
    """Send a user's message and wait for the bot's ``count`` new messages in that chat."""
    chat = chat_id if chat_id is not None else user_id
    before = len(bot.server.messages_to(chat))
    bot.server.user_message(text, user_id=user_id, chat_id=chat_id, **kwargs)
    await bot.server.wait_for_async(lambda: len(bot.server.messages_to(chat)) >= before + count,
                                    what=f"{count} replies to {text!r}")
    return bot.server.messages_to(chat)[before:]


async def press(bot: Bot, user_id: int, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
    """Press an inline button and wait for the bot's answerCallbackQuery; returns it."""
    before = len(bot.server.callback_answers)
    bot.server.callback_query(user_id, chat_id, message_id, data)
    await bot.server.wait_for_async(lambda: len(bot.server.callback_answers) > before, what=f"answer to {data}")
    return bot.server.callback_answers[-1]
