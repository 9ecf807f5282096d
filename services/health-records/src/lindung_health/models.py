"""The tables of health-records (the migrations are the source of truth for DDL)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from lindung_shared.db import make_metadata
from lindung_shared.outbox import plumbing_tables
from lindung_shared.ratelimit import rate_limit_table
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = make_metadata()


plumbing_tables(Base.metadata)
rate_limit_table(Base.metadata)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    nik_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    #: The civil registry's full name, sealed (AES-256-GCM, label "name"): certificates and
    #: officers' look-ups decrypt it (``people.contact``).
    name_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(Text)
    regency_code: Mapped[str] = mapped_column(Text)
    #: The phone (E.164) as a keyed hash for look-up and sealed (label "phone") for sending.
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary)
    phone_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(Text, server_default="id")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: When the phone was proven by a sign-in code; until then the NIK is not bound to it
    #: (a later registry-verified registration with another phone takes the row over).
    phone_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Raised to revoke every token issued before (tokens carry the generation they got).
    token_generation: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (Index("ix_people_phone_hash", "phone_hash"),)


class SignInCode(Base):
    __tablename__ = "sign_in_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: sign-in | phone-change (the person proves a new phone) | recovery (an officer re-binds
    #: the person's NIK to a new phone, proven by this code)
    purpose: Mapped[str] = mapped_column(Text, server_default="sign-in")
    #: The phone the code was sent to when it is not the person's (sealed, label "phone").
    new_phone_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The officer who started a recovery (only that officer can complete it).
    officer_id: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_sign_in_codes_person_id", "person_id", "created_at"),)


class HealthRecord(Base):
    """One FHIR record from a national feed (vaccination or test), as last received."""

    __tablename__ = "health_records"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    source_key: Mapped[str] = mapped_column(Text, unique=True)
    source: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # vaccination | test
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="SET NULL")
    )
    fhir_status: Mapped[str] = mapped_column(Text)
    retracted: Mapped[bool] = mapped_column(Boolean, server_default="false")
    version_id: Mapped[str | None] = mapped_column(Text)
    last_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    vaccine_system: Mapped[str | None] = mapped_column(Text)
    vaccine_code: Mapped[str | None] = mapped_column(Text)
    dose_number: Mapped[int | None] = mapped_column(Integer)
    test_type: Mapped[str | None] = mapped_column(Text)  # pcr | antigen
    loinc_code: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)  # positive | negative
    resource: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_health_records_nik_hash", "nik_hash"),
        Index("ix_health_records_person_id", "person_id"),
    )


class Case(Base):
    """A confirmed case: one per positive result (a retracted one stays, marked)."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    case_ref: Mapped[str] = mapped_column(Text, unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    record_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("health_records.id", ondelete="CASCADE")
    )
    sample_taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    infectious_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    infectious_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_cases_person_id", "person_id"),
        Index(
            "uq_cases_active_record",
            "record_id",
            unique=True,
            postgresql_where=text("retracted_at IS NULL"),
        ),
    )


class SuspectedCase(Base):
    """A suspected case (PDP): one per provisional COVID-19 Condition while it is open. Not a
    colour: it makes the person's visitors advised (docs/suspects.md)."""

    __tablename__ = "suspected_cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    suspect_ref: Mapped[str] = mapped_column(Text, unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    record_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("health_records.id", ondelete="CASCADE")
    )
    suspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    traced_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    traced_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: suspected | confirmed (``case_id`` says by which case) | ruled_out (``resolution``:
    #: refuted | withdrawn)
    state: Mapped[str] = mapped_column(Text, server_default="suspected")
    #: Deferred: a batch may write the suspicion before the case that confirms it.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("cases.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_suspected_cases_person_id", "person_id"),
        Index(
            "uq_suspected_cases_open_record",
            "record_id",
            unique=True,
            postgresql_where=text("state = 'suspected'"),
        ),
    )


class Exposure(Base):
    """A close contact reported by the check-in service's matcher."""

    __tablename__ = "exposures"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    case_ref: Mapped[str] = mapped_column(Text)
    venue_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    overlap_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    overlap_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_exposures_person_id", "person_id"),)


class ScreeningRule(Base):
    """A version of the screening rules (parameters as data, valid over a period)."""

    __tablename__ = "screening_rules"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    description: Mapped[str] = mapped_column(Text, server_default="")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonStatus(Base):
    """The current screening status of a person; ``due_at`` is when it must be recomputed."""

    __tablename__ = "person_status"

    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    colour: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rule_version: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_person_status_due_at", "due_at", postgresql_where=text("due_at IS NOT NULL")),
    )


class StatusHistory(Base):
    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    colour: Mapped[str] = mapped_column(Text)
    previous_colour: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rule_version: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_status_history_person_id", "person_id", "changed_at"),)


class OfficerAudit(Base):
    """Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "officer_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    officer_id: Mapped[str] = mapped_column(Text)
    person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_officer_audit_person_id", "person_id"),
        Index("ix_officer_audit_at", "at"),
    )
