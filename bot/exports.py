"""Reading Telegram Desktop channel exports (``result.json``) into posts.

A file that is not a channel export (unreadable, not JSON, no channel ``id``/``name``, no
``messages`` list) raises ``ExportError``: one line naming the file. A malformed message inside
(no id or date, a text of the wrong type, a date no post can have) makes the whole file an
``ExportError`` naming the message, so that ``claimwatch import`` writes all of a file or nothing;
with ``strict=False`` it is skipped and counted instead, so that one broken message does not cost
the others, and one WARNING line per file names the first one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.engine.text import storable
from bot.engine.types import PostIn, plausible_post_time

logger = logging.getLogger(__name__)

MAX_MESSAGE_ID = 2**63 - 1  # a BIGINT column


class ExportError(Exception):
    """A file is not a usable channel export; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ChannelExport:
    """One parsed export: the channel and its text posts.

    ``skipped`` counts the messages that gave no post: service messages, messages without text,
    and the ``malformed`` ones (also counted on their own).
    """

    path: Path
    ref: str
    name: str
    handle: str | None
    posts: tuple[PostIn, ...]
    skipped: int
    malformed: int = 0
    first_problem: str | None = None  # what was wrong with the first malformed message


def flatten_text(text: Any) -> str:
    """A message's ``text`` as plain text: a string, or a list of strings and entity objects."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        parts: list[str] = []
        for piece in text:
            if isinstance(piece, str):
                parts.append(piece)
            elif isinstance(piece, dict) and isinstance(piece.get("text", ""), str):
                parts.append(piece.get("text", ""))
            else:
                raise ValueError(f"unexpected text piece of type {type(piece).__name__}")
        return "".join(parts)
    raise ValueError(f"text must be a string or a list, not {type(text).__name__}")


def _parse_time(message: dict[str, Any], key: str, zone: ZoneInfo) -> datetime | None:
    unix = message.get(f"{key}_unixtime")
    if unix is not None:
        if isinstance(unix, bool) or not isinstance(unix, int | str):
            raise ValueError(f"{key}_unixtime must be a number of seconds")
        value = datetime.fromtimestamp(int(unix), tz=ZoneInfo("UTC"))
    else:
        raw = message.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ValueError(f"{key} must be a date string")
        value = datetime.fromisoformat(raw)
        value = value if value.tzinfo else value.replace(tzinfo=zone)
    if not plausible_post_time(value):
        raise ValueError(f"{key} {value.isoformat()} is not a date a post can have")
    return value


def _message_id(message: dict[str, Any]) -> int:
    raw = message["id"]
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError("id must be a number")
    value = int(raw)
    if not 0 < value <= MAX_MESSAGE_ID:
        raise ValueError(f"id {value} is out of range")
    return value


def _read_post(message: dict[str, Any], zone: ZoneInfo, handle: str | None) -> PostIn | None:
    """The message as a post; None for a message without text.

    Raises:
        ValueError: the message is malformed.
    """
    try:
        message_id = _message_id(message)
        posted_at = _parse_time(message, "date", zone)
        edited_at = _parse_time(message, "edited", zone)
        text = flatten_text(message.get("text"))
        caption = flatten_text(message.get("caption")) if "caption" in message else ""
    except KeyError as exc:
        raise ValueError(f"missing {exc.args[0]!r}") from None
    except (TypeError, OverflowError, OSError) as exc:  # OverflowError, OSError: absurd timestamps
        raise ValueError(str(exc)) from None
    if posted_at is None:
        raise ValueError("missing 'date'")
    forwarded_from = message.get("forwarded_from")
    if forwarded_from is not None and not isinstance(forwarded_from, str):
        raise ValueError("forwarded_from must be a string")
    body = "\n".join(p for p in (text, caption) if p.strip())
    if not body.strip():
        return None
    return PostIn(
        message_id=message_id,
        posted_at=posted_at,
        text=body,
        edited_at=edited_at,
        url=f"https://t.me/{handle}/{message_id}" if handle else None,
        forwarded_from=forwarded_from,
    )


def read_export(path: Path, zone: ZoneInfo, *, strict: bool = True) -> ChannelExport:
    """Parse one export file.

    Telegram Desktop writes local times without a zone; they are read in ``zone`` unless the
    message carries ``date_unixtime``.

    Args:
        path: the ``result.json``.
        zone: the zone of times written without one.
        strict: a malformed message makes the file an error (else it is skipped and counted).

    Raises:
        ExportError: unreadable JSON, or not a channel export; with ``strict`` a malformed
            message, without it no readable message at all.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ExportError(f"{path}: not a Telegram Desktop channel export (JSON nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ExportError(f"{path}: not a Telegram Desktop channel export (no \"messages\" list)")
    ref, name = data.get("id"), data.get("name")
    if isinstance(ref, bool) or not isinstance(ref, int | str) or not str(ref).strip() \
            or not isinstance(name, str) or not name.strip():
        raise ExportError(f"{path}: the export has no channel \"id\" and \"name\"")
    handle = data.get("username") or None
    if handle is not None and not isinstance(handle, str):
        raise ExportError(f"{path}: the channel's \"username\" is not a string")
    handle = storable(handle) if handle else None
    posts: list[PostIn] = []
    skipped = 0
    problems: list[str] = []
    for index, message in enumerate(data["messages"]):
        if isinstance(message, dict) and message.get("type", "message") != "message":
            skipped += 1  # a service message: a pinned post, a changed title...
            continue
        try:
            if not isinstance(message, dict):
                raise ValueError("not an object")
            post = _read_post(message, zone, handle)
        except ValueError as exc:
            problem = f"message #{index + 1}: {' '.join(str(exc).split())[:200]}"
            if strict:
                raise ExportError(f"{path}: {problem}") from None
            problems.append(problem)
            continue
        if post is None:
            skipped += 1
        else:
            posts.append(post)
    if problems and not posts:
        raise ExportError(f"{path}: no readable message ({problems[0]})")
    return ChannelExport(path=path, ref=storable(str(ref).strip()), name=storable(name.strip()), handle=handle,
                         posts=tuple(posts), skipped=skipped + len(problems), malformed=len(problems),
                         first_problem=problems[0] if problems else None)
