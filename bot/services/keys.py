"""The structured strings the bot stores and schedules by, each formatted and parsed here only.

- A delivery key names what one row of the delivery log delivers to a subscriber:
  ``digest:2022-03-02`` (the digest of a day), ``alert:post:-1001:42`` (the instant alert of the
  incident whose first post is message 42 of source ``-1001``), ``alert:update:-1001:42:2`` (the
  second update of that alert, sent when the incident's toll rose), and ``alert:incident:17``
  (alerts keyed by incident id, written by older versions and still resumed).
- A digest job name (``digest:<chat_id>``) names one subscriber's daily job in PTB's JobQueue.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date


class DeliveryKey:
    """What one delivery delivers; ``format`` gives the stored string, ``parse`` reads it back."""

    __slots__ = ()

    def format(self) -> str:
        raise NotImplementedError

    def day(self) -> date | None:
        """The day the delivery reports on, when the key says it."""
        return None

    def __str__(self) -> str:
        return self.format()

    @staticmethod
    def parse(text: str) -> DeliveryKey | None:
        """The key a stored string names, or None for a string no version of the bot wrote."""
        kind, _, rest = text.partition(":")
        if kind == "digest":
            with contextlib.suppress(ValueError):
                return DigestKey(date.fromisoformat(rest))
            return None
        if kind != "alert":
            return None
        sub, _, rest = rest.partition(":")
        if sub == "post":
            ref, _, message_id = rest.rpartition(":")
            if ref and message_id.lstrip("-").isdigit():
                return AlertKey(ref, int(message_id))
        elif sub == "update":
            ref, _, number = rest.rpartition(":")
            ref, _, message_id = ref.rpartition(":")  # a feed's ref may hold ":" itself
            if ref and message_id.lstrip("-").isdigit() and number.isdigit():
                return AlertUpdateKey(ref, int(message_id), int(number))
        elif sub == "incident" and rest.isdigit():
            return IncidentAlertKey(int(rest))
        return None


@dataclass(frozen=True, slots=True)
class DigestKey(DeliveryKey):
    """The daily digest of ``report_day``."""

    report_day: date

    def format(self) -> str:
        return f"digest:{self.report_day.isoformat()}"

    def day(self) -> date | None:
        return self.report_day


@dataclass(frozen=True, slots=True)
class AlertKey(DeliveryKey):
    """The instant alert of an incident, keyed by its first post: editing that post re-links its
    claims and may give the incident a new id, but never a second alert."""

    source_ref: str
    message_id: int

    def format(self) -> str:
        return f"alert:post:{self.source_ref}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class AlertUpdateKey(DeliveryKey):
    """Update number ``number`` of the alert of the incident whose first post is ``message_id`` of
    ``source_ref``: its toll rose after the alert."""

    source_ref: str
    message_id: int
    number: int

    def alert(self) -> AlertKey:
        return AlertKey(self.source_ref, self.message_id)

    def format(self) -> str:
        return f"alert:update:{self.source_ref}:{self.message_id}:{self.number}"


@dataclass(frozen=True, slots=True)
class IncidentAlertKey(DeliveryKey):
    """An alert keyed by incident id (the key before alerts were keyed by their first post)."""

    incident_id: int

    def format(self) -> str:
        return f"alert:incident:{self.incident_id}"


@dataclass(frozen=True, slots=True)
class DigestJob:
    """The name of one subscriber's daily digest job."""

    chat_id: int

    PREFIX = "digest:"

    def format(self) -> str:
        return f"{self.PREFIX}{self.chat_id}"

    @staticmethod
    def parse(name: str) -> DigestJob | None:
        rest = name.removeprefix(DigestJob.PREFIX)
        if rest == name or not rest.lstrip("-").isdigit():
            return None
        return DigestJob(int(rest))
