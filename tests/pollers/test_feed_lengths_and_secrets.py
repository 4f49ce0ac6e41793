"""A feed with long fields stores the same on SQLite and PostgreSQL; secrets in a feed URL are
never shown (``claimwatch sources list``, ``/sources``' service, poll errors, the log)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pollers_helpers import LocalServer, Reply
from sources_helpers import make_settings, open_db, stored_posts, stored_source

from bot.services import sources
from bot.cli import main


def _feed(title: str, link: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>"
        "<item><guid>g1</guid><title>Shelling of Kharkiv: 2 killed</title>"
        "<description>Russian shelling of Kharkiv killed 2 people today.</description>"
        f"<pubDate>Wed, 02 Mar 2022 10:00:00 +0000</pubDate><link>{link}</link></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.asyncio
async def test_long_feed_url_title_link_and_etag_are_stored(
    server: LocalServer, db_url: str, extractor: Any
) -> None:
    path = "/feeds/" + "regional-administration-" * 12  # the URL is over 300 characters
    title = "Regional military administration " * 12  # over 300
    link = "https://example.org/news/" + "x" * 1200  # over 1,000
    etag = '"' + "e" * 400 + '"'  # over 300
    server.route(path, Reply(200, _feed(title, link), {"Content-Type": "application/rss+xml", "ETag": etag}))
    url = server.url(path)
    assert len(url) > 300

    result = await sources.add_source(open_db(db_url), make_settings(db_url, server), url, extractor=extractor)

    assert (result.created, result.new) == (True, 1)
    stored = stored_source(open_db(db_url), url)
    assert (stored.url, stored.name, stored.etag) == (url, title.strip(), etag)
    assert stored_posts(open_db(db_url), url)[0].url == link


SECRET_URL_PARTS = ("hunter2", "SECRETKEY123", "tok-98765")


def test_feed_url_secrets_are_never_shown(
    server: LocalServer, sqlite_url: str, extractor: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    server.route("/feed", Reply(200, _feed("", "https://example.org/1"), {"Content-Type": "application/rss+xml"}))
    url = server.url("/feed").replace("://", "://reader:hunter2@") + "?api_key=SECRETKEY123&lang=en&token=tok-98765"
    monkeypatch.setenv("CLAIMWATCH_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setattr(sources, "load_extractor", lambda settings: extractor)
    caplog.set_level(logging.INFO)

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(["--db", sqlite_url, *argv])
        out = capsys.readouterr()
        return status, out.out, out.err

    status, out, err = run("sources", "add", url)
    assert status == 0, err
    status, listed, err = run("sources", "list")
    assert status == 0 and "lang=en" in listed and "***" in listed
    infos = sources.list_sources_info(open_db(sqlite_url))  # what /sources shows
    server.route("/feed", Reply(500, b"down"))
    status, polled, poll_err = run("poll", "--once")
    assert status == 1 and "error: HTTP 500" in polled

    shown = [out, listed, polled, poll_err, caplog.text, *(f"{i.label} {i.name} {i.last_error}" for i in infos)]
    stored = stored_source(open_db(sqlite_url), url)
    shown.append(sources.list_sources_info(open_db(sqlite_url))[0].line())
    for text in shown:
        for secret in SECRET_URL_PARTS:
            assert secret not in text, text
    assert stored.url == url  # kept whole for polling
