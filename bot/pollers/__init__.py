"""Pollers: fetch public channel previews and feeds safely, and parse them into ``PostIn``.

Pure fetch and parse, returning values: no Telegram bot code and no SQL live here.

- ``http``: ``SafeFetcher``, a guarded async HTTP client (``FetchResult``, ``FetchError``).
- ``tme``: the ``t.me/s/<channel>`` web preview (``parse_preview``, ``TmeClient``).
- ``feeds``: RSS and Atom (``fetch_feed``, ``parse_feed``).
- ``backoff``: ``Backoff`` and ``jittered_interval`` for scheduling polls.
"""

from __future__ import annotations

import logging

from bot.pollers.backoff import Backoff, jittered_interval
from bot.pollers.feeds import FeedError, FeedResult, fetch_feed, parse_feed
from bot.pollers.http import FetchError, FetchResult, PollerError, SafeFetcher
from bot.pollers.tme import NoPreviewError, PreviewPage, TmeClient, parse_preview

logger = logging.getLogger(__name__)

__all__ = [
    "Backoff",
    "FeedError",
    "FeedResult",
    "FetchError",
    "FetchResult",
    "NoPreviewError",
    "PollerError",
    "PreviewPage",
    "SafeFetcher",
    "TmeClient",
    "fetch_feed",
    "jittered_interval",
    "parse_feed",
    "parse_preview",
]
