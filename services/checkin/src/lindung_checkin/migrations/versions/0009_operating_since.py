"""Offline visits from before the venue existed are refused; every visit ends by one rule.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

The registry announces when a venue started receiving visitors (``operating_since`` in its
snapshots: the registration time, or earlier for a venue moved from an earlier system);
``checkin_scan`` refuses an offline visit scanned before it (``before_venue_existed``).
Venues announced before the field existed keep NULL: no check for them until their next
snapshot.

How a visit ends (at its automatic check-out when that came first, else at the given time,
never before the check-in) was written five times (scan, check-out, an uploaded check-out, the
sweeper, the venue closing); it is now ``checkin_visit_end`` (``sql/checkin_visit_end.sql``),
which the others call. A visit of a closing venue whose automatic check-out had already passed
now keeps that method (``max_stay``/``closing``) instead of ``venue_closed`` (same time).

Texts: ``sql/checkin_scan.sql``, ``sql/checkin_checkout.sql`` (before:
``sql/versions/checkin_scan.0008.sql``, ``sql/versions/checkin_checkout.0002.sql``).
"""

from alembic import op

from lindung_checkin import sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE venues ADD COLUMN operating_since timestamptz NULL")
    op.execute(sql.current("checkin_visit_end", "41ecb686571809c9"))
    op.execute(sql.current("checkin_scan", "2d00466b300519fb"))
    op.execute(sql.current("checkin_checkout", "8e3e058de2187a7a"))


def downgrade() -> None:
    op.execute(sql.version("checkin_checkout", "0002"))
    op.execute(sql.version("checkin_scan", "0008"))
    op.execute(
        "DROP FUNCTION checkin_visit_end(timestamptz, timestamptz, text, timestamptz, text)"
    )
    op.execute("ALTER TABLE venues DROP COLUMN operating_since")
