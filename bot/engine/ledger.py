"""An incident's ledger: its claims in time order with what each changed.

A rising toll reads as a trail of updates ("killed 2 → 5 → 9 (DSNS, 19:40)"); figures that are a
conflict read as the sides with who gave them ("killed 8 (Klymenko, 12:00) vs 9 (Klitschko,
06:06)"). The steps are what ``report --json`` lists; the lines are what the digest shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.engine.conflicts import figure_moment, who
from bot.engine.linking import canonical
from bot.engine.types import (
    ClaimRecord,
    ConflictFinding,
    Ledger,
    LedgerStep,
    Qualifier,
    Side,
)

COUNT_FIELDS = ("killed", "injured")
SIDE_FIELDS = ("controller", "perpetrator")
FIELDS = COUNT_FIELDS + SIDE_FIELDS
_MARK = {Qualifier.AT_LEAST.value: "≥", Qualifier.APPROX.value: "~"}


def _value(record: ClaimRecord, field: str) -> tuple[object, str | None] | None:
    claim = record.claim
    if field == "killed" and claim.killed is not None:
        return claim.killed, claim.qualifier.value if claim.qualifier else None
    if field == "injured" and claim.injured is not None:
        return claim.injured, claim.injured_qualifier.value if claim.injured_qualifier else None
    if field in SIDE_FIELDS:
        side = getattr(claim, field)
        if side in (Side.UKRAINE, Side.RUSSIA):
            return side.value, None
    return None


def when(record: ClaimRecord) -> str:
    """When the claim's figures were given, as the ledger shows it: the day and the time its words
    or its post give ("01.07 13:30"), or the day alone for a page that gave only the day."""
    moment, known = figure_moment(record)
    return moment.strftime("%d.%m %H:%M" if known else "%d.%m")


def shown(value: object, qualifier: str | None) -> str:
    """A figure as the ledger writes it: "≥8", "~20", "9"."""
    return f"{_MARK.get(qualifier or '', '')}{value}"


def build_ledger(records: Iterable[ClaimRecord], findings: Sequence[ConflictFinding] = ()) -> Ledger:
    """The ledger of one incident.

    Args:
        records: the incident's claims, in any order.
        findings: its conflicts (``detect_conflicts``); claims behind a conflict's values are
            marked "conflict" for that field.

    Returns:
        Steps in time order (post time, then canonical order), one per claim and figure, and one
        line per figure that has more than one value or is disputed.
    """
    records = list(records)
    moments = {r.id: figure_moment(r) for r in records}
    disputed = {(f.field, r.id) for f in findings for v in f.values for r in v.records}
    steps: list[LedgerStep] = []
    lines: list[str] = []
    for field in COUNT_FIELDS + SIDE_FIELDS:
        latest: object | None = None
        trail: list[LedgerStep] = []
        for record in sorted(records, key=lambda r, f=field: _order(r, f, moments)):
            found = _value(record, field)
            if found is None:
                continue
            value, qualifier = found
            if record.copy_of is not None:
                change = "copy"
            elif (field, record.id) in disputed:
                change = "conflict"
            elif latest is None:
                change = "first"
            elif value == latest:
                change = "same"
            elif field in COUNT_FIELDS and isinstance(latest, int) and isinstance(value, int) and value < latest:
                change = "lower"
            else:
                change = "update"
            step = LedgerStep(record, field, value, qualifier, change, latest)
            steps.append(step)
            if _advances(step):
                latest = value
                trail.append(step)
        line = _trail_line(field, trail)
        if line:
            lines.append(line)
    for finding in findings:
        if finding.field in COUNT_FIELDS:
            sides = " vs ".join(
                f"{shown(v.value, v.qualifier)} ({', '.join(dict.fromkeys(who(r) for r in v.records))}, "
                f"{min(when(r) for r in v.records)})" for v in finding.values)
            lines.append(f"⚠️ {finding.field} {sides}")
    steps.sort(key=lambda s: _order(s.record, s.field, moments))
    return Ledger(tuple(steps), tuple(lines))


def _order(record: ClaimRecord, field: str, moments: dict[int, tuple[datetime, bool]]) -> tuple[object, ...]:
    """Where a claim's figure stands in the ledger: at the time it was given for (``figure_moment``:
    the time its words state, else its post's); figures of pages that gave only the day, which
    cannot be ordered by time, stand lowest first, as a rising toll reads."""
    moment, known = moments[record.id]
    found = _value(record, field) if field in COUNT_FIELDS else None
    value = found[0] if found is not None and not known and isinstance(found[0], int) else 0
    return (moment, known is False, value, canonical(record), FIELDS.index(field))


def _advances(step: LedgerStep) -> bool:
    """Whether the step moves the figure on: the first, an update, or a disputed figure above the latest."""
    if step.change in ("first", "update"):
        return True
    if step.change != "conflict":
        return False
    if step.previous is None:
        return True
    return isinstance(step.value, int) and isinstance(step.previous, int) and step.value > step.previous


def trail(ledger: Ledger, field: str) -> list[LedgerStep]:
    """The figures of ``field`` that made its trail: the first, then each update."""
    out: list[LedgerStep] = []
    for step in ledger.steps:
        if step.field == field and _advances(step):
            out.append(step)
    return out


def _trail_line(field: str, trail: Sequence[LedgerStep]) -> str | None:
    if len(trail) < 2:
        return None
    last = trail[-1]
    values = " → ".join(shown(s.value, s.qualifier) for s in trail)
    return f"{field} {values} ({who(last.record)}, {when(last.record)})"


def step_json(step: LedgerStep) -> dict[str, object]:
    """A ledger step as ``report --json`` lists it."""
    record = step.record
    return {
        "posted_at": record.posted_at.isoformat(),
        "source_ref": record.source_ref,
        "message_id": record.message_id,
        "claimant": who(record),
        "field": step.field,
        "value": step.value,
        "qualifier": step.qualifier,
        "change": step.change,
        "previous": step.previous,
    }
