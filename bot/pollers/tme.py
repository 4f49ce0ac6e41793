"""Public channel web preview (``https://t.me/s/<channel>``): parse its pages and page through them.

``parse_preview`` is a pure function from a page's HTML to a ``PreviewPage``; ``TmeClient`` fetches
pages through a ``SafeFetcher`` and walks back with ``?before=<id>`` (the page then holds the
posts with smaller ids, oldest first, about twenty of them).

How a message bubble becomes a ``PostIn``:

- ``message_id`` and ``url`` come from ``data-post="<channel>/<id>"`` (the channel as t.me spells
  it); ``posted_at`` from the footer's ``<time datetime>`` (aware, UTC).
- ``text`` is the readable text of ``.tgme_widget_message_text`` (a photo/video/file/voice caption
  is that same element): ``<br>`` becomes a line break, markup indentation collapses, emoji stay,
  links keep their visible text only. Hrefs are dropped (``PostIn`` has no field for them, and
  appending them would feed URLs to claim extraction); a reader finds them through ``url``.
  The quoted text of a reply is not part of the text; link-preview cards are not either.
- The page only says "edited", not when: an edited post gets ``edited_at = posted_at`` (a stable
  marker, so re-polling an unchanged page yields equal values); an unedited one ``None``.
- ``forwarded_from`` is the name shown after "Forwarded from"; ``views`` reads "33.4K" as 33400.
- Bubbles without text (media-only posts, stickers, round videos, polls, voice notes without a
  caption), service messages and bubbles without id or a plausible date (1970–2100) are skipped
  and counted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.engine.text import storable
from bot.engine.types import PostIn, plausible_post_time
from bot.pollers.htmltext import node_text
from bot.pollers.http import PollerError, SafeFetcher

logger = logging.getLogger(__name__)

PUBLIC_BASE = "https://t.me"
_CHANNEL = re.compile(r"^[A-Za-z0-9_]{3,64}$")
_CHANNEL_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?([^/?#]+)")
_VIEWS = re.compile(r"^\s*([\d.,]+)\s*([KMB]?)\s*$", re.IGNORECASE)
_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


class NoPreviewError(PollerError):
    """The channel has no public web preview (private, restricted, or not a channel at all)."""


@dataclass(frozen=True, slots=True)
class PreviewPage:
    """One page of a channel's web preview.

    ``posts`` are in page order (oldest first); ``skipped`` counts bubbles that gave no post;
    ``min_id`` is the smallest message id on the page, skipped bubbles included (the value for
    ``?before=``), None on an empty page.
    """

    channel: str
    title: str | None
    posts: tuple[PostIn, ...]
    skipped: int
    min_id: int | None


def normalize_channel(ref: str) -> str:
    """The bare channel username from ``@name``, ``name`` or a ``t.me/[s/]name`` link.

    Raises:
        ValueError: when no valid username can be read.
    """
    value = ref.strip()
    match = _CHANNEL_URL.match(value)
    if match:
        value = match.group(1)
    value = value.removeprefix("@")
    if not _CHANNEL.match(value):
        raise ValueError(f"{ref!r} is not a public channel username")
    return value


def parse_views(text: str) -> int | None:
    """Telegram's view counter as an int: "746" → 746, "33.4K" → 33400, "1.2M" → 1200000."""
    match = _VIEWS.match(text)
    if not match:
        return None
    try:
        number = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        return None
    return int(number * _MULTIPLIERS[match.group(2).upper()])


def parse_preview(html: str, channel: str) -> PreviewPage:
    """Parse one web-preview page (or a fragment holding message bubbles).

    Args:
        html: the page's HTML.
        channel: the channel username the page was fetched for (used for the page's
            ``channel`` and in log lines; post URLs use the name in ``data-post``).

    Returns:
        The page's text posts, the count of skipped bubbles, the title and the smallest id.
    """
    tree = LexborHTMLParser(html)
    posts: list[PostIn] = []
    skipped = 0
    ids: list[int] = []
    for bubble in tree.css(".tgme_widget_message[data-post]"):
        message_id, post = _parse_bubble(bubble, channel)
        if message_id is not None:
            ids.append(message_id)
        if post is None:
            skipped += 1
        else:
            posts.append(post)
    return PreviewPage(
        channel=channel,
        title=_channel_title(tree),
        posts=tuple(posts),
        skipped=skipped,
        min_id=min(ids) if ids else None,
    )


def _parse_bubble(bubble: LexborNode, channel: str) -> tuple[int | None, PostIn | None]:
    data_post = bubble.attributes.get("data-post") or ""
    post_channel, _, raw_id = data_post.rpartition("/")
    if not raw_id.isdigit() or not post_channel:
        logger.debug("@%s: bubble with unreadable data-post %r skipped", channel, data_post)
        return None, None
    message_id = int(raw_id)
    if "service_message" in (bubble.attributes.get("class") or "").split():
        return message_id, None
    posted_at = _posted_at(bubble)
    if posted_at is None:
        logger.debug("@%s/%d: no date, skipped", channel, message_id)
        return message_id, None
    text_node = _text_node(bubble)
    text = node_text(text_node) if text_node is not None else ""
    if not text:
        return message_id, None
    forwarded = bubble.css_first(".tgme_widget_message_forwarded_from_name")
    views = bubble.css_first(".tgme_widget_message_views")
    return message_id, PostIn(
        message_id=message_id,
        posted_at=posted_at,
        text=text,
        edited_at=posted_at if _is_edited(bubble) else None,
        url=f"{PUBLIC_BASE}/{post_channel}/{message_id}",
        forwarded_from=(forwarded.text(strip=True) or None) if forwarded is not None else None,
        views=parse_views(views.text()) if views is not None else None,
    )


def _posted_at(bubble: LexborNode) -> datetime | None:
    # Video durations are <time> elements too: read the footer's date link first.
    node = bubble.css_first(".tgme_widget_message_date time[datetime]") or bubble.css_first(
        ".tgme_widget_message_info time[datetime]"
    )
    if node is None:
        return None
    try:
        value = datetime.fromisoformat(node.attributes.get("datetime") or "")
    except ValueError:
        return None
    value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return value if plausible_post_time(value) else None


def _text_node(bubble: LexborNode) -> LexborNode | None:
    """The outermost message text that is not the quote of a replied-to message."""
    for node in bubble.css(".tgme_widget_message_text"):
        parent = node.parent
        nested = False
        while parent is not None and parent.tag != "body":
            classes = (parent.attributes.get("class") or "").split()
            if "tgme_widget_message_text" in classes or "tgme_widget_message_reply" in classes:
                nested = True
                break
            if "tgme_widget_message" in classes:  # reached the bubble itself
                break
            parent = parent.parent
        if not nested:
            return node
    return None


def _is_edited(bubble: LexborNode) -> bool:
    meta = bubble.css_first(".tgme_widget_message_meta")
    if meta is None:
        return False
    # Only the meta's own text, not an author signature that might contain the word.
    child = meta.child
    while child is not None:
        if child.tag == "-text" and "edited" in (child.text_content or "").lower():
            return True
        child = child.next
    return False


def _channel_title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first(".tgme_channel_info_header_title") or tree.css_first(".tgme_header_title")
    if node is not None and node.text(strip=True):
        return storable(node.text(strip=True))
    meta = tree.css_first('meta[property="og:title"]')
    if meta is not None:
        return storable((meta.attributes.get("content") or "").strip()) or None
    return None


@dataclass(frozen=True, slots=True)
class RecentPosts:
    """What ``TmeClient.fetch_recent`` read: posts oldest first, the channel's title, and the
    newest message id on the newest page (text or not)."""

    posts: tuple[PostIn, ...]
    title: str | None
    newest_id: int | None


class TmeClient:
    """Reads channels through their public web preview.

    Args:
        fetcher: the HTTP client.
        base_url: where t.me lives (tests pass their local server).
        max_pages: the most pages one ``fetch_new`` or ``backfill`` call requests.
    """

    def __init__(
        self, fetcher: SafeFetcher, base_url: str = PUBLIC_BASE, *, max_pages: int = 20
    ) -> None:
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.max_pages = max_pages

    async def fetch_page(self, channel: str, before: int | None = None) -> PreviewPage:
        """One page: the newest posts, or those older than ``before``.

        Raises:
            NoPreviewError: t.me sent us away from ``/s/`` (no public preview).
            FetchError: the page could not be fetched or came back with an error status.
            ValueError: ``channel`` is not a channel username.
        """
        name = normalize_channel(channel)
        url = f"{self.base_url}/s/{name}"
        if before is not None:
            url += f"?before={before}"
        result = await self.fetcher.get(url)
        preview_prefix = urlsplit(self.base_url).path.rstrip("/") + "/s/"
        if not urlsplit(result.url).path.startswith(preview_prefix):
            raise NoPreviewError(
                f"@{name} has no public web preview (t.me sent {result.url}); "
                "the bot must be added to the channel as an administrator instead"
            )
        result.raise_for_status()
        page = parse_preview(result.text, name)
        logger.debug(
            "@%s before=%s: %d posts, %d skipped", name, before, len(page.posts), page.skipped
        )
        return page

    async def fetch_recent(self, channel: str, after_id: int | None) -> RecentPosts:
        """The newest page whole, then older pages back to ``after_id`` (their posts after it).

        Follows ``?before=`` until a page reaches ``after_id`` (so a poll that finds nothing
        new costs one request), at most ``max_pages`` pages. With ``after_id=None`` only the
        newest page is read. The newest page's posts at or below ``after_id`` are kept: storing
        them again is a no-op unless they were edited, which is how a poll sees recent edits.
        """
        page = await self.fetch_page(channel)
        found = {post.message_id: post for post in page.posts}
        newest = max(found, default=None)
        if after_id is not None:
            requests = 1
            while page.min_id is not None and page.min_id > after_id + 1:
                if requests >= self.max_pages:
                    logger.warning(
                        "@%s: stopped after %d pages before reaching post %d",
                        channel, requests, after_id,
                    )  # fmt: skip
                    break
                older = await self.fetch_page(channel, before=page.min_id)
                requests += 1
                if older.min_id is None or older.min_id >= page.min_id:
                    break
                found.update((post.message_id, post) for post in older.posts if post.message_id > after_id)
                page = older
        posts = tuple(sorted(found.values(), key=lambda post: post.message_id))
        return RecentPosts(posts=posts, title=page.title, newest_id=newest)

    async def fetch_new(self, channel: str, after_id: int | None) -> list[PostIn]:
        """Posts newer than ``after_id``, oldest first (``fetch_recent`` without the posts already seen)."""
        recent = await self.fetch_recent(channel, after_id)
        return [post for post in recent.posts if after_id is None or post.message_id > after_id]

    async def backfill(self, channel: str, pages: int) -> list[PostIn]:
        """The posts of the newest ``pages`` pages (capped at ``max_pages``), oldest first."""
        if pages < 1:
            raise ValueError("pages must be at least 1")
        page = await self.fetch_page(channel)
        found = {post.message_id: post for post in page.posts}
        for _ in range(min(pages, self.max_pages) - 1):
            if page.min_id is None or page.min_id <= 1:
                break
            older = await self.fetch_page(channel, before=page.min_id)
            if older.min_id is None or older.min_id >= page.min_id:
                break
            found.update((post.message_id, post) for post in older.posts)
            page = older
        return sorted(found.values(), key=lambda post: post.message_id)
