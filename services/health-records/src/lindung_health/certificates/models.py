"""Tables of the certificates feature (created by migration ``c0001``, branch ``certificates``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, LargeBinary, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from lindung_health.models import Base


class DocumentSignerRecord(Base):
    """A document signer certificate in the trust list: ours (with its encrypted private key)
    or a foreign one loaded by an officer."""

    __tablename__ = "dcc_signers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kid: Mapped[bytes] = mapped_column(LargeBinary)
    country: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text)  # own | foreign
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    subject: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_usage: Mapped[list[str]] = mapped_column(JSONB)  # of "v", "t", "r"
    private_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    issuer_certificate_der: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, server_default="false")
    added_by: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_dcc_signers_kid", "kid"),
        Index("uq_dcc_signers_active", "origin", unique=True, postgresql_where=text("active")),
    )


class IssuedCertificate(Base):
    """A certificate we signed for a person from one of their health records."""

    __tablename__ = "dcc_issued"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    record_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("health_records.id", ondelete="CASCADE")
    )
    certificate_type: Mapped[str] = mapped_column(Text)  # v | t | r
    uvci: Mapped[str] = mapped_column(Text)
    signer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("dcc_signers.id", ondelete="CASCADE")
    )
    fingerprint: Mapped[str] = mapped_column(Text)  # of the DCC content it was signed from
    hc1: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_dcc_issued_record_type", "record_id", "certificate_type", unique=True),
        Index("ix_dcc_issued_person_id", "person_id"),
    )


class ForeignCertificate(Base):
    """A verified foreign certificate a person attached to their record."""

    __tablename__ = "dcc_foreign"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("people.id", ondelete="CASCADE")
    )
    uvci: Mapped[str] = mapped_column(Text)
    certificate_type: Mapped[str] = mapped_column(Text)  # v | t | r
    issuer_country: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[bytes] = mapped_column(LargeBinary)
    hc1: Mapped[str] = mapped_column(Text)
    dcc: Mapped[dict[str, Any]] = mapped_column(JSONB)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attached_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("uq_dcc_foreign_person_uvci", "person_id", "uvci", unique=True),)
