"""venues.operating_since: offline visits scanned before it are refused by check-in

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Existing venues started receiving visitors when they were registered.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE venues ADD COLUMN operating_since timestamptz")
    op.execute("UPDATE venues SET operating_since = created_at")
    op.execute("ALTER TABLE venues ALTER COLUMN operating_since SET NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE venues DROP COLUMN operating_since")
