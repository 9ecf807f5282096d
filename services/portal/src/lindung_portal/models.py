"""The portal's own tables: accounts and server-side sessions. Everything else it shows is
read from the four services with the signed-in user's rights."""

from __future__ import annotations

from lindung_shared.db import make_metadata
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

metadata = make_metadata()

#: Venue managers (self sign-up) and health officers (created by an operator, with their
#: jurisdiction). ``email`` is stored lower-cased; the password as an argon2id hash.
accounts = Table(
    "accounts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    #: Officers: ``national``, ``province`` (codes: two digits) or ``regencies`` (four digits).
    Column("jurisdiction_kind", Text, nullable=True),
    Column("jurisdiction_codes", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    #: Officers who may also publish screening rules.
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    #: Fernet-encrypted TOTP secret; null when the second factor is off.
    Column("totp_secret", Text, nullable=True),
    Column("language", Text, nullable=False, server_default="id"),
    Column("failed_sign_ins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=True),
    CheckConstraint("role IN ('manager', 'officer')", name="role"),
    CheckConstraint(
        "(role = 'manager' AND jurisdiction_kind IS NULL) OR "
        "(role = 'officer' AND jurisdiction_kind IN ('national', 'province', 'regencies'))",
        name="jurisdiction",
    ),
    CheckConstraint("language IN ('id', 'en')", name="language"),
)

#: Server-side sessions. The cookie holds a random token; only its SHA-256 is stored, so a
#: copy of this table signs no one in. ``csrf_token`` is the synchronizer token of its forms.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "account_id",
        UUID(as_uuid=True),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("csrf_token", Text, nullable=False),
    #: Password given, TOTP code still due: the session opens nothing but the code form.
    Column("second_factor_due", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_sessions_account_id", "account_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)
