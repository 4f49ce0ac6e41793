"""Digest rendering: one line per incident grouped by oblast, conflicts flagged, Telegram-safe HTML.

Places, regions and claimants are named in the reader's language (`bot.engine.names`), counts
take their plural forms from CLDR's rules (`bot.engine.plurals`), and dates are written by Babel.
Every string that comes from a post is escaped; messages are split at paragraph boundaries
under Telegram's limit of 4096 characters counted in UTF-16 code units.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_skeleton

from bot.engine.ledger import shown as shown_figure
from bot.engine.ledger import trail, when
from bot.engine.names import Names, load_names
from bot.engine.plurals import plural
from bot.engine.speakers import group_by_claimant
from bot.engine.types import ClaimRecord, ConflictFinding, IncidentView, Kind

DATA_DIR = Path(__file__).resolve().parent / "data"
TELEGRAM_LIMIT = 4096
MAX_LINKS = 5
MAX_NAME = 80  # characters of a name from outside, once on one line
MAX_HREF = 1024  # characters of an escaped link target
_LINKABLE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
LANGS = ("en", "uk", "ru")


@lru_cache(maxsize=1)
def load_strings() -> dict[str, dict[str, Any]]:
    """The UI strings of the digest, by language."""
    return json.loads((DATA_DIR / "strings.json").read_text(encoding="utf-8"))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def format_day(day: date, lang: str) -> str:
    """A day as its readers write it: "2 March 2022", "2 березня 2022 р.", "2 марта 2022 г."."""
    lang = lang if lang in LANGS else "en"
    if lang == "en":
        return format_skeleton("dMMMMy", day, locale="en_GB")
    return format_date(day, "long", locale=lang)


def format_day_month(day: date, lang: str) -> str:
    """A day without its year: "2 March", "2 березня"."""
    lang = lang if lang in LANGS else "en"
    return format_skeleton("dMMMM", day, locale="en_GB" if lang == "en" else lang)


def format_days(first: date, last: date, lang: str) -> str:
    """A range of days: "28 February – 2 March 2022"; one day alone when they are the same."""
    if first == last:
        return format_day(first, lang)
    if first.year == last.year:
        return f"{format_day_month(first, lang)} – {format_day(last, lang)}"
    return f"{format_day(first, lang)} – {format_day(last, lang)}"


def shown_name(text: object) -> str:
    """A name from outside (channel title, claimant, place, target) as the digest shows it: on one
    line and at most ``MAX_NAME`` characters, so that no name can fill a message on its own."""
    name = " ".join(str(text).split())
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def linkable(url: str | None) -> str | None:
    """``url`` when the digest may link it: http(s) only (no ``javascript:``, no ``tg://``), no
    spaces, and short enough that a link always fits in a message with room to spare."""
    if not url or not _LINKABLE.match(url) or len(html.escape(url, quote=True)) > MAX_HREF:
        return None
    return url


class _Fmt:
    """HTML for Telegram or plain text for a terminal, with the same structure."""

    def __init__(self, html_mode: bool) -> None:
        self.html = html_mode

    def esc(self, text: object) -> str:
        return html.escape(str(text), quote=False) if self.html else str(text)

    def name(self, text: object) -> str:
        return self.esc(shown_name(text))

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>" if self.html else text

    def link(self, label: str, url: str | None) -> str:
        url = linkable(url)
        if not url:
            return self.name(label)
        if self.html:
            return f'<a href="{html.escape(url, quote=True)}">{self.name(label)}</a>'
        return f"{shown_name(label)} <{url}>"


def _count_text(n: int | None, qualifier: str | None, s: dict[str, Any]) -> str:
    if n is None:
        return "?"
    if qualifier == "at_least":
        return s["at_least"].format(n=n)
    if qualifier == "approx":
        return s["approx"].format(n=n)
    return str(n)


def _figure(low: int | None, best: int | None, high: int | None, disputed: bool = False,
            s: dict[str, Any] | None = None) -> str | None:
    """The latest figure with the range the claims give, marked when it is disputed."""
    if best is None:
        return None
    mark = f", ⚠️ {s['disputed']}" if disputed and s else ""
    if low is not None and high is not None and low != high:
        return f"{best} ({low}–{high}{mark})"
    return f"{best} ({mark[2:]})" if mark else str(best)


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


def _who(records: Sequence[ClaimRecord], f: _Fmt, names: Names, lang: str) -> str:
    """Who stands behind some claims, each claimant once (one official under several labels is
    named by the fullest of them)."""
    parts: dict[str, str] = {}
    for group in group_by_claimant(list(records)):
        record = max(group, key=lambda r: len(r.claim.claimant or r.source_name))
        who = shown_name(names.claimant(record.claim.claimant, lang) if record.claim.claimant else record.source_name)
        if who not in parts:
            parts[who] = f.link(who, record.url)
    return ", ".join(parts.values())


def _conflict_line(finding: ConflictFinding, f: _Fmt, s: dict[str, Any], names: Names, lang: str) -> str:
    values = []
    for value in finding.values:
        shown = value.value
        if finding.field in ("controller", "perpetrator"):
            shown = s["sides"].get(str(value.value), value.value)
        elif finding.field == "target" and isinstance(value.value, str):
            shown = ", ".join(s["targets"].get(part.strip(), part.strip()) for part in value.value.split(","))
        elif isinstance(value.value, int):
            shown = _count_text(value.value, value.qualifier, s)
        values.append(s["says"].format(value=f.name(shown), who=_who(value.records, f, names, lang)))
    field = s["fields"].get(finding.field, finding.field)
    return s["conflict"].format(field=f.esc(field), values="; ".join(values))


def _incident_line(view: IncidentView, f: _Fmt, s: dict[str, Any], names: Names, lang: str, *,
                   dated: bool = False, day: date | None = None) -> str:
    """One incident: place, kind, figures, sources, the posts behind it and its conflicts; with
    ``dated``, the incident's day first (for lists that span several days); in the digest of a
    ``day`` after the incident's own, marked as an update of that incident."""
    summary = view.summary
    place = f.bold(f.name(names.place(summary.place, lang)))
    if dated:
        place = f.esc(format_day_month(summary.date, lang)) + " · " + place
    elif day is not None and summary.date != day:
        place = f.esc(s["update"].format(day=format_day_month(summary.date, lang))) + " · " + place
    parts = [place + " — " + f.esc(s["kinds"].get(summary.kind.value, summary.kind.value))]
    disputed = {c.field for c in view.conflicts}
    for key, figures in (("killed", summary.killed), ("injured", summary.injured)):
        shown = _figure(figures.low, figures.best, figures.high, key in disputed, s)
        if shown is not None and figures.best is not None:
            parts.append(f.esc(plural(s[key], figures.best, lang, n=shown)))
        if key == "killed":
            children = max((r.claim.children_killed or 0 for r in view.records), default=0)
            if children:
                parts.append(f.esc(plural(s["children"], children, lang)))
    parts.append(f.esc(plural(s["sources"], summary.sources, lang)))
    flag = "⚠️ " if view.conflicts else ""
    line = "• " + flag + ", ".join(parts) + "\n  " + _links(view.records, f)
    for field in ("killed", "injured"):
        steps = trail(view.ledger, field) if view.ledger else []
        if len(steps) > 1:
            last = steps[-1].record
            line += "\n  " + s["trail"].format(
                field=f.esc(s["fields"].get(field, field)),
                values=f.esc(" → ".join(shown_figure(st.value, st.qualifier) for st in steps)),
                who=f.link(shown_name(names.claimant(last.claim.claimant, lang) if last.claim.claimant
                                      else last.source_name), last.url), when=f.esc(when(last)))
    for finding in view.conflicts:
        line += "\n  " + _conflict_line(finding, f, s, names, lang)
    return line


def _severity(view: IncidentView) -> tuple[int, int, int]:
    s = view.summary
    return (s.killed.best or 0, s.injured.best or 0, len(view.conflicts))


def _totals(views: Sequence[IncidentView], f: _Fmt, s: dict[str, Any], lang: str) -> str:
    """"3 incidents · 5 killed · 2 injured · 4 sources" (and the disputed ones on a line of their own)."""
    attacks = [v for v in views if v.summary.kind is not Kind.CONTROL]
    killed = sum(v.summary.killed.best or 0 for v in attacks)
    injured = sum(v.summary.injured.best or 0 for v in attacks)
    sources = len({r.source_ref for v in views for r in v.records})
    text = f.esc(" · ".join((plural(s["incidents"], len(views), lang), plural(s["killed"], killed, lang),
                             plural(s["injured"], injured, lang), plural(s["sources"], sources, lang))))
    disputed = sum(1 for v in views if v.conflicts)
    if disputed:
        text += "\n" + f.esc(plural(s["disputed_total"], disputed, lang))
    return text


def _lang_and_strings(lang: str) -> tuple[str, dict[str, Any]]:
    lang = lang if lang in LANGS else "en"
    return lang, load_strings()[lang]


def render_digest(views: Sequence[IncidentView], *, day: date | None, lang: str = "en",
                  html_mode: bool = True, header: str | None = None, names: Names | None = None) -> list[str]:
    """The digest as Telegram messages (HTML) or plain text pages.

    Args:
        views: the incidents of the period; with a ``day``, an incident of an earlier day (one
            that got new posts on ``day``: a risen toll) is marked as an update of that incident.
        day: the digest's day, for the title (None: a title without a day).
        lang: 'en', 'uk' or 'ru'.
        html_mode: Telegram HTML when True, plain text when False.
        header: a paragraph to put first (e.g. an alert's title), already in the output's
            format; it counts against the first message's limit, which a prefix added to the
            first message afterwards would not.
        names: names in the reader's language; by default the process's `load_names()`.

    Returns:
        Messages of at most 4096 UTF-16 units each, split between paragraphs.
    """
    lang, s = _lang_and_strings(lang)
    names = names or load_names()
    f = _Fmt(html_mode)
    lead = [header] if header else []
    if not views:
        empty = s["nothing"].format(day=format_day(day, lang)) if day else s["nothing_undated"]
        return split_messages(lead + [f.esc(empty)], html_mode=html_mode)
    attacks = [v for v in views if v.summary.kind is not Kind.CONTROL]
    controls = [v for v in views if v.summary.kind is Kind.CONTROL]
    heading = s["title"].format(day=format_day(day, lang)) if day else s["title_undated"]
    paragraphs = lead + [f.bold(f.esc(heading)) + "\n" + _totals(views, f, s, lang)]
    disputed_control = [v for v in controls if any(c.field == "controller" for c in v.conflicts)]
    if disputed_control:
        lines = [f.bold(f.esc(s["control_title"]))]
        for view in disputed_control:
            finding = next(c for c in view.conflicts if c.field == "controller")
            sides = "; ".join(
                s["holds"].format(side=f.esc(s["sides"].get(str(v.value), v.value)), who=_who(v.records, f, names, lang))
                for v in finding.values
            )
            place = view.summary.place
            oblast = names.oblast(place.oblast, lang)
            name = f.name(names.place(place, lang)) + (f" ({f.name(oblast)})" if oblast else "")
            lines.append("• " + s["control_line"].format(place=f.bold(name), sides=sides))
        paragraphs.append("\n".join(lines))
    groups: dict[str, list[IncidentView]] = defaultdict(list)
    for view in attacks + [v for v in controls if v not in disputed_control]:
        groups[names.oblast(view.summary.place.oblast, lang) or s["no_oblast"]].append(view)
    ordered = sorted(groups.items(), key=lambda kv: tuple(-x for x in map(sum, zip(*(_severity(v) for v in kv[1])))))
    for oblast, items in ordered:
        items.sort(key=_severity, reverse=True)
        paragraphs.append(f.bold(f.name(oblast)) + "\n" + "\n".join(_incident_line(v, f, s, names, lang, day=day)
                                                                    for v in items))
    return split_messages(paragraphs, html_mode=html_mode)


def render_incidents(views: Sequence[IncidentView], *, lang: str = "en", place: str | None = None,
                     html_mode: bool = True, names: Names | None = None) -> list[str]:
    """The latest incidents (``/incidents``): a title naming the place asked for, the range of
    days they cover, then one dated line each, newest first.

    Args:
        views: the incidents found (any order).
        lang: 'en', 'uk' or 'ru'.
        place: the place asked for, as the reader should see it (already in their language).
        html_mode: Telegram HTML when True, plain text when False.
        names: names in the reader's language; by default the process's `load_names()`.

    Returns:
        Messages of at most 4096 UTF-16 units each; a one-line message when there are none.
    """
    lang, s = _lang_and_strings(lang)
    names = names or load_names()
    f = _Fmt(html_mode)
    if not views:
        return [f.esc(s["nothing_undated"])]
    newest_first = sorted(views, key=lambda v: (v.summary.date, v.id), reverse=True)
    days = [v.summary.date for v in newest_first]
    title = s["incidents_title_place"].format(place=shown_name(place)) if place else s["incidents_title"]
    heading = (f.bold(f.esc(title)) + "\n" + f.esc(format_days(days[-1], days[0], lang)) + "\n"
               + _totals(newest_first, f, s, lang))
    lines = [_incident_line(v, f, s, names, lang, dated=True) for v in newest_first]
    return split_messages([heading, *lines], html_mode=html_mode)


def render_alert(view: IncidentView, *, lang: str = "en", zone: tzinfo | None = None, html_mode: bool = True,
                 names: Names | None = None) -> list[str]:
    """An instant alert for one incident: "🚨 Харків — ракетний удар, 3 загиблих, …", then the
    region and the time of the latest report in the reader's time zone, the posts and conflicts.

    Args:
        view: the incident.
        lang: 'en', 'uk' or 'ru'.
        zone: the reader's time zone (the reports' own when None).
        html_mode: Telegram HTML when True, plain text when False.
        names: names in the reader's language; by default the process's `load_names()`.
    """
    lang, s = _lang_and_strings(lang)
    names = names or load_names()
    f = _Fmt(html_mode)
    line = _incident_line(view, f, s, names, lang)
    latest = max(r.posted_at for r in view.records).astimezone(zone) if view.records else None
    region = names.oblast(view.summary.place.oblast, lang)
    when = (format_day(latest.date(), lang) + ", " + latest.strftime("%H:%M")) if latest else format_day(
        view.summary.date, lang)
    first, _, rest = line.removeprefix("• ").partition("\n")
    heading = "🚨 " + first + "\n" + f.esc(" · ".join(part for part in (region, when) if part))
    return split_messages([heading + ("\n" + rest if rest else "")], html_mode=html_mode)


def render_alert_update(view: IncidentView, previous: tuple[int | None, int | None], *, lang: str = "en",
                        zone: tzinfo | None = None, html_mode: bool = True, names: Names | None = None) -> list[str]:
    """A short update of an alerted incident whose toll rose: "🔺 Оновлення: Харків — ракетний удар,
    5 загиблих", what changed since subscribers were last told ("загиблі: 3 → 5"), then the region,
    the time of the latest report in the reader's zone, and that report.

    Args:
        view: the incident as it stands now.
        previous: the (killed, injured) subscribers were last told.
    """
    lang, s = _lang_and_strings(lang)
    names = names or load_names()
    f = _Fmt(html_mode)
    summary = view.summary
    disputed = {c.field for c in view.conflicts}
    figures: list[str] = []
    changes: list[str] = []
    for key, figure, before in (("killed", summary.killed, previous[0]), ("injured", summary.injured, previous[1])):
        if figure.best is None:
            continue
        figures.append(plural(s[key], figure.best, lang))
        if figure.best != before and key not in disputed:
            was = f"{before} → " if before is not None else ""
            changes.append(f"{s['fields'][key]}: {was}{figure.best}")
    kind = s["kinds"].get(summary.kind.value, summary.kind.value)
    heading = (f.esc(s["alert_update"]) + ": " + f.bold(f.name(names.place(summary.place, lang))) + " — "
               + f.esc(", ".join([kind, *figures])))
    latest = max(view.records, key=lambda r: r.posted_at) if view.records else None
    when = ""
    if latest is not None:
        moment = latest.posted_at.astimezone(zone)
        when = format_day(moment.date(), lang) + ", " + moment.strftime("%H:%M")
    where = f.esc(" · ".join(part for part in (names.oblast(summary.place.oblast, lang), when) if part))
    source = f.link(shown_name(latest.source_name), latest.url) if latest is not None else ""
    lines = [heading, f.esc(" · ".join(changes)), " · ".join(part for part in (where, source) if part)]
    return split_messages(["\n".join(line for line in lines if line)], html_mode=html_mode)


def split_messages(paragraphs: Sequence[str], limit: int = TELEGRAM_LIMIT, *, html_mode: bool = True) -> list[str]:
    """Pack paragraphs into messages under ``limit`` UTF-16 units, breaking only between them
    (an oversize paragraph is broken between lines, an oversize line at a space). With
    ``html_mode`` a line is never broken inside a tag, an entity or an element, so that every
    message stays valid Telegram HTML."""
    pieces: list[str] = []
    for paragraph in paragraphs:
        if utf16_len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            while utf16_len(line) > limit:
                cut = _cut_point(line, limit, html_mode)
                pieces.append(line[:cut])
                line = line[cut:].lstrip()
            pieces.append(line)
    messages: list[str] = []
    current = ""
    for piece in pieces:
        if not piece.strip():
            continue
        candidate = f"{current}\n\n{piece}" if current else piece
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            if current:
                messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _cut_point(line: str, limit: int, html_mode: bool) -> int:
    """Where to break a line longer than ``limit``: the last place within the limit that is not
    inside a tag, an entity or (in HTML) an element, preferring a space in the second half."""
    units = 0
    depth = 0
    last = last_space = 0
    i, n = 0, len(line)
    while i < n:
        end = i + 1
        if html_mode and line[i] == "<":
            close = line.find(">", i)
            end = n if close < 0 else close + 1
        elif html_mode and line[i] == "&":
            semi = line.find(";", i, i + 12)
            end = i + 1 if semi < 0 else semi + 1
        token = line[i:end]
        units += utf16_len(token)
        if units > limit:
            break
        if html_mode and token.startswith("<"):
            depth += -1 if token.startswith("</") else 1
        i = end
        if depth == 0:
            last = i
            if i < n and line[i] == " ":
                last_space = i
    if last_space > last // 2:
        return last_space
    if last > 0:
        return last
    # One element longer than the limit (names and links are capped, so only a caller's own
    # markup can do this): cut it at a character, tags and entities still whole.
    return max(i, 1)


def plain_text(message: str) -> str:
    """Telegram HTML to text, for logs and terminals."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))
