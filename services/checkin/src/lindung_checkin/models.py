"""The check-in database's tables, as SQLAlchemy Core metadata.

The schema itself is written by hand in the migrations (partitioning, functions); these
tables mirror it for the repositories that use the query builder and for other features of
the service (the exposure matcher reads ``visits`` and ``venues``).
"""

from __future__ import annotations

from lindung_shared.db import make_metadata
from lindung_shared.outbox import plumbing_tables
from lindung_shared.ratelimit import rate_limit_table
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = make_metadata()
outbox, processed_events = plumbing_tables(metadata)
rate_limit_table(metadata)

visits = Table(
    "visits",
    metadata,
    Column("visit_id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), nullable=False),
    Column("venue_id", UUID(as_uuid=True), nullable=False),
    Column("qr_id", UUID(as_uuid=True)),
    Column("entrance", Text),
    Column("checked_in_at", DateTime(timezone=True), primary_key=True),
    Column("checked_out_at", DateTime(timezone=True)),
    Column("auto_checkout_at", DateTime(timezone=True), nullable=False),
    Column("checkout_method", Text),
    Column("client_id", Text),
    Column("source", Text, nullable=False),
    Column("colour", Text, nullable=False),
    Column("rule_version", Text),
    Column("counted", Boolean, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    postgresql_partition_by="RANGE (checked_in_at)",
)

venues = Table(
    "venues",
    metadata,
    Column("venue_id", UUID(as_uuid=True), primary_key=True),
    Column("manager_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("regency_code", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("effective_capacity", Integer, nullable=False),
    Column("max_stay_minutes", Integer, nullable=False),
    Column("opening_hours", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Offline visits scanned before it are refused; NULL: not announced (no check).
    Column("operating_since", DateTime(timezone=True), nullable=True),
)

venue_occupancy = Table(
    "venue_occupancy",
    metadata,
    Column("venue_id", UUID(as_uuid=True), primary_key=True),
    Column("present", Integer, nullable=False),
    Column("peak", Integer, nullable=False),
    Column("peak_day", Date),
)

person_status = Table(
    "person_status",
    metadata,
    Column("person_id", UUID(as_uuid=True), primary_key=True),
    Column("colour", Text, nullable=False),
    Column("valid_until", DateTime(timezone=True)),
    Column("rule_version", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("regency_code", Text, primary_key=True),
    Column("level", Integer, nullable=False),
    Column("colour", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)
