"""Typed ORM models for sources, posts, claims, incidents, conflicts, subscribers, deliveries, forwards
and channels waiting for confirmation, rejected channels, admins' questions, alerted tolls, admins
and leases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from config.settings import DEFAULT_TIMEZONE


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Transport(StrEnum):
    """How a source reaches us (``sources.transport``)."""

    EXPORT = "export"  # a Telegram Desktop export file
    TELEGRAM = "telegram"  # channel posts the bot receives as an administrator, or forwards
    TME = "tme"  # the public web preview t.me/s/<channel>
    FEED = "feed"  # RSS or Atom


class DeliveryStatus(StrEnum):
    """Where a delivery is in its exactly-once life (``deliveries.status``)."""

    PENDING = "pending"  # interrupted or postponed; may be resumed
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Source(Base):
    """A followed channel or feed."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    transport: Mapped[str] = mapped_column(String(20), default=Transport.EXPORT.value)  # a Transport
    handle: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    side: Mapped[str | None] = mapped_column(String(20))
    home_oblast: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_interval: Mapped[int] = mapped_column(Integer, default=600)
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    posts: Mapped[list[Post]] = relationship(back_populates="source", passive_deletes=True)


class Post(Base):
    """One message of a source; unique by (source, message id)."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("source_id", "message_id", name="uq_posts_source_message"),
                      Index("ix_posts_posted_at", "posted_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    forwarded_from: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(5))

    source: Mapped[Source] = relationship(back_populates="posts")
    claims: Mapped[list[Claim]] = relationship(
        back_populates="post", cascade="all, delete-orphan", passive_deletes=True, order_by="Claim.ordinal"
    )


class PlaceColumns:
    """Where an incident or a claim is: the gazetteer's key, the name, the oblast (None for Kyiv
    city), the country and the coordinates."""

    place_key: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(200))
    oblast: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="UA")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class Incident(PlaceColumns, Base):
    """One real-world event that claims from several posts describe."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_date", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    kind_group: Mapped[str] = mapped_column(String(10))
    date: Mapped[date] = mapped_column(Date)
    killed_low: Mapped[int | None] = mapped_column(Integer)
    killed_best: Mapped[int | None] = mapped_column(Integer)
    killed_high: Mapped[int | None] = mapped_column(Integer)
    injured_low: Mapped[int | None] = mapped_column(Integer)
    injured_best: Mapped[int | None] = mapped_column(Integer)
    injured_high: Mapped[int | None] = mapped_column(Integer)
    controller: Mapped[str | None] = mapped_column(String(20))
    sources_count: Mapped[int] = mapped_column(Integer, default=0)
    conflicts_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    claims: Mapped[list[Claim]] = relationship(back_populates="incident")
    conflicts: Mapped[list[Conflict]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", passive_deletes=True
    )


class Claim(PlaceColumns, Base):
    """One incident assertion read from one post."""

    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_block", "kind_group", "place_key", "date"),
        Index("ix_claims_oblast_block", "kind_group", "oblast", "date"),
        Index("ix_claims_incident", "incident_id"),
        Index("ix_claims_post", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(30))
    kind_group: Mapped[str] = mapped_column(String(10))
    place_level: Mapped[str] = mapped_column(String(20), default="settlement")
    date: Mapped[date | None] = mapped_column(Date)
    killed: Mapped[int | None] = mapped_column(Integer)
    injured: Mapped[int | None] = mapped_column(Integer)
    children_killed: Mapped[int | None] = mapped_column(Integer)
    qualifier: Mapped[str | None] = mapped_column(String(10))
    injured_qualifier: Mapped[str | None] = mapped_column(String(10))
    controller: Mapped[str | None] = mapped_column(String(20))
    perpetrator: Mapped[str | None] = mapped_column(String(20))
    claimant: Mapped[str | None] = mapped_column(String(300))
    claimant_side: Mapped[str | None] = mapped_column(String(20))
    targets: Mapped[list[Any]] = mapped_column(default=list)
    weapons: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(5))
    copy_of: Mapped[int | None] = mapped_column(BigInteger)  # claim id of the report this one repeats

    post: Mapped[Post] = relationship(back_populates="claims")
    incident: Mapped[Incident | None] = relationship(back_populates="claims")


class Conflict(Base):
    """A disagreement between claims of one incident, with the values and who stands behind each."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(30))
    values: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    incident: Mapped[Incident] = relationship(back_populates="conflicts")


class Subscriber(Base):
    """A chat (person, group or channel) that receives digests."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_type: Mapped[str] = mapped_column(String(20), default="private")
    language: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    digest_time: Mapped[str] = mapped_column(String(5), default="08:00")
    oblasts: Mapped[list[Any]] = mapped_column(default=list)
    instant_alerts: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # why the bot stopped sending (blocked, removed from the chat); None when the chat unsubscribed
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    last_digest_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Delivery(Base):
    """The log that makes every digest and alert reach each subscriber exactly once."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("subscriber_id", "key", name="uq_deliveries_subscriber_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))  # a bot.services.keys.DeliveryKey, formatted
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)  # a DeliveryStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_ids: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]


class PendingForward(Base):
    """A post an admin forwarded from a channel that is not a source yet, kept until the admin
    confirms or cancels following that channel (or it expires)."""

    __tablename__ = "pending_forwards"
    __table_args__ = (Index("ix_pending_forwards_created", "created_at"),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)  # "<channel id>_<message id>"
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the channel's id
    title: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    forwarded_from: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class PendingChannel(Base):
    """A channel that made the bot its administrator (or posted to it) and is not a source yet:
    it waits for an admin's Approve or Reject, and its posts wait in ``held_posts``."""

    __tablename__ = "pending_channels"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class HeldPost(Base):
    """A post of a pending channel, ingested when the channel is approved, dropped when rejected."""

    __tablename__ = "held_posts"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    posted_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class RejectedChannel(Base):
    """A channel an admin rejected: when it adds the bot again (or posts), the bot leaves it again
    without asking, until an admin allows it again (a button of /sources)."""

    __tablename__ = "rejected_channels"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(100))
    rejected_by: Mapped[int | None] = mapped_column(BigInteger)
    rejected_at: Mapped[datetime]


class AdminQuestion(Base):
    """One admin's copy of a question with buttons (``topic``: ``chan:<chat id>`` for a pending
    channel): when one admin answers, every other copy is edited to show the decision."""

    __tablename__ = "admin_questions"

    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the admin's chat
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]


class AlertToll(Base):
    """The toll alert subscribers were last told of an incident (keyed by its alert key), and when
    the last update went out: a rising toll sends at most one update an hour, across restarts."""

    __tablename__ = "alert_tolls"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # an AlertKey, formatted
    killed: Mapped[int | None] = mapped_column(Integer)  # the figures last told
    injured: Mapped[int | None] = mapped_column(Integer)
    previous_killed: Mapped[int | None] = mapped_column(Integer)  # the figures told before the last update
    previous_injured: Mapped[int | None] = mapped_column(Integer)
    updates: Mapped[int] = mapped_column(Integer, default=0)  # updates sent so far
    updated_at: Mapped[datetime | None]  # when the last update was sent (None: only the alert)


class Admin(Base):
    """A bot admin added with /admins add (the configured admins are not stored)."""

    __tablename__ = "admins"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InstanceLease(Base):
    """Which process may act in a role (``bot``): held while its heartbeat is fresh."""

    __tablename__ = "instance_leases"

    role: Mapped[str] = mapped_column(String(50), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))  # host:pid:random, unique per process
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
