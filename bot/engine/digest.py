"""Digest rendering: one line per incident grouped by oblast, conflicts flagged, Telegram-safe HTML.

Every string that comes from a post is escaped; messages are split at paragraph boundaries
under Telegram's limit of 4096 characters counted in UTF-16 code units.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.engine.types import ClaimRecord, ConflictFinding, IncidentView, Kind

DATA_DIR = Path(__file__).resolve().parent / "data"
TELEGRAM_LIMIT = 4096
MAX_LINKS = 5
LANGS = ("en", "uk", "ru")
_MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "uk": "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня".split(),
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря".split(),
}


@lru_cache(maxsize=1)
def load_strings() -> dict[str, dict[str, Any]]:
    """The UI strings of the digest, by language."""
    return json.loads((DATA_DIR / "strings.json").read_text(encoding="utf-8"))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def format_day(day: date, lang: str) -> str:
    months = _MONTHS.get(lang, _MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


class _Fmt:
    """HTML for Telegram or plain text for a terminal, with the same structure."""

    def __init__(self, html_mode: bool) -> None:
        self.html = html_mode

    def esc(self, text: object) -> str:
        return html.escape(str(text), quote=False) if self.html else str(text)

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>" if self.html else text

    def link(self, label: str, url: str | None) -> str:
        if not url:
            return self.esc(label)
        if self.html:
            return f'<a href="{html.escape(url, quote=True)}">{self.esc(label)}</a>'
        return f"{label} <{url}>"


def _count_text(n: int | None, qualifier: str | None, s: dict[str, Any]) -> str:
    if n is None:
        return "?"
    if qualifier == "at_least":
        return s["at_least"].format(n=n)
    if qualifier == "approx":
        return s["approx"].format(n=n)
    return str(n)


def _figure(low: int | None, best: int | None, high: int | None) -> str | None:
    if best is None:
        return None
    if low is not None and high is not None and low != high:
        return f"{best} ({low}–{high})"
    return str(best)


def _links(records: Sequence[ClaimRecord], f: _Fmt) -> str:
    seen: dict[str, str] = {}
    for record in sorted(records, key=lambda r: r.posted_at):
        key = record.url or f"{record.source_ref}#{record.message_id}"
        if key not in seen:
            label = record.source_name
            seen[key] = f.link(label, record.url)
        if len(seen) >= MAX_LINKS:
            break
    extra = len({r.url or (r.source_ref, r.message_id) for r in records}) - len(seen)
    tail = f" +{extra}" if extra > 0 else ""
    return ", ".join(seen.values()) + tail


def _who(records: Sequence[ClaimRecord], f: _Fmt) -> str:
    parts: dict[str, str] = {}
    for record in records:
        who = record.claim.claimant or record.source_name
        if who not in parts:
            parts[who] = f.link(who, record.url)
    return ", ".join(parts.values())


def _conflict_line(finding: ConflictFinding, f: _Fmt, s: dict[str, Any]) -> str:
    values = []
    for value in finding.values:
        shown = value.value
        if finding.field in ("controller", "perpetrator"):
            shown = s["sides"].get(str(value.value), value.value)
        elif isinstance(value.value, int):
            shown = _count_text(value.value, value.qualifier, s)
        values.append(s["says"].format(value=f.esc(shown), who=_who(value.records, f)))
    field = s["fields"].get(finding.field, finding.field)
    return s["conflict"].format(field=f.esc(field), values="; ".join(values))


def _incident_line(view: IncidentView, f: _Fmt, s: dict[str, Any]) -> str:
    summary = view.summary
    parts = [f.bold(f.esc(summary.place.name)) + " — " + f.esc(s["kinds"].get(summary.kind.value, summary.kind.value))]
    killed = _figure(summary.killed.low, summary.killed.best, summary.killed.high)
    injured = _figure(summary.injured.low, summary.injured.best, summary.injured.high)
    if killed is not None:
        parts.append(f.esc(s["killed"].format(n=killed)))
    children = max((r.claim.children_killed or 0 for r in view.records), default=0)
    if children:
        parts.append(f.esc(s["children"].format(n=children)))
    if injured is not None:
        parts.append(f.esc(s["injured"].format(n=injured)))
    parts.append(s["source"] if summary.sources == 1 else s["sources"].format(n=summary.sources))
    flag = "⚠️ " if view.conflicts else ""
    line = "• " + flag + ", ".join(parts) + "\n  " + _links(view.records, f)
    for finding in view.conflicts:
        line += "\n  " + _conflict_line(finding, f, s)
    return line


def _severity(view: IncidentView) -> tuple[int, int, int]:
    s = view.summary
    return (s.killed.best or 0, s.injured.best or 0, len(view.conflicts))


def render_digest(views: Sequence[IncidentView], *, day: date | None, lang: str = "en",
                  html_mode: bool = True) -> list[str]:
    """The digest as Telegram messages (HTML) or plain text pages.

    Args:
        views: the incidents of the period.
        day: the digest's day, for the title.
        lang: 'en', 'uk' or 'ru'.
        html_mode: Telegram HTML when True, plain text when False.

    Returns:
        Messages of at most 4096 UTF-16 units each, split between paragraphs.
    """
    s = load_strings()[lang if lang in LANGS else "en"]
    f = _Fmt(html_mode)
    day_text = format_day(day, lang) if day else ""
    if not views:
        return [s["nothing"].format(day=day_text)]
    attacks = [v for v in views if v.summary.kind is not Kind.CONTROL]
    controls = [v for v in views if v.summary.kind is Kind.CONTROL]
    killed = sum(v.summary.killed.best or 0 for v in attacks)
    injured = sum(v.summary.injured.best or 0 for v in attacks)
    sources = len({r.source_ref for v in views for r in v.records})
    disputed = sum(1 for v in views if v.conflicts)
    header = f.bold(f.esc(s["title"].format(day=day_text))) + "\n" + f.esc(
        s["totals"].format(incidents=len(views), killed=killed, injured=injured, sources=sources))
    if disputed:
        header += "\n" + s["disputed_total"].format(n=disputed)
    paragraphs = [header]
    disputed_control = [v for v in controls if any(c.field == "controller" for c in v.conflicts)]
    if disputed_control:
        lines = [f.bold(f.esc(s["control_title"]))]
        for view in disputed_control:
            finding = next(c for c in view.conflicts if c.field == "controller")
            sides = "; ".join(
                s["holds"].format(side=f.esc(s["sides"].get(str(v.value), v.value)), who=_who(v.records, f))
                for v in finding.values
            )
            place = view.summary.place
            name = f.esc(place.name) + (f" ({f.esc(place.oblast)})" if place.oblast else "")
            lines.append("• " + s["control_line"].format(place=f.bold(name), sides=sides))
        paragraphs.append("\n".join(lines))
    groups: dict[str, list[IncidentView]] = defaultdict(list)
    for view in attacks + [v for v in controls if v not in disputed_control]:
        groups[view.summary.place.oblast or s["no_oblast"]].append(view)
    ordered = sorted(groups.items(), key=lambda kv: tuple(-x for x in map(sum, zip(*(_severity(v) for v in kv[1])))))
    for oblast, items in ordered:
        items.sort(key=_severity, reverse=True)
        paragraphs.append(f.bold(f.esc(oblast)) + "\n" + "\n".join(_incident_line(v, f, s) for v in items))
    return split_messages(paragraphs)


def split_messages(paragraphs: Sequence[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pack paragraphs into messages under ``limit`` UTF-16 units, breaking only between them
    (an oversize paragraph is broken between lines, an oversize line at a space)."""
    pieces: list[str] = []
    for paragraph in paragraphs:
        if utf16_len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            while utf16_len(line) > limit:
                cut = _cut_point(line, limit)
                pieces.append(line[:cut])
                line = line[cut:].lstrip()
            pieces.append(line)
    messages: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _cut_point(line: str, limit: int) -> int:
    cut = limit
    while utf16_len(line[:cut]) > limit:
        cut -= 1
    space = line.rfind(" ", 0, cut)
    if space > cut // 2:
        cut = space
    # never cut inside a tag or an entity
    tag = line.rfind("<", 0, cut)
    if tag > line.rfind(">", 0, cut):
        cut = tag
    amp = line.rfind("&", 0, cut)
    if amp > line.rfind(";", 0, cut):
        cut = amp
    return max(cut, 1)


def plain_text(message: str) -> str:
    """Telegram HTML to text, for logs and terminals."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))
