"""RSS and Atom sources: fetch with conditional requests, parse with feedparser into ``PostIn``.

How an entry becomes a ``PostIn``:

- ``message_id`` is a stable 63-bit int: the first 8 bytes of BLAKE2b over the entry's
  ``guid``/``id`` (else its link, else title + date), big-endian, shifted right by one so it is
  positive and fits a signed 64-bit column. The same entry gets the same id on every poll and on
  every machine; ids carry no order (use ``posted_at``), and two distinct keys collide with
  probability about 2**-63.
- ``posted_at`` is ``published``, else ``updated`` (UTC); entries with neither, or with dates no
  post can have (before 1970, after 2100), are skipped and counted (a fetch time would put a
  wrong date on every claim of the entry).
  ``edited_at`` is ``updated`` when it is later than ``published``.
- ``text`` is the title, a blank line, then the body (the full ``content`` when the feed has it,
  else ``summary``), HTML stripped; the title is left out when the body already starts with it.
  Entries with no text are skipped and counted.
- ``url`` is the entry's link (relative links are resolved against the feed's URL).
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import io
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser  # type: ignore[import-untyped]

from bot.engine.text import storable
from bot.engine.types import PostIn, plausible_post_time
from bot.pollers.htmltext import html_to_text
from bot.pollers.http import PollerError, SafeFetcher

logger = logging.getLogger(__name__)


class FeedError(PollerError):
    """The document is not an RSS or Atom feed that can be read."""


@dataclass(frozen=True, slots=True)
class FeedResult:
    """One poll of a feed.

    ``etag``/``last_modified`` are the validators to send next time (the previous ones are
    kept when a 304 answer carries none); ``not_modified`` means a 304 (``posts`` is empty).
    ``skipped`` counts entries without date or text.
    """

    posts: list[PostIn]
    etag: str | None
    last_modified: str | None
    not_modified: bool
    title: str | None
    skipped: int = 0


def entry_message_id(key: str) -> int:
    """The stable 63-bit id of an entry key (see the module docstring)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


async def fetch_feed(
    fetcher: SafeFetcher,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedResult:
    """Fetch and parse a feed, conditionally when validators from the last poll are given.

    Raises:
        FetchError: the feed could not be fetched or came back with an error status.
        FeedError: the answer is not a readable RSS or Atom document.
    """
    result = await fetcher.get(url, etag=etag, last_modified=last_modified)
    result.raise_for_status()
    if result.not_modified:
        return FeedResult(
            posts=[],
            etag=result.etag or etag,
            last_modified=result.last_modified or last_modified,
            not_modified=True,
            title=None,
        )
    title, posts, skipped = await asyncio.to_thread(
        parse_feed, result.content, result.url, result.content_type
    )
    logger.debug("feed %s: %d posts, %d skipped", url, len(posts), skipped)
    return FeedResult(
        posts=posts,
        etag=result.etag,
        last_modified=result.last_modified,
        not_modified=False,
        title=title,
        skipped=skipped,
    )


def parse_feed(
    content: bytes, url: str, content_type: str | None = None
) -> tuple[str | None, list[PostIn], int]:
    """Parse an RSS/Atom document.

    Args:
        content: the raw document.
        url: where it came from (base for relative links, and for messages).
        content_type: the ``Content-Type`` header, which may name the charset.

    Returns:
        The feed's title, its entries as posts (document order), and the count of skipped
        entries.

    Raises:
        FeedError: the document is not RSS or Atom.
    """
    try:
        return _parse_feed(content, url, content_type)
    except RecursionError:  # feedparser's and the HTML cleaner's parsers recurse on some garbage
        raise FeedError(f"{url} is not an RSS or Atom feed: nested too deeply") from None


def _parse_feed(content: bytes, url: str, content_type: str | None) -> tuple[str | None, list[PostIn], int]:
    try:
        parsed = _parse(content, url, content_type)
    except (UnicodeError, LookupError):
        # feedparser gives up on some charsets a server may name ("undefined"): sniff instead
        try:
            parsed = _parse(content, url, None)
        except (UnicodeError, LookupError) as exc:
            raise FeedError(f"{url} is not an RSS or Atom feed: {_one_line(str(exc))}") from None
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        detail = f": {_one_line(str(problem))}" if problem else ""
        raise FeedError(f"{url} is not an RSS or Atom feed{detail}")
    feed = parsed.get("feed", {})
    title = storable(_one_line(html_to_text(feed.get("title", "")))) or None
    posts: list[PostIn] = []
    skipped = 0
    for entry in parsed.get("entries", []):
        post = _entry_post(entry)
        if post is None:
            skipped += 1
        else:
            posts.append(post)
    return title, posts, skipped


def _parse(content: bytes, url: str, content_type: str | None) -> Any:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # A stream, never bytes or str: feedparser would open a str URL itself, and bytes that
    # happen to name a local file would be read from disk.
    return feedparser.parse(io.BytesIO(content), response_headers=headers, sanitize_html=False)


def _entry_post(entry: Any) -> PostIn | None:
    # dict.get: FeedParserDict.get would answer "updated" with "published" (and warn).
    published = _when(dict.get(entry, "published_parsed"))
    updated = _when(dict.get(entry, "updated_parsed"))
    posted_at = published or updated
    link = entry.get("link") or None
    title = html_to_text(entry.get("title", ""))
    body = _body(entry)
    if body.startswith(title) or title.startswith(body):
        text = title if len(title) > len(body) else body
    else:
        text = f"{title}\n\n{body}" if title and body else title or body
    if posted_at is None or not text:
        logger.debug("feed entry %s skipped: no date or no text", entry.get("id") or link)
        return None
    key = entry.get("id") or link or f"{title}|{posted_at.isoformat()}"
    return PostIn(
        message_id=entry_message_id(key),
        posted_at=posted_at,
        text=text,
        edited_at=updated if published and updated and updated > published else None,
        url=link,
    )


def _body(entry: Any) -> str:
    candidates = [item.get("value", "") for item in entry.get("content", [])]
    candidates.append(entry.get("summary", ""))
    texts = [html_to_text(value) for value in candidates if value]
    return max(texts, key=len, default="")


def _when(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
    return moment if plausible_post_time(moment) else None


def _one_line(text: str) -> str:
    return " ".join(text.split())
