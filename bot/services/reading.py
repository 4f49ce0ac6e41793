"""What readers ask for beyond the daily digest: the latest incidents of a place (``/incidents``)
and questions typed in plain text ("Що сьогодні сталося в Харкові?"); and the pictures of a day
(chart and map) that the digest sends after its text.

Each function reads in one session (through `bot.services`) and returns the messages to send,
already rendered in the reader's language.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.chart import render_chart
from bot.engine.digest import render_digest, render_incidents
from bot.engine.gazetteer import Gazetteer
from bot.engine.map import render_map
from bot.engine.names import Names
from bot.engine.questions import parse_question
from bot.engine.types import IncidentView, Place
from bot.services import reports

logger = logging.getLogger(__name__)

LATEST = 10  # incidents /incidents shows
PICTURE_LOCK = threading.Lock()  # pyplot is not thread-safe: one picture at a time


@dataclass(frozen=True, slots=True)
class Picture:
    """A PNG to send after the digest's text: the chart or the map of the day."""

    kind: str  # chart | map
    png: bytes


@dataclass(frozen=True, slots=True)
class Reading:
    """Messages for the reader, or nothing found: then ``place`` and ``day`` say what was looked for."""

    messages: tuple[str, ...]
    place: str | None = None
    day: date | None = None


def find_incidents(session_factory: sessionmaker[Session], place: Place | None, *, day: date | None = None,
                   limit: int = LATEST) -> list[IncidentView]:
    """The latest incidents of a settlement (same name and region) or a region, of one day or any."""
    if place is None:
        return reports.list_incident_views(session_factory, since=day, until=day, limit=limit)
    if place.level == "oblast" and place.oblast:
        return reports.list_incident_views(session_factory, since=day, until=day, oblasts=[place.oblast],
                                            limit=limit)
    views = reports.list_incident_views(session_factory, since=day, until=day, place=place.name, limit=limit)
    return [v for v in views if place.oblast is None or v.summary.place.oblast in (place.oblast, None)]


def latest_incidents(session_factory: sessionmaker[Session], names: Names, gazetteer: Gazetteer | None,
                     query: str | None, lang: str, *, limit: int = LATEST) -> Reading:
    """``/incidents [place]``: the latest incidents, of the place named in any language or form."""
    if not query:
        views = find_incidents(session_factory, None, limit=limit)
        return Reading(tuple(render_incidents(views, lang=lang, names=names)) if views else ())
    candidates = gazetteer.lookup(query) if gazetteer is not None else []
    for place in candidates:
        views = find_incidents(session_factory, place, limit=limit)
        if views:
            shown = names.place(place, lang)
            return Reading(tuple(render_incidents(views, lang=lang, place=shown, names=names)), shown)
    if not candidates:  # a name the gazetteer does not know may still be an incident's place
        views = find_incidents(session_factory, Place(query.strip(), None), limit=limit)
        if views:
            return Reading(tuple(render_incidents(views, lang=lang, place=query.strip(), names=names)), query)
    return Reading((), names.place(candidates[0], lang) if candidates else query)


def answer_question(session_factory: sessionmaker[Session], names: Names, gazetteer: Gazetteer, text: str,
                    lang: str, today: date, *, oblasts: Sequence[str] = (), zone: tzinfo | None = None) -> Reading | None:
    """A question typed in plain text; None when it names neither a place nor a day.

    A place gets its latest incidents (of the day named, if any); a day alone gets that day's
    digest (for the reader's regions).
    """
    question = parse_question(text, gazetteer, today)
    if not question.understood:
        return None
    if question.place is None:
        views = reports.list_incident_views(session_factory, since=question.day, until=question.day,
                                             oblasts=list(oblasts) or None, posted_in=zone)
        messages = render_digest(views, day=question.day, lang=lang, names=names) if views else []
        return Reading(tuple(messages), None, question.day)
    shown = names.place(question.place, lang)
    views = find_incidents(session_factory, question.place, day=question.day)
    messages = render_incidents(views, lang=lang, place=shown, names=names) if views else []
    return Reading(tuple(messages), shown, question.day)


def pictures_of(views: Sequence[IncidentView], names: Names, day: date, lang: str) -> list[Picture]:
    """The chart and the map of ``views``, the incidents of the digest's text (none for no
    incidents: the text says so, once). A picture that fails to render is left out and logged:
    the digest's text does not depend on it."""
    if not views:
        return []
    pictures = []
    for kind in ("chart", "map"):
        try:
            with PICTURE_LOCK:
                png = (render_chart(views, day=day, lang=lang, names=names) if kind == "chart"
                       else render_map(views, day=day, lang=lang, names=names).png)
        except Exception:
            logger.exception("could not render the %s of %s", kind, day)
            continue
        pictures.append(Picture(kind, png))
    return pictures
