"""Retries of one scan that arrive together answer alike.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

``checkin_scan`` looked up the client id before taking the person's lock, so two copies of a
retried scan arriving at the same moment could both miss it: the second then failed on the
``client_ids`` key (a 500) instead of answering with the first one's visit. The lock is now
taken first whenever the scan carries a client id (or is live). The function body is 0002's,
with that one change (compare ``sql/versions/checkin_scan.0002.sql`` and ``.0005.sql``).
"""

from alembic import op

from lindung_checkin import sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sql.version("checkin_scan", "0005"))


def downgrade() -> None:
    op.execute(sql.version("checkin_scan", "0002"))
