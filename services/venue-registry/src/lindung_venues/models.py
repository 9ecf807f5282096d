"""The registry's tables: venues, QR codes, QR signing keys, zones and capacity rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lindung_shared.db import make_metadata
from lindung_shared.outbox import plumbing_tables
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = make_metadata()


plumbing_tables(Base.metadata)


class Venue(Base):
    __tablename__ = "venues"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("effective_capacity > 0", name="effective_capacity_positive"),
        CheckConstraint("max_stay_minutes > 0", name="max_stay_positive"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("status IN ('active', 'closed')", name="status_known"),
        Index("ix_venues_manager_created", "manager_id", "created_at"),
        Index("ix_venues_regency_code", "regency_code"),
        Index("ix_venues_category", "category"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    manager_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    regency_code: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    capacity: Mapped[int] = mapped_column(Integer)
    effective_capacity: Mapped[int] = mapped_column(Integer)
    max_stay_minutes: Mapped[int] = mapped_column(Integer)
    opening_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    entrances: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(Text, default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Offline visits scanned before it are refused by check-in (``before-venue-existed``).
    operating_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QrSigningKey(Base):
    __tablename__ = "qr_signing_keys"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'retiring', 'retired')", name="status_known"),
        # At most one active key: the one that signs new codes.
        Index(
            "uq_qr_signing_keys_one_active",
            "status",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    key_id: Mapped[str] = mapped_column(Text, primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: AES-256-GCM nonce + ciphertext of the raw Ed25519 private key; the key id is the AAD.
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retiring_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QrCode(Base):
    __tablename__ = "qr_codes"
    __table_args__ = (
        # One live code per entrance; a revoked code may be replaced by a new one.
        Index(
            "uq_qr_codes_live_entrance",
            "venue_id",
            "entrance",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    venue_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("venues.id"), index=True
    )
    entrance: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(Text, ForeignKey("qr_signing_keys.key_id"))
    payload: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Zone(Base):
    __tablename__ = "zones"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),)

    regency_code: Mapped[str] = mapped_column(Text, primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(Text)


class ZoneChange(Base):
    __tablename__ = "zone_history"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        Index("ix_zone_history_regency_changed", "regency_code", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    regency_code: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)
    previous_level: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(Text)


class CapacityRule(Base):
    """Percent of a venue's capacity allowed per PPKM level, for one venue category."""

    __tablename__ = "capacity_rules"
    __table_args__ = tuple(
        CheckConstraint(f"level_{n} BETWEEN 1 AND 100", name=f"level_{n}_percent")
        for n in range(1, 5)
    )

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    level_1: Mapped[int] = mapped_column(SmallInteger)
    level_2: Mapped[int] = mapped_column(SmallInteger)
    level_3: Mapped[int] = mapped_column(SmallInteger)
    level_4: Mapped[int] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(Text)
