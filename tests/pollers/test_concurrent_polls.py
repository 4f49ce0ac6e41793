"""Two ``claimwatch poll --once`` processes on one SQLite file at the same moment, for the same feed.

Both fetch the feed at once (the server answers only when both have asked), then both store it:
the posts are stored once, neither process prints SQL, post text or a traceback, and the healthy
source has no failure counted against it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from pollers_helpers import LocalServer, Reply, Request
from sources_helpers import open_db, stored_posts, stored_source

from bot.services import sources
from sources_helpers import make_settings

REPO = Path(__file__).resolve().parents[2]
ENTRIES = 150
TEXT = "Обстріл Харкова: загинули {n} людей, ще {m} поранено. Ворог знову бив по житлових кварталах."


def _feed() -> bytes:
    items = "".join(
        f"<item><guid>g{i}</guid><title>Report {i}</title>"
        f"<description>{TEXT.format(n=i % 7 + 1, m=i % 5 + 2)}</description>"
        f"<pubDate>Wed, 02 Mar 2022 {i % 24:02d}:{i % 60:02d}:00 +0000</pubDate>"
        f"<link>https://example.org/{i}</link></item>"
        for i in range(ENTRIES)
    )
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Regional administration</title><link>https://example.org/</link>{items}"
            "</channel></rss>").encode()


def test_two_polls_at_once_store_once_and_fail_nothing(
    server: LocalServer, sqlite_url: str, extractor: Any
) -> None:
    body = _feed()
    both_asked = threading.Barrier(2, timeout=120)

    def answer(request: Request) -> Reply:
        try:
            both_asked.wait()  # the two processes then store the same posts at the same time
        except threading.BrokenBarrierError:
            pass
        return Reply(200, body, {"Content-Type": "application/rss+xml"})

    server.route("/feed", Reply(200, b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>'
                                      b"</channel></rss>", {"Content-Type": "application/rss+xml"}))
    import asyncio

    asyncio.run(sources.add_source(open_db(sqlite_url), make_settings(sqlite_url, server), server.url("/feed"),
                                   extractor=extractor))
    server.route("/feed", answer)
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLAIMWATCH_ALLOW_PRIVATE_URLS": "true"}
    command = [sys.executable, "-m", "bot.cli", "--db", sqlite_url, "poll", "--once"]
    runs = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]

    posts = stored_posts(open_db(sqlite_url), server.url("/feed"))
    assert len(posts) == ENTRIES and len({p.message_id for p in posts}) == ENTRIES
    assert stored_source(open_db(sqlite_url), server.url("/feed")).failures == 0
    news = []
    for run, (out, err) in zip(runs, outputs):
        lines = out.strip().splitlines()
        assert len(lines) == 1, (out, err)
        for text in (out, err):
            assert "Traceback" not in text and "[SQL" not in text and "Error" not in text, text
            assert "INSERT" not in text and "Харкова" not in text, text
        news.append(lines[0])
    assert sorted(news) == sorted([f"{server.url('/feed')}: {ENTRIES} new, 0 updated",
                                   f"{server.url('/feed')}: 0 new, 0 updated"]), outputs
