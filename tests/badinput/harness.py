"""The bad-input tests' harness: the real bot (``bot.app.build_application``) polling the
project's Bot API server on 127.0.0.1, run in a thread of its own so that plain sync tests, and
hypothesis tests, can feed it updates and wait for its answers; and a recorder of the log records
that show a failure (the error handler's, PTB's own ERROR/CRITICAL lines)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, stop_application
from bot.engine.extract import Extractor
from config.settings import Settings, load_settings
from store.db import open_database
from tests.support.botapi import BotApiServer, JSONDict

logger = logging.getLogger(__name__)

T = TypeVar("T")

ADMIN_ID = 7001
# A token shaped like a real one from @BotFather (10-digit id, 35-character secret).
TOKEN = "7012345678:AAHk3Jx0Q9yWcZ-bT5vN_pLm2sD8fGhR4eU"
SECRET = TOKEN.partition(":")[2]


class LogRecorder(logging.Handler):
    """Keeps every record it sees (thread-safe): the bot logs from its own thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lock_records = threading.Lock()
        self._records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_records:
            self._records.append(record)

    @property
    def records(self) -> list[logging.LogRecord]:
        with self._lock_records:
            return list(self._records)

    def clear(self) -> None:
        with self._lock_records:
            self._records.clear()

    def failures(self) -> list[str]:
        """Lines showing that something failed: the error handler ran (``handlers.errors``) or
        anything logged at ERROR or above (PTB logs a polling loop that cannot decode updates
        at CRITICAL)."""
        return [
            f"{r.name} {r.levelname}: {r.getMessage()[:500]}"
            for r in self.records
            if r.name == "handlers.errors" or r.levelno >= logging.ERROR
        ]


class ThreadedBot:
    """The real Application, polling ``server`` from an event loop in a background thread."""

    def __init__(self, server: BotApiServer, settings: Settings, session_factory: sessionmaker[Session],
                 extractor: Extractor | None) -> None:
        self.server = server
        self.settings = settings
        self.session_factory = session_factory
        self.extractor = extractor
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="badinput-bot", daemon=True)
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._next_user = 500_000

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine in the bot's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        app = build_application(self.settings, self.session_factory, self.extractor, pace=0.0,
                                stale_after=timedelta(minutes=10), poll_sources=False, shutdown_grace=5.0)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
        await app.start()
        self.app = app

    def stop(self) -> None:
        """Stop the Application and the loop (again: nothing)."""
        if self.loop.is_closed():
            return
        try:
            if self.app is not None:
                self.run(self._stop())
        finally:
            self.run(self._drain())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    @staticmethod
    async def _drain() -> None:
        """Cancel and await what is left in the loop, so that nothing is collected after it closed."""
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_asyncgens()

    async def _stop(self) -> None:
        assert self.app is not None
        await stop_application(self.app)

    # -- driving it ------------------------------------------------------------------------------

    def fresh_user(self) -> int:
        """A user id no other example used (so its chat's replies are easy to tell apart)."""
        self._next_user += 1
        return self._next_user

    def idle(self) -> bool:
        """Every pushed update fetched, and no update waiting or being handled."""
        app = self.app
        assert app is not None
        return (not self.server.pending_updates and app.update_queue.empty()
                and app.update_processor.current_concurrent_updates == 0)

    def settle(self, timeout: float = 20) -> None:
        """Wait until the bot has handled everything pushed so far."""
        self.server.wait_for(self.idle, timeout, what="the bot to handle every pushed update")
        # An update is taken off the queue just before the processor counts it: look twice.
        self.server.wait_for(self.idle, timeout, what="the bot to handle every pushed update")

    def ask(self, text: str, *, user_id: int | None = None, chat_id: int | None = None, count: int = 1,
            timeout: float = 20, **kwargs: Any) -> list[JSONDict]:
        """A person sends ``text``; returns the bot's ``count`` new messages in that chat."""
        user = user_id if user_id is not None else self.fresh_user()
        chat = chat_id if chat_id is not None else user
        before = len(self.server.messages_to(chat))
        self.server.user_message(text, user_id=user, chat_id=chat, **kwargs)
        self.server.wait_for(lambda: len(self.server.messages_to(chat)) >= before + count, timeout,
                             what=f"{count} replies to {text[:60]!r}")
        return self.server.messages_to(chat)[before:]

    def still_answers(self) -> None:
        """A valid command from a new person gets its answer (the bot is alive and lost nothing)."""
        replies = self.ask("/help", language_code="en")
        assert "/subscribe" in replies[0]["plain_text"], replies


def start_bot(server: BotApiServer, db_url: str, extractor: Extractor | None) -> ThreadedBot:
    """The bot exactly as ``build_application`` builds it."""
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=server.token,
        CLAIMWATCH_TELEGRAM_API_URL=server.url,
        CLAIMWATCH_DATABASE_URL=db_url,
        CLAIMWATCH_ADMIN_IDS=str(ADMIN_ID),
    )
    _, session_factory = open_database(settings.database_url)
    running = ThreadedBot(server, settings, session_factory, extractor)
    running.start()
    return running
