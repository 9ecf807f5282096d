"""Bulk imports of NDJSON feed files (FHIR Bulk Data style): the job, its staged lines (deleted
as they are applied) and its per-line errors.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_imports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False, server_default="uploading"),
        sa.Column("lines_total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("lines_done", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("accepted", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("duplicate", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("ignored", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("rejected", sa.BigInteger(), nullable=False, server_default="0"),
        # The cursor: the last (part, line) applied.
        sa.Column("cursor_part", sa.Integer(), nullable=False, server_default="-1"),
        sa.Column("cursor_line", sa.Integer(), nullable=False, server_default="-1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "state IN ('uploading', 'queued', 'running', 'completed', 'cancelled')",
            name="feed_import_state_known",
        ),
    )
    op.create_index(
        "feed_imports_pending",
        "feed_imports",
        ["created_at"],
        postgresql_where=sa.text("state IN ('queued', 'running')"),
    )
    op.create_table(
        "feed_import_parts",
        sa.Column("import_id", UUID(as_uuid=True), sa.ForeignKey("feed_imports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("part", sa.Integer(), primary_key=True),
        sa.Column("lines", sa.Integer(), nullable=False),
    )
    op.create_table(
        "feed_import_lines",
        sa.Column("import_id", UUID(as_uuid=True), sa.ForeignKey("feed_imports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("part", sa.Integer(), primary_key=True),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "feed_import_errors",
        sa.Column("import_id", UUID(as_uuid=True), sa.ForeignKey("feed_imports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("part", sa.Integer(), primary_key=True),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("resource_type", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_import_errors")
    op.drop_table("feed_import_lines")
    op.drop_table("feed_import_parts")
    op.drop_index("feed_imports_pending", table_name="feed_imports")
    op.drop_table("feed_imports")
