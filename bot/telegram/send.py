"""Sending messages to one chat through the Bot API: waiting out 429s, retrying network errors
with bounded backoff, and pacing a run of messages (one per ``pace`` seconds in one chat).

Parse mode and link previews come from the Application's ``Defaults`` (``bot.app``).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

DEFAULT_PACE = 1.05  # seconds between two messages to the same chat
MAX_RATE_RETRIES = 20
MAX_NETWORK_RETRIES = 5
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


@dataclass(frozen=True, slots=True)
class Part:
    """One message: Telegram-HTML text, or a PNG with an optional caption."""

    text: str = ""
    photo: bytes | None = None


class GaveUp(Exception):
    """A message could not be sent after the bounded retries."""


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send_part(bot: Bot, chat_id: int, part: Part, *, network_retries: int = MAX_NETWORK_RETRIES,
                    paid_broadcast: bool = False) -> int:
    """Send one message, waiting out 429s and retrying network errors; returns its message id.
    With ``paid_broadcast`` the message is sent with ``allow_paid_broadcast`` (Telegram lets such
    sends past the free 30 messages a second, up to 1,000, for Stars).

    Raises:
        Forbidden: the chat refuses the bot.
        BadRequest: Telegram refused the message itself.
        GaveUp: retries exhausted.
    """
    rate_retries = failures = 0
    while True:
        try:
            paid = {"allow_paid_broadcast": True} if paid_broadcast else {}
            if part.photo is not None:
                message = await bot.send_photo(chat_id, photo=part.photo, caption=part.text or None, **paid)
            else:
                message = await bot.send_message(chat_id, part.text, **paid)
            return message.message_id
        except RetryAfter as exc:
            rate_retries += 1
            if rate_retries > MAX_RATE_RETRIES:
                raise GaveUp(f"still rate-limited after {MAX_RATE_RETRIES} waits") from exc
            await asyncio.sleep(_retry_seconds(exc) + 0.05)
        except (Forbidden, BadRequest):
            raise
        except (TimedOut, NetworkError) as exc:
            failures += 1
            if failures > network_retries:
                raise GaveUp(f"network error: {exc}") from exc
            await asyncio.sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failures - 1)))


async def send_parts(bot: Bot, chat_id: int, parts: Sequence[Part], pace: float = DEFAULT_PACE) -> list[int]:
    """Send messages to one chat now, paced, with no delivery log (on-demand replies)."""
    ids = []
    for i, part in enumerate(parts):
        if i:
            await asyncio.sleep(pace)
        ids.append(await send_part(bot, chat_id, part))
    return ids
