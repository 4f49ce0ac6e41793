"""RSS and Atom through fetch_feed, served locally with ETag/304, and garbage input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pollers_helpers import LocalServer, Reply, Request

from bot.pollers.feeds import FeedError, entry_message_id, fetch_feed, parse_feed
from bot.pollers.http import FetchError, SafeFetcher

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Kharkiv Regional Military Administration</title>
    <link>https://example.org/</link>
    <description>News</description>
    <item>
      <title>Shelling of Kupiansk</title>
      <link>https://example.org/news/101</link>
      <guid isPermaLink="false">kharkiv-101</guid>
      <pubDate>Tue, 28 Feb 2023 08:48:01 +0200</pubDate>
      <description><![CDATA[<p>Two people were injured in <b>Kupiansk</b>.<br>Rescuers &amp; police
        are working at the <a href="https://example.org/map">site</a>.</p>]]></description>
    </item>
    <item>
      <title>Air raid alert lifted</title>
      <link>https://example.org/news/102</link>
      <pubDate>Tue, 28 Feb 2023 09:10:00 GMT</pubDate>
    </item>
    <item>
      <title>An item without a date</title>
      <link>https://example.org/news/103</link>
    </item>
  </channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Odesa City Council</title>
  <id>urn:uuid:feed</id>
  <updated>2023-03-01T10:00:00Z</updated>
  <entry>
    <title>Drone attack on the port</title>
    <id>urn:uuid:entry-1</id>
    <link rel="alternate" href="/news/1"/>
    <published>2023-03-01T06:15:00+02:00</published>
    <updated>2023-03-01T09:30:00Z</updated>
    <summary>Short version.</summary>
    <content type="html">&lt;p&gt;Air defence shot down 5 drones over Odesa.&lt;/p&gt;
      &lt;p&gt;No casualties.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Drone attack on the port</title>
    <id>urn:uuid:entry-2</id>
    <link rel="alternate" href="https://odesa.example/news/2"/>
    <updated>2023-03-01T11:00:00Z</updated>
    <summary>Drone attack on the port: update, one injured.</summary>
  </entry>
</feed>
"""


def _conditional(
    body: str, content_type: str, etag: str, last_modified: str
) -> Callable[[Request], Reply]:
    def reply(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        headers = {"Content-Type": content_type, "ETag": etag, "Last-Modified": last_modified}
        return Reply(200, body.encode("utf-8"), headers)

    return reply


@pytest.mark.asyncio
async def test_rss_with_etag_and_304(server: LocalServer) -> None:
    stamp = "Tue, 28 Feb 2023 09:10:00 GMT"
    server.route("/rss", _conditional(RSS, "application/rss+xml", '"rss-1"', stamp))
    async with SafeFetcher(allow_private=True) as fetcher:
        first = await fetch_feed(fetcher, server.url("/rss"))
        second = await fetch_feed(
            fetcher, server.url("/rss"), etag=first.etag, last_modified=first.last_modified
        )

    assert first.title == "Kharkiv Regional Military Administration"
    assert (first.etag, first.last_modified, first.not_modified) == ('"rss-1"', stamp, False)
    assert first.skipped == 1  # the undated item
    shelling, lifted = first.posts
    assert shelling.message_id == entry_message_id("kharkiv-101")
    assert shelling.posted_at == datetime(2023, 2, 28, 6, 48, 1, tzinfo=UTC)
    assert shelling.text == (
        "Shelling of Kupiansk\n\nTwo people were injured in Kupiansk.\n"
        "Rescuers & police are working at the site."
    )
    assert shelling.url == "https://example.org/news/101"
    assert shelling.edited_at is None
    # no guid: the id comes from the link
    assert lifted.message_id == entry_message_id("https://example.org/news/102")
    assert lifted.text == "Air raid alert lifted"

    assert second.not_modified and second.posts == []
    assert (second.etag, second.last_modified) == ('"rss-1"', stamp)
    sent = server.requests_to("/rss")[1].headers
    assert (sent["if-none-match"], sent["if-modified-since"]) == ('"rss-1"', stamp)


@pytest.mark.asyncio
async def test_atom_feed(server: LocalServer) -> None:
    server.route(
        "/atom",
        Reply(200, ATOM.encode("utf-8"), {"Content-Type": "application/atom+xml", "ETag": "a1"}),
    )
    async with SafeFetcher(allow_private=True) as fetcher:
        result = await fetch_feed(fetcher, server.url("/atom"))
    assert result.title == "Odesa City Council"
    assert result.etag == "a1" and result.last_modified is None
    first, second = result.posts
    assert first.message_id == entry_message_id("urn:uuid:entry-1")
    assert first.posted_at == datetime(2023, 3, 1, 4, 15, tzinfo=UTC)
    assert first.edited_at == datetime(2023, 3, 1, 9, 30, tzinfo=UTC)
    # the full content wins over the short summary
    assert first.text == (
        "Drone attack on the port\n\nAir defence shot down 5 drones over Odesa.\n\nNo casualties."
    )
    assert first.url == server.url("/news/1")  # relative link resolved against the feed URL
    # only <updated>: it is the post date; a summary that starts with the title replaces it
    assert second.posted_at == datetime(2023, 3, 1, 11, 0, tzinfo=UTC)
    assert second.edited_at is None
    assert second.text == "Drone attack on the port: update, one injured."


def test_message_ids_are_stable_63_bit_and_distinct() -> None:
    _, posts, _ = parse_feed(RSS.encode(), "https://example.org/rss")
    _, again, _ = parse_feed(RSS.encode(), "https://elsewhere.example/rss")
    assert [p.message_id for p in posts] == [p.message_id for p in again]
    assert len({p.message_id for p in posts}) == len(posts)
    assert all(0 <= p.message_id < 2**63 for p in posts)
    assert entry_message_id("kharkiv-101") == entry_message_id("kharkiv-101")
    assert entry_message_id("kharkiv-101") != entry_message_id("kharkiv-102")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b"this is not a feed",
        b"<html><body><p>Welcome to our site</p></body></html>",
        b"",
        b"/etc/passwd",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
    ids=["text", "html", "empty", "a-path", "binary"],
)
async def test_garbage_is_a_feed_error(server: LocalServer, body: bytes) -> None:
    server.route("/feed", Reply(200, body, {"Content-Type": "text/html"}))
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(FeedError, match="is not an RSS or Atom feed") as caught:
            await fetch_feed(fetcher, server.url("/feed"))
    assert "\n" not in str(caught.value)


@pytest.mark.asyncio
async def test_http_error_is_a_fetch_error(server: LocalServer) -> None:
    server.route("/feed", Reply(500, b"oops"))
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError, match="HTTP 500"):
            await fetch_feed(fetcher, server.url("/feed"))
