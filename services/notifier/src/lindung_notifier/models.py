"""The notifier's tables (SQLAlchemy Core: the hot paths are bulk statements)."""

from __future__ import annotations

from lindung_shared.db import make_metadata
from lindung_shared.outbox import plumbing_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = make_metadata()
plumbing_tables(metadata)

#: Who can be reached, and in which language. A subject is a person id or a manager id.
recipients = Table(
    "recipients",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("phone_sealed", Text, nullable=True),
    Column("language", Text, nullable=False, server_default="id"),
    #: When the phone was last changed (the event's time: a late, older event loses).
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    #: When the language was last chosen (by an event or by the recipient's own preference).
    Column(
        "language_updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    ),
    CheckConstraint("language IN ('id', 'en')", name="language"),
)

#: A copy of what the notifier needs of each venue (from lindung.venues).
venues = Table(
    "venues",
    metadata,
    Column("venue_id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("manager_id", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("recipient", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("token", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deactivated_at", DateTime(timezone=True), nullable=True),
    Column("deactivated_reason", Text, nullable=True),
    UniqueConstraint("recipient", "token"),
    Index("ix_devices_recipient_active", "recipient", postgresql_where=text("active")),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    #: Stream cursor (the SSE event id): increases with every insert.
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("template_key", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    #: False for messages that go to a channel only (the sign-in code): not in the inbox.
    Column("in_inbox", Boolean, nullable=False, server_default=text("true")),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("read_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("source_event_id", "recipient", "kind", name="uq_notifications_dedupe"),
    Index("ix_notifications_recipient_seq", "recipient", "seq"),
)

deliveries = Table(
    "deliveries",
    metadata,
    #: Also the idempotency reference sent to the gateway.
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "notification_id",
        UUID(as_uuid=True),
        ForeignKey("notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", Text, nullable=False),
    Column("device_id", UUID(as_uuid=True), ForeignKey("devices.id"), nullable=True),
    #: The phone number for SMS, fixed when the delivery is created: sealed (opened only when
    #: the SMS is sent, lindung_shared.sealing).
    Column("destination", Text, nullable=True),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sending_since", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("gateway_message_id", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "status IN ('pending', 'sending', 'delivered', 'failed', 'dead')", name="status"
    ),
    # (notification_id, channel, device_id) is UNIQUE NULLS NOT DISTINCT: see the migration;
    # that index also serves look-ups by notification.
    Index(
        "ix_deliveries_due",
        "channel",
        "next_attempt_at",
        postgresql_where=text("status IN ('pending', 'failed', 'sending')"),
    ),
)
