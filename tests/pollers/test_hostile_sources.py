"""Sources that answer garbage, huge pages, redirect loops or nothing at all: each is backed off
with a one-line reason, and in the same round the healthy source's posts are stored."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pollers_helpers import LocalServer, Reply
from sources_helpers import make_settings, open_db, rss, stored_posts, stored_source

from bot.services import polling, sources
from bot.pollers import SafeFetcher

pytestmark = pytest.mark.asyncio

GOOD = [("a-1", "У Харкові внаслідок обстрілу загинули 2 людини", "Tue, 28 Feb 2023 08:00:00 +0000"),
        ("a-2", "Вибухи в Одесі: поранено 3 людини", "Tue, 28 Feb 2023 09:30:00 +0000")]
FEED_TYPE = {"Content-Type": "application/rss+xml"}

HOSTILE: dict[str, Reply] = {
    "/garbage.xml": Reply(200, os.urandom(3000), FEED_TYPE),
    "/not-a-feed.xml": Reply(200, b"<html><body>" + b"<p>lorem</p>" * 50 + b"</body></html>",
                             {"Content-Type": "text/html"}),
    "/huge.xml": Reply(200, b"<rss>" + b"<item>" * 1_100_000, FEED_TYPE, stream=True),
    "/loop.xml": Reply(302, b"", {"Location": "/loop.xml"}),
    "/silent.xml": Reply(200, b"", FEED_TYPE, delay=4.0),
}


async def test_hostile_sources_back_off_and_the_healthy_one_is_stored(
    server: LocalServer, sqlite_url: str, extractor: Any
) -> None:
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)
    for path in ["/good.xml", *HOSTILE]:  # every source was healthy when it was added
        server.route(path, Reply(200, rss([(f"{path}-0", "Тиха ніч", "Mon, 27 Feb 2023 20:00:00 +0000")]), FEED_TYPE))
        await sources.add_source(session_factory, settings, server.url(path), extractor=extractor)
    server.route("/good.xml", Reply(200, rss(GOOD), FEED_TYPE))
    for path, reply in HOSTILE.items():
        server.route(path, reply)

    fetcher = SafeFetcher(allow_private=True, timeout=1.5)
    now = datetime.now(UTC) + timedelta(hours=1)  # every source is due
    try:
        results = {r.ref: r for r in await polling.poll_due(session_factory, settings, extractor, now,
                                                              fetcher=fetcher)}
        good = results[server.url("/good.xml")]
        assert (good.new, good.error) == (2, None)
        for path in HOSTILE:
            url = server.url(path)
            result = results[url]
            assert result.error and "\n" not in result.error, (path, result.error)
            stored = stored_source(session_factory, url)
            assert (stored.failures, stored.active, stored.last_error) == (1, True, result.error)
            assert stored.next_poll_at is not None and stored.next_poll_at > now  # backed off

        first_delays = {p: stored_source(session_factory, server.url(p)).next_poll_at - now for p in HOSTILE}

        # at the good source's next poll the bad ones fail again, and wait longer this time
        server.route("/good.xml", Reply(200, rss([*GOOD, ("a-3", "У Сумах поранено 1 людину",
                                                          "Tue, 28 Feb 2023 10:00:00 +0000")]), FEED_TYPE))
        later = stored_source(session_factory, server.url("/good.xml")).next_poll_at
        assert later is not None
        again = {r.ref: r for r in await polling.poll_due(session_factory, settings, extractor, later,
                                                          fetcher=fetcher)}
    finally:
        await fetcher.aclose()
    assert again[server.url("/good.xml")].new == 1
    for path in HOSTILE:
        stored = stored_source(session_factory, server.url(path))
        assert stored.failures == 2 and stored.active
        assert stored.next_poll_at - later > first_delays[path]  # the back-off grows
    texts = {p.text for p in stored_posts(session_factory, server.url("/good.xml"))}
    assert {"У Харкові внаслідок обстрілу загинули 2 людини", "У Сумах поранено 1 людину"} <= texts
