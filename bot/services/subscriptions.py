"""Subscriber, admin and settings services: each public function owns one transaction.

Handlers call these with plain values (chat ids, strings typed by users) and get frozen values
back; bad input raises ``InputError`` whose ``key`` names the UI string that explains it.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.names import table_names
from bot.i18n import shorten
from config.settings import DEFAULT_TIMEZONE, Settings
from store import queries
from store.models import Subscriber

logger = logging.getLogger(__name__)

LANGUAGES = ("uk", "en", "ru")
DEFAULT_DIGEST_TIME = "08:00"
REGIONS_FILE = Path(__file__).resolve().parent.parent / "engine" / "data" / "regions.tsv"
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
# IANA names: "UTC", "Europe/Kyiv", "America/Argentina/Buenos_Aires", "Etc/GMT+3".
_ZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]{0,29}(?:/[A-Za-z0-9][A-Za-z0-9_+\-]{0,29}){0,2}$")


class InputError(ValueError):
    """A value a user typed is not valid; ``key`` is the i18n string explaining why and ``value``
    the input as the reply quotes it (on one line, shortened: see ``bot.i18n.shorten``)."""

    def __init__(self, key: str, value: str) -> None:
        shown = shorten(value)
        super().__init__(f"{key}: {shown}")
        self.key = key
        self.value = shown


@dataclass(frozen=True, slots=True)
class SubscriberView:
    """A subscriber as handlers and delivery jobs read it."""

    id: int
    chat_id: int
    chat_type: str
    language: str
    timezone: str
    digest_time: str
    oblasts: tuple[str, ...]
    instant_alerts: bool
    active: bool
    subscribed_at: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def time_of_day(self) -> time:
        hour, minute = (int(p) for p in self.digest_time.split(":"))
        return time(hour, minute, tzinfo=self.zone)


@dataclass(frozen=True, slots=True)
class Oblast:
    """A region subscribers can filter on: a short slug for buttons and its stored name."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for /stats."""

    active: int
    inactive: int
    alerts: int
    sources: int
    posts: int
    claims: int
    incidents: int
    conflicts: int
    sent: int
    failed: int


def view_of(row: Subscriber) -> SubscriberView:
    return SubscriberView(id=row.id, chat_id=row.chat_id, chat_type=row.chat_type, language=row.language,
                          timezone=row.timezone, digest_time=row.digest_time, oblasts=tuple(row.oblasts or ()),
                          instant_alerts=row.instant_alerts, active=row.active,
                          subscribed_at=row.created_at)


# ---------------------------------------------------------------- parsing user input


def pick_language(code: str | None) -> str:
    """The bot language for a Telegram ``language_code`` (uk, ru, else en)."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def parse_digest_time(value: str) -> str:
    """``7:30`` → ``07:30``.

    Raises:
        InputError: not a time of day.
    """
    match = _TIME_RE.match(value.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InputError("bad_time", value)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_timezone(value: str) -> str:
    """An IANA zone name (``Europe/Kiev`` is accepted as an alias).

    Raises:
        InputError: no such zone.
    """
    name = value.strip()
    if not _ZONE_RE.match(name) or ".." in name:
        raise InputError("bad_tz", value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Europe"
        raise InputError("bad_tz", value) from None
    return name


def parse_language(value: str) -> str:
    lang = value.strip().lower()
    if lang not in LANGUAGES:
        raise InputError("bad_lang", value)
    return lang


@lru_cache(maxsize=1)
def list_oblasts() -> tuple[Oblast, ...]:
    """Ukraine's oblasts (and Crimea) from the engine's regions table, as slugs and names."""
    lines = [ln for ln in REGIONS_FILE.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    out = []
    for row in csv.reader(lines, delimiter="\t"):
        if len(row) < 4 or row[0] != "UA" or row[3] == "-":
            continue
        name = row[3]
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower().removesuffix(" oblast")).strip("_")
        out.append(Oblast(slug, name))
    return tuple(sorted(out, key=lambda o: o.name))


def parse_oblast(value: str) -> str:
    """A region as a reader types it, in any of the bot's languages → its stored name:
    ``kharkiv``, ``Kharkiv Oblast``, ``Харківська``, ``Харківщина``, ``харьковская область`` →
    ``Kharkiv Oblast`` (also the slug of a ``sub_kharkiv`` deep link).

    Raises:
        InputError: no such oblast.
    """
    key = re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_").removesuffix("_oblast")
    for oblast in list_oblasts():
        if key in (oblast.slug, oblast.slug.replace("_", "")):
            return oblast.name
    found = table_names().find_oblast(value)
    if found is not None and any(o.name == found for o in list_oblasts()):
        return found
    raise InputError("bad_oblast", value)


def oblast_slug(name: str) -> str:
    return next((o.slug for o in list_oblasts() if o.name == name), name)


def parse_switch(value: str) -> bool:
    word = value.strip().lower()
    if word in ("on", "yes", "1", "true"):
        return True
    if word in ("off", "no", "0", "false"):
        return False
    raise InputError("bad_alerts", value)


# ---------------------------------------------------------------- subscribers


def get_subscriber(session_factory: sessionmaker[Session], chat_id: int) -> SubscriberView | None:
    with session_factory() as session:
        row = queries.get_subscriber(session, chat_id)
        return view_of(row) if row is not None else None


def subscribe(session_factory: sessionmaker[Session], chat_id: int, *, chat_type: str = "private",
              language: str = "en", timezone: str | None = None,
              oblasts: Sequence[str] | None = None) -> tuple[SubscriberView, bool]:
    """Subscribe a chat (or reactivate it); returns the subscriber and whether it changed anything.

    A given ``oblasts`` replaces the filter; an existing subscriber keeps its other settings.
    """
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        changed = True
        if row is None:
            row = Subscriber(chat_id=chat_id, chat_type=chat_type, language=pick_language(language),
                             timezone=timezone or DEFAULT_TIMEZONE, digest_time=DEFAULT_DIGEST_TIME,
                             oblasts=list(oblasts or []), instant_alerts=False, active=True)
            session.add(row)
        else:
            changed = not row.active or (oblasts is not None and list(oblasts) != list(row.oblasts or []))
            row.active = True
            row.deactivated_reason = None
            if oblasts is not None:
                row.oblasts = list(oblasts)
        session.flush()
        logger.info("chat %s subscribed (%s)", chat_id, "changed" if changed else "unchanged")
        return view_of(row), changed


def unsubscribe(session_factory: sessionmaker[Session], chat_id: int) -> bool:
    """Stop the digests of a chat (settings are kept); False when it was not subscribed."""
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        if row is None or not row.active:
            return False
        row.active = False
        row.deactivated_reason = None
        logger.info("chat %s unsubscribed", chat_id)
        return True


def deactivate(session_factory: sessionmaker[Session], chat_id: int, reason: str) -> None:
    """Mark a chat that refuses messages (blocked the bot, left the group) as inactive."""
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        if row is not None and row.active:
            row.active = False
            row.deactivated_reason = reason[:300] or "deactivated"
            logger.info("chat %s deactivated: %s", chat_id, reason)


def reactivate(session_factory: sessionmaker[Session], chat_id: int) -> SubscriberView | None:
    """The bot is back in a chat it had been blocked in or removed from: resume the digests of a
    subscriber deactivated for that reason (not of one that unsubscribed). Returns it when resumed."""
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        if row is None or row.active or row.deactivated_reason is None:
            return None
        row.active = True
        row.deactivated_reason = None
        logger.info("chat %s reactivated: the bot is back", chat_id)
        session.flush()
        return view_of(row)


def update_settings(session_factory: sessionmaker[Session], chat_id: int, *, digest_time: str | None = None,
                    timezone: str | None = None, language: str | None = None,
                    oblasts: Sequence[str] | None = None, toggle_oblast: str | None = None,
                    instant_alerts: bool | None = None) -> SubscriberView:
    """Change a subscriber's settings; raw strings are validated here.

    Raises:
        InputError: a value is not valid.
        LookupError: the chat is not subscribed.
    """
    values: dict[str, object] = {}
    if digest_time is not None:
        values["digest_time"] = parse_digest_time(digest_time)
    if timezone is not None:
        values["timezone"] = parse_timezone(timezone)
    if language is not None:
        values["language"] = parse_language(language)
    if oblasts is not None:
        values["oblasts"] = [parse_oblast(o) for o in oblasts]
    toggle = parse_oblast(toggle_oblast) if toggle_oblast is not None else None
    if instant_alerts is not None:
        values["instant_alerts"] = instant_alerts
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        if row is None or not row.active:
            raise LookupError(chat_id)
        for name, value in values.items():
            setattr(row, name, value)
        if toggle is not None:
            current = list(row.oblasts or [])
            row.oblasts = [o for o in current if o != toggle] if toggle in current else sorted(current + [toggle])
        session.flush()
        return view_of(row)


def set_language(session_factory: sessionmaker[Session], chat_id: int, language: str) -> None:
    """Remember a chat's language even when it is not an active subscriber."""
    lang = parse_language(language)
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        if row is not None:
            row.language = lang


def remember_language(session_factory: sessionmaker[Session], chat_id: int, language: str, *,
                      chat_type: str = "private") -> str:
    """A chat's language, subscribed or not (``/lang``): a chat that never subscribed is kept as an
    inactive subscriber, so that its language is there when it subscribes. Returns the language.

    Raises:
        InputError: not a language the bot speaks.
    """
    lang = parse_language(language)
    with session_factory.begin() as session:
        row = queries.get_subscriber(session, chat_id)
        if row is None:
            session.add(Subscriber(chat_id=chat_id, chat_type=chat_type, language=lang, timezone=DEFAULT_TIMEZONE,
                                   digest_time=DEFAULT_DIGEST_TIME, oblasts=[], instant_alerts=False, active=False))
        else:
            row.language = lang
    return lang


def list_active_subscribers(session_factory: sessionmaker[Session]) -> list[SubscriberView]:
    with session_factory() as session:
        return [view_of(r) for r in queries.list_subscribers(session, active_only=True)]


# ---------------------------------------------------------------- admins


def is_admin(session_factory: sessionmaker[Session], settings: Settings, user_id: int | None) -> bool:
    """Configured admins (CLAIMWATCH_ADMIN_IDS) and admins added with /admins."""
    if user_id is None:
        return False
    if user_id in settings.admin_ids:
        return True
    with session_factory() as session:
        return queries.get_admin(session, user_id) is not None


def list_admin_ids(session_factory: sessionmaker[Session], settings: Settings) -> tuple[list[int], list[int]]:
    """(configured admins, admins added with /admins)."""
    with session_factory() as session:
        added = sorted(queries.list_admin_ids(session) - set(settings.admin_ids))
    return sorted(settings.admin_ids), added


def add_admin(session_factory: sessionmaker[Session], user_id: int, added_by: int | None) -> bool:
    """False when the user already was an admin added with /admins."""
    with session_factory.begin() as session:
        if queries.get_admin(session, user_id) is not None:
            return False
        queries.add_admin(session, user_id, added_by)
        logger.info("admin %s added by %s", user_id, added_by)
        return True


def remove_admin(session_factory: sessionmaker[Session], user_id: int) -> bool:
    with session_factory.begin() as session:
        row = queries.get_admin(session, user_id)
        if row is None:
            return False
        queries.delete_admin(session, row)
        logger.info("admin %s removed", user_id)
        return True


# ---------------------------------------------------------------- stats


def stats(session_factory: sessionmaker[Session]) -> Stats:
    with session_factory() as session:
        counts = queries.count_rows(session)
        active = queries.count_subscribers(session)
        alerts = queries.count_subscribers(session, instant_alerts=True)
        by_status = queries.count_by_status(session)
    return Stats(active=active, inactive=counts["subscribers"] - active, alerts=alerts, sources=counts["sources"],
                 posts=counts["posts"], claims=counts["claims"], incidents=counts["incidents"],
                 conflicts=counts["conflicts"], sent=int(by_status.get("sent", 0)),
                 failed=int(by_status.get("failed", 0)))
