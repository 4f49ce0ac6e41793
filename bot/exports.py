"""Reading Telegram Desktop channel exports (``result.json``) into posts, all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.engine.types import PostIn


class ExportError(Exception):
    """A file is not a usable channel export; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ChannelExport:
    """One parsed export: the channel and its text posts."""

    path: Path
    ref: str
    name: str
    handle: str | None
    posts: tuple[PostIn, ...]
    skipped: int


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
            elif isinstance(piece, dict):
                parts.append(str(piece.get("text", "")))
            else:
                raise ValueError(f"unexpected text piece of type {type(piece).__name__}")
        return "".join(parts)
    raise ValueError(f"text must be a string or a list, not {type(text).__name__}")


def _parse_time(message: dict[str, Any], key: str, zone: ZoneInfo) -> datetime | None:
    unix = message.get(f"{key}_unixtime")
    if unix is not None:
        return datetime.fromtimestamp(int(unix), tz=ZoneInfo("UTC"))
    raw = message.get(key)
    if raw is None:
        return None
    value = datetime.fromisoformat(str(raw))
    return value if value.tzinfo else value.replace(tzinfo=zone)


def read_export(path: Path, zone: ZoneInfo) -> ChannelExport:
    """Parse one export file.

    Telegram Desktop writes local times without a zone; they are read in ``zone`` unless the
    message carries ``date_unixtime``.

    Raises:
        ExportError: unreadable JSON, or not a channel export, or a malformed message.
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
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ExportError(f"{path}: not a Telegram Desktop channel export (no \"messages\" list)")
    if data.get("id") is None or not data.get("name"):
        raise ExportError(f"{path}: the export has no channel \"id\" and \"name\"")
    posts: list[PostIn] = []
    skipped = 0
    handle = data.get("username") or None
    for index, message in enumerate(data["messages"]):
        where = f"{path}: message #{index + 1}"
        if not isinstance(message, dict):
            raise ExportError(f"{where}: not an object")
        if message.get("type", "message") != "message":
            skipped += 1
            continue
        try:
            message_id = int(message["id"])
            posted_at = _parse_time(message, "date", zone)
            edited_at = _parse_time(message, "edited", zone)
            text = flatten_text(message.get("text"))
            caption = flatten_text(message.get("caption")) if "caption" in message else ""
        except KeyError as exc:
            raise ExportError(f"{where}: missing {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ExportError(f"{where}: {exc}") from None
        if posted_at is None:
            raise ExportError(f"{where}: missing 'date'")
        body = "\n".join(p for p in (text, caption) if p.strip())
        if not body.strip():
            skipped += 1
            continue
        url = f"https://t.me/{handle}/{message_id}" if handle else None
        posts.append(PostIn(
            message_id=message_id,
            posted_at=posted_at,
            text=body,
            edited_at=edited_at,
            url=url,
            forwarded_from=message.get("forwarded_from"),
        ))
    return ChannelExport(path=path, ref=str(data["id"]), name=str(data["name"]), handle=handle,
                         posts=tuple(posts), skipped=skipped)
