"""``claimwatch worker`` processes for tests and benchmarks: started from a given repository with
``sys.executable -m bot.cli``, their log read as it comes, stopped with a signal.

Also the sources they poll: ``follow_channels`` adds t.me channels straight to the database (not
due until ``make_due``), so a test can start its workers first and give them all one due time.
Each of these reads and writes is run again while the database restarts (as the workers' own are).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from store import queries
from store.db import retry_on_disconnect
from store.models import Post, Source, Transport

REPO = Path(__file__).resolve().parents[2]
_STOPPED = re.compile(r"worker stopped after \d+ s: (\d+) polls \((\d+) failed\), (\d+) new posts, (\d+) updated")


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """The counts of a worker's last log line."""

    polls: int
    failed: int
    new: int
    updated: int


class WorkerProcess:
    """One ``claimwatch worker`` child process; its standard error is collected line by line."""

    def __init__(self, database_url: str, tme_url: str, *, repo: Path = REPO, args: Iterable[str] = (),
                 env: Mapping[str, str] | None = None) -> None:
        environment = {**os.environ, **(env or {}), "PYTHONPATH": str(repo), "CLAIMWATCH_DATABASE_URL": database_url,
                       "CLAIMWATCH_TME_URL": tme_url, "CLAIMWATCH_ALLOW_PRIVATE_URLS": "true",
                       "CLAIMWATCH_LOG_LEVEL": "INFO"}
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", *args], cwd=repo, env=environment,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def log(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> str:
        """The first log line holding ``text``, waited for.

        Raises:
            AssertionError: none within ``timeout`` seconds, or the process ended first.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"no {text!r} from the worker (exit {self.process.poll()}):\n" + "\n".join(self.lines))
                self._changed.wait(min(left, 0.5))

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 90) -> int:
        """Send ``signum`` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            status = self.process.wait(timeout=timeout)
        finally:
            self.kill()
        self._reader.join(timeout=5)
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def summary(self) -> WorkerSummary:
        """What the worker said it did in its last line (after ``stop``)."""
        found = _STOPPED.search(self.log)
        assert found, self.log
        return WorkerSummary(*(int(group) for group in found.groups()))


def follow_channels(session_factory: sessionmaker[Session], names: Iterable[str], *,
                    due: datetime | None = None) -> None:
    """Follow t.me channels (no backfill), due at ``due`` (default: in a day, i.e. not yet)."""
    when = due or datetime.now(UTC) + timedelta(days=1)
    wanted = list(names)

    def work() -> None:
        with session_factory.begin() as session:
            for name in wanted:
                source = queries.upsert_source(session, name.lower(), name, transport=Transport.TME.value,
                                               handle=name)
                source.next_poll_at = when

    retry_on_disconnect(work)


def make_due(session_factory: sessionmaker[Session], when: datetime | None = None) -> datetime:
    """Give every followed channel one due time (now by default); returns it."""
    moment = when or datetime.now(UTC)

    def work() -> None:
        with session_factory.begin() as session:
            session.execute(update(Source).where(Source.transport == Transport.TME.value).values(next_poll_at=moment))

    retry_on_disconnect(work)
    return moment


def post_keys(session_factory: sessionmaker[Session]) -> list[tuple[str, int]]:
    """(channel, message id) of every stored post, duplicates kept."""
    def work() -> list[tuple[str, int]]:
        with session_factory() as session:
            rows = session.execute(select(Source.ref, Post.message_id).join(Post, Post.source_id == Source.id))
            return [(ref, message_id) for ref, message_id in rows]

    return retry_on_disconnect(work)


def count_posts(session_factory: sessionmaker[Session]) -> int:
    def work() -> int:
        with session_factory() as session:
            return session.scalar(select(func.count()).select_from(Post)) or 0

    return retry_on_disconnect(work)


def polled_since(session_factory: sessionmaker[Session], moment: datetime) -> int:
    """How many channels stored a poll at or after ``moment`` (their next poll is after it)."""
    def work() -> int:
        with session_factory() as session:
            return session.scalar(select(func.count()).select_from(Source).where(
                Source.transport == Transport.TME.value, Source.last_polled_at >= moment)) or 0

    return retry_on_disconnect(work)
