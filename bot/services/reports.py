"""Reading what is stored: incidents as the engine's views (digests, /incidents, questions), the
``claimwatch report --json`` document, and row counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.conflicts import summarize
from bot.engine.ledger import build_ledger, step_json
from bot.engine.types import ClaimRecord, ConflictFinding, ConflictValue, IncidentView
from store import queries


def store_totals(session_factory: sessionmaker[Session]) -> dict[str, int]:
    with session_factory() as session:
        return queries.count_rows(session)


def list_incident_views(session_factory: sessionmaker[Session], *, since: date | None = None,
                        until: date | None = None, place: str | None = None,
                        oblasts: Sequence[str] | None = None, limit: int | None = None,
                        posted_in: tzinfo | None = None) -> list[IncidentView]:
    """Incidents of the days ``since``..``until``; with ``posted_in`` (a time zone), also the
    incidents of earlier days that got posts on those days (a digest's updates)."""
    with session_factory() as session:
        incidents = queries.list_incidents(session, since=since, until=until, place=place, oblasts=oblasts,
                                           limit=limit, posted_in=posted_in)
        views = []
        for incident in incidents:
            records = tuple(queries.to_record(c) for c in sorted(incident.claims, key=lambda c: c.id))
            if not records:
                continue
            by_id = {r.id: r for r in records}
            findings = tuple(
                ConflictFinding(
                    c.field,
                    tuple(_value_from_json(v, by_id) for v in c.values),
                    c.note,
                )
                for c in sorted(incident.conflicts, key=lambda c: c.id)
            )
            views.append(IncidentView(incident.id, summarize(records), records, findings,
                                      build_ledger(records, findings)))
        return views


def _value_from_json(value: dict[str, object], by_id: dict[int, ClaimRecord]) -> ConflictValue:
    ids = value.get("claim_ids") or []
    records = tuple(by_id[i] for i in ids if isinstance(i, int) and i in by_id)  # type: ignore[union-attr]
    return ConflictValue(value.get("value"), value.get("qualifier"), records)  # type: ignore[arg-type]


def build_report(session_factory: sessionmaker[Session], *, since: date | None = None,
                 until: date | None = None) -> dict[str, object]:
    """The ``claimwatch report --json`` document."""
    incidents = []
    for view in list_incident_views(session_factory, since=since, until=until):
        s = view.summary
        incidents.append({
            "id": str(view.id),
            "kind": s.kind.value,
            "place": s.place.name,
            "oblast": s.place.oblast,
            "country": s.place.country,
            "date": s.date.isoformat(),
            "killed": {"low": s.killed.low, "best": s.killed.best, "high": s.killed.high},
            "injured": {"low": s.injured.low, "best": s.injured.best, "high": s.injured.high},
            "controller": s.controller.value if s.controller else None,
            "sources": s.sources,
            "claims": [_claim_json(r) for r in view.records],
            "conflicts": [
                {"field": f.field,
                 "values": [{"value": v.value, "qualifier": v.qualifier,
                             "claims": [[r.source_ref, r.message_id] for r in v.records],
                             "claimants": sorted({r.claim.claimant or r.source_name for r in v.records})}
                            for v in f.values],
                 "note": f.note}
                for f in view.conflicts
            ],
            "ledger": {"steps": [step_json(step) for step in view.ledger.steps] if view.ledger else [],
                       "lines": list(view.ledger.lines) if view.ledger else []},
        })
    return {"incidents": incidents}


def _claim_json(record: ClaimRecord) -> dict[str, object]:
    data = record.claim.as_dict()
    data.update({
        "source": record.source_name,
        "source_ref": record.source_ref,
        "message_id": record.message_id,
        "url": record.url,
        "posted_at": record.posted_at.isoformat(),
        "copy_of": record.copy_of,
    })
    return data
