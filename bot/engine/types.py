"""Value types that cross the engine's borders: posts in, claims and incidents out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from bot.engine.text import storable


class Kind(StrEnum):
    STRIKE = "strike"
    SHELLING = "shelling"
    AIRSTRIKE = "airstrike"
    MISSILE = "missile"
    DRONE = "drone"
    EXPLOSION = "explosion"
    ASSASSINATION_ATTEMPT = "assassination_attempt"
    CONTROL = "control"
    OTHER = "other"

    @property
    def group(self) -> "KindGroup":
        if self is Kind.CONTROL:
            return KindGroup.CONTROL
        if self is Kind.OTHER:
            return KindGroup.OTHER
        return KindGroup.ATTACK


class KindGroup(StrEnum):
    ATTACK = "attack"
    CONTROL = "control"
    OTHER = "other"


class Side(StrEnum):
    UKRAINE = "ukraine"
    RUSSIA = "russia"
    INTERNATIONAL = "international"
    MEDIA = "media"


class Qualifier(StrEnum):
    EXACT = "exact"
    AT_LEAST = "at_least"
    APPROX = "approx"


class Lang(StrEnum):
    UK = "uk"
    RU = "ru"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place: a settlement, an oblast, or a landmark's settlement.

    ``name`` follows KMU 2010 romanization for Ukraine; ``oblast`` reads "Kharkiv Oblast" and is
    None for Kyiv city and Sevastopol; ``country`` is an ISO code ("UA", "RU").
    """

    name: str
    oblast: str | None
    country: str = "UA"
    lat: float | None = None
    lon: float | None = None
    population: int = 0
    level: str = "settlement"  # settlement | oblast | landmark
    code: str | None = None  # KATOTTG code or geonames id

    @property
    def key(self) -> str:
        """A stable blocking key: the code when known, else the name."""
        return self.code or f"{self.country}:{self.name}"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the engine knows about the channel a post comes from."""

    ref: str
    name: str
    role: str | None = None
    side: Side | None = None
    home_oblast: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """One incident assertion read from one post."""

    kind: Kind
    place: Place
    date: date | None
    evidence: str
    killed: int | None = None
    injured: int | None = None
    children_killed: int | None = None
    qualifier: Qualifier | None = None
    injured_qualifier: Qualifier | None = None
    controller: Side | None = None
    perpetrator: Side | None = None
    claimant: str | None = None
    claimant_side: Side | None = None
    targets: tuple[str, ...] = ()
    weapons: tuple[str, ...] = ()
    lang: Lang | None = None

    def as_dict(self) -> dict[str, object]:
        """The claim as plain JSON-ready values (report and ``extract`` shape)."""
        return {
            "kind": self.kind.value,
            "place": self.place.name,
            "oblast": self.place.oblast,
            "country": self.place.country,
            "lat": self.place.lat,
            "lon": self.place.lon,
            "date": self.date.isoformat() if self.date else None,
            "killed": self.killed,
            "injured": self.injured,
            "children_killed": self.children_killed,
            "qualifier": self.qualifier.value if self.qualifier else None,
            "injured_qualifier": self.injured_qualifier.value if self.injured_qualifier else None,
            "controller": self.controller.value if self.controller else None,
            "perpetrator": self.perpetrator.value if self.perpetrator else None,
            "claimant": self.claimant,
            "targets": list(self.targets),
            "weapons": list(self.weapons),
            "evidence": self.evidence,
        }


# The times a post may carry: a post from before 1970 or after 2100 is a broken file or page, and
# dates at the calendar's edges cannot be moved between time zones.
EARLIEST_POST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST_POST = datetime(2100, 1, 1, tzinfo=UTC)


def plausible_post_time(value: datetime) -> bool:
    """Whether ``value`` (aware) is a time a post may carry (see ``EARLIEST_POST``)."""
    try:
        return EARLIEST_POST <= value <= LATEST_POST
    except (TypeError, OverflowError):  # naive, or an offset that cannot be applied
        return False


@dataclass(frozen=True, slots=True)
class PostIn:
    """A post as any transport delivers it (export, channel update, web preview, feed)."""

    message_id: int
    posted_at: datetime
    text: str
    edited_at: datetime | None = None
    url: str | None = None
    forwarded_from: str | None = None
    views: int | None = None

    def __post_init__(self) -> None:
        # Whatever the transport, what is stored must be storable (see ``storable``).
        for name in ("text", "url", "forwarded_from"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, storable(value))


@dataclass(slots=True)
class ImportStats:
    """Counts a bulk ingestion reports at its end."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    claims: int = 0
    incidents: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: ImportStats) -> None:
        """Add the post and claim counts of another run (incident totals are read at the end)."""
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.claims += other.claims
        self.errors.extend(other.errors)

    def summary(self) -> str:
        return (
            f"posts: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped; claims: {self.claims}; incidents: {self.incidents}; "
            f"conflicts: {self.conflicts}"
        )


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A stored claim with where it came from: what linking and conflict detection work on."""

    id: int
    claim: Claim
    source_ref: str
    source_name: str
    message_id: int
    posted_at: datetime
    url: str | None = None
    copy_of: int | None = None

    @property
    def post_key(self) -> tuple[str, int]:
        return (self.source_ref, self.message_id)


@dataclass(frozen=True, slots=True)
class IncidentCandidate:
    """An existing incident in a claim's block, with the claims it holds."""

    id: int
    records: tuple[ClaimRecord, ...]


@dataclass(frozen=True, slots=True)
class ConflictValue:
    value: object
    qualifier: str | None
    records: tuple[ClaimRecord, ...]


@dataclass(frozen=True, slots=True)
class ConflictFinding:
    """A disagreement inside one incident: the field, each value with the claims behind it, a note."""

    field: str
    values: tuple[ConflictValue, ...]
    note: str


@dataclass(frozen=True, slots=True)
class Range:
    low: int | None = None
    best: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """What an incident says as a whole: the figures as low / best / high, kind, place and date."""

    kind: Kind
    place: Place
    date: date
    killed: Range
    injured: Range
    controller: Side | None
    sources: int


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident as the report and the digest read it: summary, claims and conflicts."""

    id: int
    summary: IncidentSummary
    records: tuple[ClaimRecord, ...]
    conflicts: tuple[ConflictFinding, ...]
    ledger: Ledger | None = None


@dataclass(frozen=True, slots=True)
class LedgerStep:
    """One claim's figure in an incident's ledger, and how it stands to the figures before it.

    ``change`` is "first" (the first figure), "update" (higher: a rising toll, or another side
    taking a town), "same" (confirms the latest), "lower" (below the latest, not disputed: an
    earlier count quoted later, or a narrower count), "conflict" (one side of a conflict) or "copy"
    (a repeat of another channel's report).
    """

    record: ClaimRecord
    field: str
    value: object
    qualifier: str | None
    change: str
    previous: object | None = None


@dataclass(frozen=True, slots=True)
class Ledger:
    """An incident's claims in time order with what each changed, and one line per figure
    ("killed 2 → 5 → 9 (DSNS, 19:40)"; "killed 8 (Klymenko) vs 9 (Klitschko)")."""

    steps: tuple[LedgerStep, ...]
    lines: tuple[str, ...]
