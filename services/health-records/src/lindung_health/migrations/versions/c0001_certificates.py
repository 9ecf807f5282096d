"""Certificates: the DCC trust list (own and foreign document signers), certificates issued
to people, and verified foreign certificates attached to people.

Revision ID: c0001
Revises:
Create Date: 2026-11-25 21:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "c0001"
down_revision = None
branch_labels = ("certificates",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "dcc_signers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kid", sa.LargeBinary(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_usage", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("issuer_certificate_der", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("added_by", sa.Text(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("origin IN ('own', 'foreign')", name=op.f("ck_dcc_signers_origin")),
        sa.CheckConstraint(
            "origin = 'own' OR (private_key_encrypted IS NULL AND NOT active)",
            name=op.f("ck_dcc_signers_foreign_has_no_key"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dcc_signers")),
        sa.UniqueConstraint("certificate_der", name=op.f("uq_dcc_signers_certificate_der")),
    )
    op.create_index("ix_dcc_signers_kid", "dcc_signers", ["kid"])
    op.create_index(
        "uq_dcc_signers_active",
        "dcc_signers",
        ["origin"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "dcc_issued",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("record_id", sa.UUID(), nullable=False),
        sa.Column("certificate_type", sa.Text(), nullable=False),
        sa.Column("uvci", sa.Text(), nullable=False),
        sa.Column("signer_id", sa.UUID(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("hc1", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_dcc_issued_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["health_records.id"],
            name=op.f("fk_dcc_issued_record_id_health_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"],
            ["dcc_signers.id"],
            name=op.f("fk_dcc_issued_signer_id_dcc_signers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dcc_issued")),
    )
    op.create_index(
        "uq_dcc_issued_record_type", "dcc_issued", ["record_id", "certificate_type"], unique=True
    )
    op.create_index("ix_dcc_issued_person_id", "dcc_issued", ["person_id"])
    op.create_table(
        "dcc_foreign",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("uvci", sa.Text(), nullable=False),
        sa.Column("certificate_type", sa.Text(), nullable=False),
        sa.Column("issuer_country", sa.Text(), nullable=True),
        sa.Column("kid", sa.LargeBinary(), nullable=False),
        sa.Column("hc1", sa.Text(), nullable=False),
        sa.Column("dcc", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "attached_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_dcc_foreign_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dcc_foreign")),
    )
    op.create_index("uq_dcc_foreign_person_uvci", "dcc_foreign", ["person_id", "uvci"], unique=True)


def downgrade() -> None:
    op.drop_table("dcc_foreign")
    op.drop_table("dcc_issued")
    op.drop_table("dcc_signers")
