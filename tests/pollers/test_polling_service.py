"""The polling services against a real HTTP server on 127.0.0.1 and a real database.

The server serves the real saved t.me preview pages (read from ../shared) and RSS written here;
posts go through the real extractor and the same ingestion path exports take.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pollers_helpers import LocalServer, Reply, message_id_of
from sources_helpers import (
    CHANNEL,
    FULL_IDS,
    edit_message,
    make_settings,
    messages_of,
    open_db,
    page_of,
    rss,
    stored_posts,
    stored_source,
    update_source,
)
from sqlalchemy.orm import Session, sessionmaker

from bot import jobs
from bot.services import polling, sources
from bot.pollers import Backoff, NoPreviewError, PollerError
from bot.services.polling import PollResult
from bot.services.sources import SourceError

Fixture = Callable[[str], str]

pytestmark = pytest.mark.asyncio


def _serve_channel(server: LocalServer, html: str, pieces: list[str] | None = None,
                   channel: str = CHANNEL) -> None:
    server.route(f"/s/{channel}", page_of(html, messages_of(html) if pieces is None else pieces))


def _by_ref(results: list[PollResult]) -> dict[str, PollResult]:
    return {r.ref: r for r in results}


async def test_add_stores_every_text_post_and_skips_media_only(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    # A sticker (a post without text) newer than every text post, as t.me would show it.
    sticker = messages_of(tme_fixture("message_sticker.html") + "</section>")[0]
    sticker = sticker.replace('data-post="channel/5"', f'data-post="{CHANNEL}/71009"')
    _serve_channel(server, html, messages_of(html) + [sticker])
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)

    added = await sources.add_source(session_factory, settings, f"https://t.me/s/{CHANNEL.upper()}",
                                     "Military review", "russia", added_by=42, extractor=extractor)

    assert (added.ref, added.label, added.name, added.created) == (CHANNEL, f"@{CHANNEL}", "Военное обозрение", True)
    assert (added.new, added.updated) == (12, 0)
    posts = {p.message_id: p for p in stored_posts(session_factory)}
    assert sorted(posts) == FULL_IDS  # the sticker (71009) is not a post
    first = posts[70989]
    assert first.posted_at == datetime(2023, 2, 28, 7, 47, 53, tzinfo=UTC)
    assert first.text.startswith("В Санкт-Петербурге в небо над городом подняли истребители")
    assert first.url == f"https://t.me/{CHANNEL}/70989"
    assert posts[71008].posted_at == datetime(2023, 2, 28, 13, 14, 3, tzinfo=UTC)
    assert posts[70995].text == (
        'План "Ковер" отменен, небо над Санкт-Петербургом открывают, сообщает источник РЕН ТВ.'
    )
    assert all(p.text.strip() for p in posts.values())
    forwarded = {i: p.forwarded_from for i, p in posts.items() if p.forwarded_from}
    assert forwarded == {70996: "Военкор Ярем", 70998: "БелВПО", 71006: "Старше Эдды",
                         71007: "Пул N3", 71008: "ImpNavigator"}
    source = stored_source(session_factory, CHANNEL)
    assert (source.transport, source.handle, source.role, source.side, source.added_by) == (
        "tme", CHANNEL, "Military review", "russia", 42)
    assert source.last_message_id == 71008 and source.active

    # Polling the same page again stores nothing and costs one request.
    before = len(server.requests_to(f"/s/{CHANNEL}"))
    result = await polling.poll_source(session_factory, settings, extractor, f"@{CHANNEL}")
    assert result == PollResult(CHANNEL, 0, 0, label=f"@{CHANNEL}")
    assert len(server.requests_to(f"/s/{CHANNEL}")) == before + 1
    assert len(stored_posts(session_factory)) == 12


async def test_poll_adds_new_posts_and_updates_an_edited_one(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    pieces = messages_of(html)
    _serve_channel(server, html, pieces[:8])  # up to 70999
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)
    added = await sources.add_source(session_factory, settings, f"@{CHANNEL}", extractor=extractor)
    assert added.new == 8
    edited_before = {p.message_id: p.text for p in stored_posts(session_factory)}[70999]

    _serve_channel(server, html, edit_message(pieces, 70999, "Ночью ВСУ предприняли", "Утром ВСУ предприняли"))
    result = await polling.poll_source(session_factory, settings, extractor, CHANNEL)

    assert (result.new, result.updated, result.error) == (4, 1, None)
    posts = {p.message_id: p for p in stored_posts(session_factory)}
    assert sorted(posts) == FULL_IDS  # updated in place, not duplicated
    assert posts[70999].text == edited_before.replace("Ночью ВСУ предприняли", "Утром ВСУ предприняли")
    assert stored_source(session_factory, CHANNEL).last_message_id == 71008


async def test_a_failing_source_backs_off_then_pauses_while_others_keep_working(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    pieces = messages_of(html)
    _serve_channel(server, html, pieces[:8])
    _serve_channel(server, html, [], channel="broken_channel")
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)
    await sources.add_source(session_factory, settings, f"@{CHANNEL}", extractor=extractor)
    await sources.add_source(session_factory, settings, "@broken_channel", extractor=extractor)
    server.route("/s/broken_channel", Reply(500, b"Internal Server Error"))
    _serve_channel(server, html, pieces)
    backoff = Backoff(base=60, factor=2, max=3600, pause_after=3)
    rng = random.Random(7)

    now = datetime.now(UTC) + timedelta(hours=1)  # both sources are due
    first = _by_ref(await polling.poll_due(session_factory, settings, extractor, now, backoff=backoff, rng=rng))
    assert set(first) == {CHANNEL, "broken_channel"}
    assert (first[CHANNEL].new, first[CHANNEL].error) == (4, None)
    broken = first["broken_channel"]
    assert broken.error is not None and broken.error.startswith("HTTP 500 from ")
    assert "\n" not in broken.error and not broken.paused
    assert broken.line() == f"@broken_channel: error: {broken.error}"

    delays = []
    for attempt in (1, 2):
        stored = stored_source(session_factory, "broken_channel")
        assert (stored.failures, stored.active, stored.last_error) == (attempt, True, broken.error)
        assert stored.next_poll_at is not None and stored.next_poll_at > now
        delays.append(stored.next_poll_at - now)
        now = stored.next_poll_at  # the broken source is due again, the other is not
        results = await polling.poll_due(session_factory, settings, extractor, now, backoff=backoff, rng=rng)
        assert [r.ref for r in results] == ["broken_channel"]
        broken = results[0]
    stored = stored_source(session_factory, "broken_channel")
    delays.append(stored.next_poll_at - now if stored.next_poll_at else timedelta(0))
    assert delays[0] < delays[1] < delays[2]  # the back-off grows

    assert broken.paused and broken.failures == 3
    assert "paused after 3 failed polls" in broken.pause_notice()
    assert (stored.failures, stored.active) == (3, False)

    # A paused source is not polled any more; the other one is.
    calls = len(server.requests_to("/s/broken_channel"))
    later = await polling.poll_due(session_factory, settings, extractor, now + timedelta(days=1), backoff=backoff)
    assert [r.ref for r in later] == [CHANNEL]
    assert len(server.requests_to("/s/broken_channel")) == calls

    # Resuming resets the count and makes it due at once.
    sources.resume_source(session_factory, "@broken_channel")
    stored = stored_source(session_factory, "broken_channel")
    assert (stored.active, stored.failures, stored.last_error, stored.next_poll_at) == (True, 0, None, None)


async def test_oversized_page_is_a_one_line_error_on_the_source(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    _serve_channel(server, html, [])
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)
    await sources.add_source(session_factory, settings, f"@{CHANNEL}", extractor=extractor)
    server.route(f"/s/{CHANNEL}", Reply(200, b"<div>" * 1_100_000, stream=True))  # 5.5 MB, no length

    result = await polling.poll_source(session_factory, settings, extractor, CHANNEL)

    assert result.error == f"response larger than 5000000 bytes from {server.url('/s/' + CHANNEL)}"
    stored = stored_source(session_factory, CHANNEL)
    assert (stored.failures, stored.last_error) == (1, result.error)
    assert stored_posts(session_factory) == []


async def test_private_address_is_refused_when_not_allowed(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    _serve_channel(server, html)
    session_factory = open_db(sqlite_url)
    strict = make_settings(sqlite_url, server, allow_private=False)

    with pytest.raises(PollerError, match=r"^refused 127\.0\.0\.1: it resolves to 127\.0\.0\.1, a loopback"):
        await sources.add_source(session_factory, strict, f"@{CHANNEL}", extractor=extractor)
    assert server.requests == []

    await sources.add_source(session_factory, make_settings(sqlite_url, server), f"@{CHANNEL}",
                             backfill_pages=0, extractor=extractor)
    requests = len(server.requests)
    result = await polling.poll_source(session_factory, strict, extractor, CHANNEL)
    assert result.error is not None and result.error.startswith("refused 127.0.0.1")
    assert "\n" not in result.error
    assert stored_source(session_factory, CHANNEL).last_error == result.error
    assert len(server.requests) == requests  # nothing was sent


async def test_channel_without_preview_is_not_added(server: LocalServer, sqlite_url: str) -> None:
    server.route("/s/closed_channel", Reply(302, headers={"Location": "/closed_channel"}))
    server.route("/closed_channel", Reply(200, b"<html><title>Telegram: Contact</title></html>"))
    session_factory = open_db(sqlite_url)
    with pytest.raises(NoPreviewError, match="@closed_channel has no public web preview"):
        await sources.add_source(session_factory, make_settings(sqlite_url, server), "t.me/closed_channel")
    assert sources.list_sources_info(session_factory) == []


@pytest.mark.parametrize(
    ("target", "side", "message"),
    [("@x", None, "is not a public channel"), ("ftp://example.org/feed", None, r"is not an http\(s\) feed URL"),
     ("@valid_name", "neutral", "side must be one of ukraine, russia, international, media")],
)  # fmt: skip
async def test_bad_target_or_side_is_a_clear_error(
    server: LocalServer, sqlite_url: str, target: str, side: str | None, message: str
) -> None:
    session_factory = open_db(sqlite_url)
    with pytest.raises(SourceError, match=message):
        await sources.add_source(session_factory, make_settings(sqlite_url, server), target, None, side)
    assert server.requests == []


async def test_feed_with_etag_is_polled_conditionally(
    server: LocalServer, sqlite_url: str, extractor: Any
) -> None:
    body = rss([
        ("kh-1", "У Харкові внаслідок обстрілу загинули 2 людини", "Tue, 28 Feb 2023 08:00:00 +0000"),
        ("kh-2", "Вибухи в Одесі: поранено 3 людини", "Tue, 28 Feb 2023 09:30:00 +0000"),
    ])

    def feed(request: Any) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'})
        return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

    server.route("/feed.xml", feed)
    url = server.url("/feed.xml")
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)

    added = await sources.add_source(session_factory, settings, url, "Regional administration", "ukraine",
                                     extractor=extractor)
    assert (added.transport, added.ref, added.label, added.new) == ("feed", url, url, 2)
    assert stored_source(session_factory, url).etag == '"v1"'

    result = await polling.poll_source(session_factory, settings, extractor, url)
    assert result == PollResult(url, 0, 0, label=url)
    assert result.line() == f"{url}: 0 new, 0 updated"
    assert server.requests_to("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    assert sorted(p.text for p in stored_posts(session_factory, url)) == sorted([
        "У Харкові внаслідок обстрілу загинули 2 людини", "Вибухи в Одесі: поранено 3 людини"])


async def test_re_adding_updates_role_side_and_reactivates(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    _serve_channel(server, html)
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)
    await sources.add_source(session_factory, settings, f"@{CHANNEL}", "News", "media", extractor=extractor)
    sources.pause_source(session_factory, CHANNEL)
    again = await sources.add_source(session_factory, settings, f"t.me/{CHANNEL}", "Military review", "russia",
                                     extractor=extractor)
    assert (again.created, again.new, again.updated) == (False, 0, 0)
    [info] = sources.list_sources_info(session_factory)
    assert (info.role, info.side, info.active, info.last_message_id) == ("Military review", "russia", True, 71008)
    assert info.last_post_at == datetime(2023, 2, 28, 13, 14, 3, tzinfo=UTC)


async def test_scheduled_job_polls_and_tells_admins_about_a_paused_source(
    server: LocalServer, tme_fixture: Fixture, sqlite_url: str, extractor: Any
) -> None:
    from telegram.ext import Application, CallbackContext

    html = tme_fixture("full.html")
    _serve_channel(server, html, [])
    settings = make_settings(sqlite_url, server)
    session_factory = open_db(sqlite_url)
    await sources.add_source(session_factory, settings, f"@{CHANNEL}", extractor=extractor)
    update_source(session_factory, CHANNEL, failures=7, next_poll_at=None)  # one failure from a pause
    server.route(f"/s/{CHANNEL}", Reply(503, b"busy"))

    notices: list[polling.PollResult] = []

    async def notify(result: polling.PollResult) -> None:
        notices.append(result)

    application = Application.builder().token("123456:" + "A" * 35).build()
    assert application.job_queue is not None
    job = jobs.schedule_polling(application.job_queue, session_factory, settings, extractor, notify)
    assert job.name == "poll:due"
    await job.callback(CallbackContext.from_job(job, application))

    assert len(notices) == 1 and notices[0].paused and notices[0].failures == 8
    assert notices[0].pause_notice().startswith(f"⏸ @{CHANNEL} was paused after 8 failed polls in a row")
    assert "HTTP 503" in notices[0].pause_notice()  # for the log and the CLI; admins get no error line
    assert stored_source(session_factory, CHANNEL).active is False


# ---------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
async def test_idempotent_poll_on_postgres(
    server: LocalServer, tme_fixture: Fixture, pg_schema_url: str, extractor: Any
) -> None:
    html = tme_fixture("full.html")
    pieces = messages_of(html)
    _serve_channel(server, html, pieces[:8])
    settings = make_settings(pg_schema_url, server)
    engine_factory: sessionmaker[Session] = open_db(pg_schema_url)
    try:
        added = await sources.add_source(engine_factory, settings, f"@{CHANNEL}", extractor=extractor)
        assert added.new == 8
        _serve_channel(server, html, pieces)
        first = await polling.poll_source(engine_factory, settings, extractor, CHANNEL)
        second = await polling.poll_source(engine_factory, settings, extractor, CHANNEL)
        assert (first.new, first.updated, second.new, second.updated) == (4, 0, 0, 0)
        assert [p.message_id for p in stored_posts(engine_factory)] == FULL_IDS
        [info] = sources.list_sources_info(engine_factory)
        assert info.last_post_at == datetime(2023, 2, 28, 13, 14, 3, tzinfo=UTC)
        assert message_id_of(pieces[-1]) == info.last_message_id
    finally:
        bind = engine_factory.kw.get("bind")
        if bind is not None:
            bind.dispose()
